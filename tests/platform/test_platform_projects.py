"""Projects through the live API: templates, edit, commit, log, diff, roll back, bad inputs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from deploy_helpers import add_cluster
from platform_server import LiveServer


def new_project(live: LiveServer, template: str | None = "hello-stream") -> str:
    name = f"p-{uuid.uuid4().hex[:8]}"
    with live.client("editor") as editor:
        made = editor.post("/api/projects", json={"name": name, "template": template})
        assert made.status_code == 201, made.text
    return name


def state(live: LiveServer, name: str) -> dict[str, Any]:
    """What a bad request must leave unchanged: files, their contents, history."""
    with live.client("viewer") as viewer:
        files = viewer.get(f"/api/projects/{name}/files").json()["files"]
        return {
            "files": {
                f["path"]: viewer.get(f"/api/projects/{name}/files/{f['path']}").json()["content"]
                for f in files
            },
            "commits": [c["id"] for c in viewer.get(f"/api/projects/{name}/commits").json()],
        }


def test_template_edit_commit_log_diff_roll_back(live: LiveServer) -> None:
    name = new_project(live, "windowed-features")
    with live.client("editor") as editor:
        project = editor.get(f"/api/projects/{name}").json()
        assert project["template"] == "windowed-features" and project["created_by"] == "editor-user"
        files = [f["path"] for f in editor.get(f"/api/projects/{name}/files").json()["files"]]
        assert {"app.py", "headwater.yaml"} <= set(files)
        manifest = editor.get(f"/api/projects/{name}/manifest").json()
        assert manifest["apps"][0]["inputs"] == ["purchases"]
        first = editor.get(f"/api/projects/{name}/commits").json()
        assert len(first) == 1 and first[0]["id"] == project["head"]

        original = editor.get(f"/api/projects/{name}/files/app.py").json()["content"]
        edited = original.replace("agg.count()", "agg.count(),  # edited")
        assert (
            editor.put(f"/api/projects/{name}/files/app.py", json={"content": edited}).status_code
            == 200
        )
        editor.put(f"/api/projects/{name}/files/lib/util.py", json={"content": "X = 1\n"})
        changes = editor.get(f"/api/projects/{name}/changes").json()
        assert changes == [
            {"path": "app.py", "status": "modified"},
            {"path": "lib/util.py", "status": "added"},
        ]
        pending = editor.get(
            f"/api/projects/{name}/diff", params={"base": "HEAD", "target": "workspace"}
        ).json()
        assert [f["path"] for f in pending["files"]] == ["app.py", "lib/util.py"]

        made = editor.post(f"/api/projects/{name}/commits", json={"message": "Mark the count"})
        assert made.status_code == 201
        second = made.json()
        assert second["author"].startswith("editor-user <") and second["parents"] == [
            first[0]["id"]
        ]
        assert editor.get(f"/api/projects/{name}/changes").json() == []
        again = editor.post(f"/api/projects/{name}/commits", json={"message": "nothing"})
        assert again.status_code == 409 and "nothing to commit" in again.json()["detail"]

        log = editor.get(f"/api/projects/{name}/commits").json()
        assert [c["message"] for c in log] == ["Mark the count", log[1]["message"]]
        diff = editor.get(
            f"/api/projects/{name}/diff",
            params={"base": first[0]["id"][:10], "target": second["id"]},
        ).json()
        by_path = {f["path"]: f for f in diff["files"]}
        assert by_path["lib/util.py"]["status"] == "added"
        changed = {line[:1] + line[1:].strip() for line in by_path["app.py"]["patch"].splitlines()}
        assert "+purchases=agg.count(),  # edited," in changed
        assert "-purchases=agg.count()," in changed

        rolled = editor.post(f"/api/projects/{name}/rollback", json={"commit": first[0]["id"]})
        assert rolled.status_code == 201
        assert rolled.json()["parents"] == [second["id"]]
        assert len(editor.get(f"/api/projects/{name}/commits").json()) == 3
        assert editor.get(f"/api/projects/{name}/files/app.py").json()["content"] == original
        paths = [f["path"] for f in editor.get(f"/api/projects/{name}/files").json()["files"]]
        assert "lib/util.py" not in paths
        at_second = editor.get(
            f"/api/projects/{name}/files/app.py", params={"ref": second["id"]}
        ).json()
        assert at_second["content"] == edited and at_second["ref"] == second["id"]


def test_files_rename_delete_and_discard(live: LiveServer) -> None:
    name = new_project(live)
    with live.client("editor") as editor:
        base = f"/api/projects/{name}"
        assert (
            editor.post(
                f"{base}/renames", json={"source": "README.md", "target": "docs/README.md"}
            ).status_code
            == 200
        )
        assert editor.delete(f"{base}/files/app.py").status_code == 200
        assert editor.get(f"{base}/files/app.py").status_code == 404
        statuses = {c["path"]: c["status"] for c in editor.get(f"{base}/changes").json()}
        assert statuses == {"README.md": "deleted", "docs/README.md": "added", "app.py": "deleted"}
        assert editor.post(f"{base}/changes/discard").status_code == 200
        assert editor.get(f"{base}/changes").json() == []
        assert editor.get(f"{base}/files/app.py").status_code == 200


def test_templates_are_listed_and_unknown_ones_refused(live: LiveServer) -> None:
    with live.client("editor") as editor:
        ids = [t["id"] for t in editor.get("/api/templates").json()]
        assert ids == ["hello-stream", "windowed-features", "ml-scoring", "demo"]
        name = f"p-{uuid.uuid4().hex[:8]}"
        bad = editor.post("/api/projects", json={"name": name, "template": "nope"})
        assert bad.status_code == 422 and "hello-stream" in bad.json()["detail"]
        assert editor.get(f"/api/projects/{name}").status_code == 404
        bad_name = editor.post("/api/projects", json={"name": "Bad Name!"})
        assert bad_name.status_code == 422 and "lowercase" in bad_name.json()["detail"]
        taken = new_project(live)
        assert editor.post("/api/projects", json={"name": taken}).status_code == 409


def test_a_project_from_a_template_reads_and_writes_the_topics_picked_for_it(
    live: LiveServer, bootstrap: str, make_topic: Callable[..., str]
) -> None:
    cluster = add_cluster(live, bootstrap)
    purchases = make_topic("purchases", partitions=2)
    features = f"features-{uuid.uuid4().hex[:8]}"
    names = [f"p-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with live.client("editor") as editor:
        slots = {t["id"]: t["topics"] for t in editor.get("/api/templates").json()}
        assert [(s["name"], s["role"]) for s in slots["windowed-features"]] == [
            ("purchases", "input"),
            ("features", "output"),
        ]
        made = editor.post(
            "/api/projects",
            json={
                "name": names[0],
                "template": "windowed-features",
                "cluster": cluster,
                "topics": {
                    "purchases": {"name": purchases},
                    "features": {"name": features, "partitions": 4},
                },
            },
        )
        assert made.status_code == 201, made.text
        # The new topic exists with its partitions; the picked names reach code and manifest.
        created = editor.get(f"/api/topics/{features}", params={"cluster": cluster})
        assert created.status_code == 200 and created.json()["partitions"] == 4
        manifest = editor.get(f"/api/projects/{names[0]}/manifest").json()["apps"][0]
        assert (manifest["name"], manifest["inputs"], manifest["outputs"]) == (
            names[0],
            [purchases],
            [features],
        )
        code = editor.get(f"/api/projects/{names[0]}/files/app.py").json()["content"]
        assert f'app.topic("{purchases}"' in code and f'app.topic("{features}"' in code
        assert "{{" not in code

        # A second project from the same template: its own app name, group and dead letters.
        second = editor.post(
            "/api/projects",
            json={"name": names[1], "template": "windowed-features", "topics": {}},
        )
        assert second.status_code == 201, second.text
        other = editor.get(f"/api/projects/{names[1]}/files/app.py").json()["content"]
        assert f'App("{names[0]}")' in code and f'App("{names[1]}")' in other
        assert editor.get(f"/api/projects/{names[1]}/manifest").json()["apps"][0]["outputs"] == [
            f"{names[1]}-features"
        ]


@pytest.mark.parametrize(
    ("topics", "field", "words"),
    [
        ({"nope": {"name": "x"}}, "topics.nope", "has no topic 'nope'"),
        ({"purchases": {"name": "bad name"}}, "topics.purchases.name", "letters, digits"),
        ({"purchases": {"name": "a"}, "features": {"name": "a"}}, "topics.features", "both"),
        ({"features": {"name": "f", "partitions": 0}}, "topics.features.partitions", ""),
    ],
)
def test_bad_topic_choices_are_refused_by_field_and_create_nothing(
    live: LiveServer, topics: dict[str, Any], field: str, words: str
) -> None:
    name = f"p-{uuid.uuid4().hex[:8]}"
    with live.client("editor") as editor:
        body = {"name": name, "template": "windowed-features", "topics": topics}
        refused = editor.post("/api/projects", json=body)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field]
        assert words in refused.text
        assert editor.get(f"/api/projects/{name}").status_code == 404


def test_a_new_topic_that_exists_already_is_refused_before_anything_is_made(
    live: LiveServer, bootstrap: str, make_topic: Callable[..., str]
) -> None:
    cluster = add_cluster(live, bootstrap)
    taken = make_topic("taken")
    fresh = f"fresh-{uuid.uuid4().hex[:8]}"
    name = f"p-{uuid.uuid4().hex[:8]}"
    with live.client("editor") as editor:
        body = {
            "name": name,
            "template": "hello-stream",
            "cluster": cluster,
            "topics": {
                "events": {"name": fresh, "partitions": 1},
                "greetings": {"name": taken, "partitions": 2},
            },
        }
        refused = editor.post("/api/projects", json=body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["errors"][0]["field"] == "topics.greetings"
        assert "pick it from the list" in refused.json()["detail"]
        assert editor.get(f"/api/projects/{name}").status_code == 404
        assert editor.get(f"/api/topics/{fresh}", params={"cluster": cluster}).status_code == 404


BAD_WRITES = [
    pytest.param("files/a%2F..%2F..%2Fescape.py", {"content": "x"}, 422, "'..'", id="traversal"),
    pytest.param("files/.git%2Fconfig", {"content": "x"}, 422, ".git", id="dot-git"),
    pytest.param("files/%2Fetc%2Fpasswd", {"content": "x"}, 422, "absolute", id="absolute"),
    pytest.param("files/big.txt", {"content": "x" * 10_001}, 413, "limited to", id="oversized"),
    pytest.param(
        "files/headwater.yaml",
        {
            "content": "apps:\n  - name: a\n    entrypoint: app.py\n"
            "    inputs: [x]\n    replicas: -2\n"
        },
        422,
        "apps[0].replicas",
        id="manifest",
    ),
    pytest.param(
        "files/headwater.yaml", {"content": "apps: ["}, 422, "not valid YAML", id="manifest-yaml"
    ),
    pytest.param(
        "files/b.bin", {"content": "%%%", "encoding": "base64"}, 422, "base64", id="base64"
    ),
    pytest.param("files/a.py", {"text": "x"}, 422, "content", id="missing-field"),
    pytest.param("commits", {"message": ""}, 422, "message", id="empty-message"),
    pytest.param("rollback", {"commit": "zzzz"}, 422, "not a commit id", id="bad-ref"),
    pytest.param("rollback", {"commit": "abcdef12"}, 404, "no commit", id="unknown-commit"),
]


@pytest.mark.parametrize(("route", "body", "status", "message"), BAD_WRITES)
def test_bad_inputs_get_a_clear_4xx_and_change_nothing(
    live: LiveServer, route: str, body: dict[str, Any], status: int, message: str
) -> None:
    name = new_project(live)
    before = state(live, name)
    with live.client("editor") as editor:
        method = "PUT" if route.startswith("files/") else "POST"
        response = editor.request(method, f"/api/projects/{name}/{route}", json=body)
        assert response.status_code == status, response.text
        assert message in response.json()["detail"]
    assert state(live, name) == before


def test_malformed_json_and_negative_numbers_are_refused(live: LiveServer) -> None:
    name = new_project(live)
    before = state(live, name)
    with live.client("editor") as editor:
        malformed = editor.put(
            f"/api/projects/{name}/files/app.py",
            content=b'{"content": ',
            headers={"Content-Type": "application/json"},
        )
        assert malformed.status_code == 400 and "not valid JSON" in malformed.json()["detail"]
        negative = editor.get(f"/api/projects/{name}/commits", params={"limit": -1})
        assert negative.status_code == 422 and "limit" in negative.json()["detail"]
    assert state(live, name) == before


def test_an_oversized_body_is_refused_before_it_is_read(live: LiveServer) -> None:
    name = new_project(live)
    before = state(live, name)
    with live.client("editor") as editor:
        huge = b'{"content": "' + b"x" * 200_000 + b'"}'
        response = editor.put(
            f"/api/projects/{name}/files/big.py",
            content=huge,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 413 and "request body is over" in response.json()["detail"]
    assert state(live, name) == before


def test_a_manifest_naming_a_missing_entrypoint_is_refused_by_field(live: LiveServer) -> None:
    name = new_project(live)
    with live.client("editor") as editor:
        response = editor.put(
            f"/api/projects/{name}/files/headwater.yaml",
            json={"content": "apps:\n  - name: a\n    entrypoint: missing.py\n    inputs: [x]\n"},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "apps[0].entrypoint"
        assert "create it or fix the path" in response.json()["detail"]
        # Nothing was written: the working tree's and the committed manifest are the template's.
        workspace = editor.get(f"/api/projects/{name}/manifest")
        assert workspace.status_code == 200 and workspace.json()["apps"][0]["name"] == name
        head = editor.get(f"/api/projects/{name}/manifest", params={"ref": "HEAD"})
        assert head.status_code == 200 and head.json()["apps"][0]["name"] == name


def test_admin_deletes_a_project(live: LiveServer) -> None:
    name = new_project(live)
    with live.client("admin") as admin:
        assert admin.delete(f"/api/projects/{name}").status_code == 200
        assert admin.get(f"/api/projects/{name}").status_code == 404
        assert not (live.context.settings.projects_dir / name).exists()
