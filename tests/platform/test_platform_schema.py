"""The migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from platform_server import LiveServer

from headwater.platform.db.models import Base
from headwater.platform.migrations import alembic_config, upgrade


def test_migrated_schema_matches_the_models(live: LiveServer) -> None:
    engine = live.context.db.engine
    upgrade(engine)  # a second run at start-up is a no-op
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
        assert head is not None and context.get_current_revision() == head
        assert compare_metadata(context, Base.metadata) == []


def test_health_and_openapi_are_public(live: LiveServer) -> None:
    with live.client() as client:
        health = client.get("/healthz").json()
        assert health == {"status": "ok", "database": live.backend}
        spec = client.get("/openapi.json").json()
        assert spec["info"]["title"] == "Headwater platform"
        for operations in spec["paths"].values():
            for operation in operations.values():
                assert "200" in operation["responses"] or "201" in operation["responses"]
        assert client.get("/docs").status_code == 200


METHODS = {"get", "put", "post", "delete", "patch"}


def test_every_path_answers_options_and_wrong_methods_with_all_its_methods(
    live: LiveServer,
) -> None:
    # Found by schemathesis: OPTIONS was a 405, and a 405 listed one route's methods only.
    with live.client() as client:
        spec = client.get("/openapi.json").json()
        for template, operations in spec["paths"].items():
            documented = {m.upper() for m in operations if m in METHODS}
            path = re.sub(r"\{[^}]*_id\}", "1", template)
            path = re.sub(r"\{[^}]*\}", "x", path)
            expected = documented | {"OPTIONS"}
            options = client.options(path)
            assert options.status_code == 204, (path, options.text)
            assert set(options.headers["allow"].split(", ")) == expected, path
            # Any method the path lacks, with or without a token: 405 and the same list.
            lacking = sorted({m.upper() for m in METHODS} - documented)[0]
            refused = client.request(lacking, path)
            assert refused.status_code == 405, (lacking, path, refused.text)
            assert set(refused.headers["allow"].split(", ")) == expected, path
            assert "not allowed" in refused.json()["detail"]
        # Paths of the app itself are its own: OPTIONS there is none of the API's business.
        assert "OPTIONS" not in client.options("/projects/x").headers.get("allow", "")


def test_every_status_a_cluster_that_does_not_answer_causes_is_documented(
    live: LiveServer,
) -> None:
    # Each route that takes a cluster, called against one that refuses connections: what it
    # answers (502 for those that need the cluster) is in its documented responses.
    cluster = f"dead-{uuid.uuid4().hex[:6]}"
    project = f"dead-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        made = admin.post(
            "/api/clusters", json={"name": cluster, "bootstrap_servers": "127.0.0.1:1"}
        )
        assert made.status_code == 201, made.text
        made = admin.post("/api/projects", json={"name": project, "template": "hello-stream"})
        assert made.status_code == 201, made.text
        spec = admin.get("/openapi.json").json()
    calls = []
    for template, operations in spec["paths"].items():
        for method, operation in operations.items():
            query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            if "cluster" not in query:
                continue
            name = project if template.startswith("/api/projects/") else "orders"
            body = {"records": 1, "timeout": 30} if template.endswith("/preview") else None
            if method == "post" and template == "/api/topics":
                body = {"name": "orders"}
            calls.append((method, template, template.replace("{name}", name), body, operation))

    def call(method: str, path: str, body: object) -> int:
        with live.client("admin") as client:
            params = {"cluster": cluster, "confirm": "orders"} if method == "delete" else {}
            # Every call waits out the cluster's timeout, and they queue for the server's
            # worker threads: on a busy machine that is longer than the client's usual 30 s.
            response = client.request(
                method, path, params=params or {"cluster": cluster}, json=body, timeout=180
            )
            return response.status_code

    with ThreadPoolExecutor(len(calls)) as pool:  # each waits for the cluster's timeout
        answers = list(pool.map(lambda c: call(c[0], c[2], c[3]), calls))
    undocumented = [
        f"{method.upper()} {template}: {status}"
        for (method, template, _, _, operation), status in zip(calls, answers, strict=True)
        if str(status) not in operation["responses"]
    ]
    assert not undocumented, undocumented
    unavailable = {
        f"{method.upper()} {template}"
        for (method, template, *_), status in zip(calls, answers, strict=True)
        if status == 502
    }
    assert {
        "GET /api/topics",
        "GET /api/topics/{name}",
        "POST /api/topics",
        "DELETE /api/topics/{name}",
        "GET /api/topics/{name}/tail",
        "GET /api/topics/{name}/export",
        "POST /api/projects/{name}/preview",
    } <= unavailable, unavailable
    with live.client("admin") as admin:
        assert admin.delete(f"/api/projects/{project}").status_code == 200
        assert admin.delete(f"/api/clusters/{cluster}").status_code == 200
