"""Canvas edits through the live API: preview a diff, commit exactly it, the graph draws the
project's apps, deployments follow; editors edit, viewers read."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from deploy_helpers import add_cluster, replicas, waiting
from kafka_helpers import wait_until
from platform_server import LiveServer

from headwater import Topic
from headwater.kafka.admin import TopicAdmin

CELL = "def transform(df):\n    df['seen'] = True\n    return df\n"


def new_project(live: LiveServer) -> str:
    name = f"c-{uuid.uuid4().hex[:8]}"
    with live.client("editor") as editor:
        made = editor.post("/api/projects", json={"name": name})
        assert made.status_code == 201, made.text
    return name


def add_step(name: str, inputs: list[str], outputs: list[str]) -> dict[str, Any]:
    return {"kind": "add_step", "name": name, "inputs": inputs, "outputs": outputs, "cell": CELL}


def apply(client: httpx.Client, project: str, body: dict[str, Any]) -> dict[str, Any]:
    """Preview, then commit what the preview showed."""
    preview = client.post(f"/api/projects/{project}/canvas/preview", json=body)
    assert preview.status_code == 200, preview.text
    base = preview.json()["base"]
    done = client.post(f"/api/projects/{project}/canvas/commit", json={**body, "base": base})
    assert done.status_code == 201, done.text
    result: dict[str, Any] = done.json()
    assert result["files"] == preview.json()["files"], "the commit is the change previewed"
    return result


def test_preview_shows_the_diff_and_commit_applies_exactly_it(live: LiveServer) -> None:
    project = new_project(live)
    body = {"edit": add_step("enrich", ["payments"], ["tx"])}
    with live.client("editor") as editor:
        head = editor.get(f"/api/projects/{project}").json()["head"]
        preview = editor.post(f"/api/projects/{project}/canvas/preview", json=body).json()
        assert preview["base"] == head
        assert preview["message"] == "Canvas: add step enrich reading payments"
        files = {f["path"]: f for f in preview["files"]}
        assert set(files) == {"enrich.py", "headwater.yaml"}
        assert files["headwater.yaml"]["status"] == "added"
        assert "+  - name: enrich" in files["headwater.yaml"]["patch"]
        assert editor.get(f"/api/projects/{project}").json()["head"] == head, "nothing changed"

        done = editor.post(
            f"/api/projects/{project}/canvas/commit", json={**body, "base": head}
        ).json()
        commits = editor.get(f"/api/projects/{project}/commits").json()
        assert commits[0]["id"] == done["commit"]["id"] and commits[0]["parents"] == [head]
        assert commits[0]["author"].startswith("editor-user")
        manifest = editor.get(f"/api/projects/{project}/manifest", params={"ref": "HEAD"})
        assert manifest.json()["apps"][0]["inputs"] == ["payments"]
        # The working tree followed main: the editor shows the new files.
        assert editor.get(f"/api/projects/{project}/files/enrich.py").status_code == 200

        # The preview's base is stale now: its commit is refused, nothing is written.
        stale = editor.post(
            f"/api/projects/{project}/canvas/commit",
            json={"edit": add_step("more", ["tx"], []), "base": head},
        )
        assert stale.status_code == 409 and "moved" in stale.json()["detail"]
        assert len(editor.get(f"/api/projects/{project}/commits").json()) == 2

        apply(
            editor,
            project,
            {
                "edit": {
                    "kind": "connect",
                    "app": "enrich",
                    "direction": "outputs",
                    "topic": "audit",
                }
            },
        )
        resources = apply(
            editor,
            project,
            {"edit": {"kind": "resources", "app": "enrich", "replicas": 2, "memory": "300Mi"}},
        )
        assert resources["message"] == "Canvas: enrich runs with replicas 2, memory 300Mi"
        app = editor.get(f"/api/projects/{project}/manifest", params={"ref": "HEAD"}).json()
        assert app["apps"][0]["outputs"] == ["tx", "audit"]
        assert (app["apps"][0]["replicas"], app["apps"][0]["memory"]) == (2, "300Mi")


def test_bad_edits_name_the_field(live: LiveServer) -> None:
    project = new_project(live)
    with live.client("editor") as editor:
        url = f"/api/projects/{project}/canvas/preview"
        cases = [
            ({"kind": "add_step", "name": "Bad Name", "inputs": ["a"]}, "name"),
            ({"kind": "add_step", "name": "x", "inputs": ["bad topic"]}, "inputs"),
            ({"kind": "add_step", "name": "x", "inputs": ["a"], "cell": "def (:"}, "edit.cell"),
            ({"kind": "resources", "app": "x", "memory": "3 GB"}, "memory"),
            ({"kind": "shuffle", "app": "x"}, "edit"),
        ]
        for edit, field in cases:
            response = editor.post(url, json={"edit": edit})
            assert response.status_code == 422, (edit, response.text)
            fields = [e["field"] for e in response.json()["errors"]]
            assert any(field in f for f in fields), (edit, fields)
        missing = editor.post(url, json={"edit": {"kind": "remove_step", "app": "ghost"}})
        assert missing.status_code == 404 and "add a step first" in missing.json()["detail"]


def test_viewers_read_the_canvas_and_cannot_edit_it(live: LiveServer, bootstrap: str) -> None:
    cluster = add_cluster(live, bootstrap)
    project = new_project(live)
    with live.client("editor") as editor:
        apply(editor, project, {"edit": add_step("enrich", ["payments"], ["tx"])})
    with live.client("viewer") as viewer:
        head = viewer.get(f"/api/projects/{project}").json()["head"]
        body = {"edit": add_step("more", ["tx"], [])}
        for action, extra in (("preview", {}), ("commit", {"base": head})):
            refused = viewer.post(
                f"/api/projects/{project}/canvas/{action}", json={**body, **extra}
            )
            assert refused.status_code == 403, refused.text
            assert "editor role" in refused.json()["detail"]
        graph = viewer.get("/api/graph", params={"cluster": cluster, "project": project})
        assert graph.status_code == 200, graph.text
        node = next(n for n in graph.json()["nodes"] if n["id"] == f"app:{project}/enrich")
        assert (node["kind"], node["status"], node["app"]) == ("app", "not_deployed", "enrich")
        edges = {(e["source"], e["target"], e["topic"]) for e in graph.json()["edges"]}
        assert ("producer:payments", f"app:{project}/enrich", "payments") in edges
        assert (f"app:{project}/enrich", "sink:tx", "tx") in edges
        without = viewer.get("/api/graph", params={"cluster": cluster}).json()
        assert not any(n["id"].startswith("app:") for n in without["nodes"])


def test_deployments_follow_canvas_commits(
    live: LiveServer, admin: TopicAdmin, bootstrap: str
) -> None:
    cluster = add_cluster(live, bootstrap)
    project = new_project(live)
    token = uuid.uuid4().hex[:6]
    payments, tx = f"payments-{token}", f"tx-{token}"
    admin.create([Topic(payments)])
    with live.client("editor") as editor:
        body = {
            "edit": add_step("enrich", [payments], [tx]),
            # payments exists already (made since the form listed topics): it is used as it is.
            "new_topics": [{"name": tx, "partitions": 1}, {"name": payments}],
            "cluster": cluster,
        }
        apply(editor, project, body)
        assert tx in admin.list_topics(), "the new topic was created with the commit"
        made = editor.post(
            f"/api/projects/{project}/deployments", json={"app": "enrich", "cluster": cluster}
        )
        assert made.status_code == 201, made.text
        ident = made.json()["id"]
        graph = editor.get("/api/graph", params={"cluster": cluster, "project": project}).json()
        ids = {n["id"] for n in graph["nodes"]}
        assert f"deployment:{ident}" in ids and f"app:{project}/enrich" not in ids

        changed = apply(
            editor,
            project,
            {"edit": {"kind": "resources", "app": "enrich", "replicas": 2, "memory": "300Mi"}},
        )
        assert changed["deployments"] == [
            {"deployment": ident, "cluster": cluster, "action": "redeploy"}
        ]
        deployment = editor.get(f"/api/deployments/{ident}").json()
        assert deployment["commit"] == changed["commit"]["id"]
        assert (deployment["replicas"], deployment["memory"]) == (2, "300Mi")
        waiting(
            live,
            ident,
            lambda: len([r for r in replicas(live, ident) if r["status"] == "running"]) == 2,
            timeout=60,
        )

        removed = apply(editor, project, {"edit": {"kind": "remove_step", "app": "enrich"}})
        assert removed["deployments"][0]["action"] == "delete"
        assert editor.get(f"/api/deployments/{ident}").status_code == 404
        assert editor.get(f"/api/projects/{project}/manifest").status_code == 404
        assert wait_until(lambda: not live.context.supervisor.replicas(ident), timeout=30)
        # The code is out of the tree and kept in the history.
        first = editor.get(f"/api/projects/{project}/commits").json()[-2]["id"]
        kept = editor.get(f"/api/projects/{project}/files/enrich.py", params={"ref": first})
        assert kept.status_code == 200 and "def transform" in kept.json()["content"]
        assert editor.get(f"/api/projects/{project}/files/enrich.py").status_code == 404


def test_the_layout_is_kept_per_project_and_only_editors_change_it(live: LiveServer) -> None:
    project, other = new_project(live), new_project(live)
    url = f"/api/projects/{project}/canvas/layout"
    positions = {"app:p/enrich": {"x": 10.5, "y": -4.0}, "producer:payments": {"x": 0, "y": 0}}
    with live.client("editor") as editor:
        assert editor.get(url).json() == {"positions": {}}
        saved = editor.put(url, json={"positions": positions})
        assert saved.status_code == 200, saved.text
        moved = {"app:p/enrich": {"x": 99.0, "y": 1.0}}
        assert editor.put(url, json={"positions": moved}).status_code == 200
        bad = editor.put(url, json={"positions": {"n": {"x": 1e9, "y": 0}}})
        assert bad.status_code == 422 and "positions.n.x" in bad.json()["errors"][0]["field"]
        assert editor.get(f"/api/projects/{other}/canvas/layout").json() == {"positions": {}}
    with live.client("viewer") as viewer:
        assert viewer.get(url).json() == {"positions": moved}, "replaced, not merged"
        refused = viewer.put(url, json={"positions": positions})
        assert refused.status_code == 403
    with live.client("admin") as admin:
        assert admin.delete(f"/api/projects/{project}").status_code == 200
        assert admin.post("/api/projects", json={"name": project}).status_code == 201
        assert admin.get(url).json() == {"positions": {}}, "a deleted project's layout goes"
