"""The default cluster: one rule on the server, reported by GET /api/clusters for the web app."""

from __future__ import annotations

import uuid

from platform_server import LiveServer

from headwater.platform.domain.clusters import default_cluster


def test_the_default_is_the_cluster_named_default_else_the_only_one() -> None:
    assert default_cluster(["a", "default", "z"]) == "default"
    assert default_cluster(["only"]) == "only"
    assert default_cluster(["a", "b"]) is None
    assert default_cluster([]) is None


def test_the_cluster_list_marks_the_one_a_request_without_a_cluster_uses(
    live: LiveServer,
) -> None:
    name = f"c-{uuid.uuid4().hex[:8]}"
    with live.client("admin") as admin:
        made = admin.post("/api/clusters", json={"name": name, "bootstrap_servers": "127.0.0.1:9"})
        assert made.status_code == 201, made.text
        try:
            listed = admin.get("/api/clusters").json()
            expected = default_cluster([c["name"] for c in listed])
            assert [c["name"] for c in listed if c["default"]] == ([expected] if expected else [])
            assert admin.get(f"/api/clusters/{name}").json()["default"] == (expected == name)
            if expected is None:
                # The topic routes refuse to guess, as the list said.
                assert admin.get("/api/topics").status_code == 409
        finally:
            assert admin.delete(f"/api/clusters/{name}").status_code == 200
