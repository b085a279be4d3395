"""User code against the platform: a preview and a deployment try to read the key file, the
database, the server's environment and processes, to mint an API token, to use another
project's secret and to outlive their deployment. Each attempt is refused or contained."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest
from kafka_helpers import wait_until
from platform_server import LiveServer
from test_platform_deployment_limits import processes_with
from test_platform_preview import cluster, ensure_topic, new_project, preview, write

from headwater.platform.sandbox import SandboxMode

__all__ = ["cluster"]  # the fixture, imported for the tests below

CANARY = f"canary-{uuid.uuid4().hex}"
MINTED = f"hwt_minted-{uuid.uuid4().hex}"
PROBE = """
import hashlib, json, os, sqlite3, sys

found = {{}}


def attempt(name, action):
    try:
        found[name] = repr(action())[:300]
    except Exception as exc:
        found[name] = "refused: " + type(exc).__name__


def mint():
    connection = sqlite3.connect({database!r})
    connection.execute(
        "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at) "
        "VALUES (1, 'x', 'hwt_x', ?, '2024-01-01 00:00:00')",
        (hashlib.sha256({minted!r}.encode()).hexdigest(),),
    )
    connection.commit()
    return "minted"


attempt("key", lambda: open({key!r}, "rb").read())
attempt("database", lambda: open({database!r}, "rb").read(16))
attempt("data_dir", lambda: os.listdir({data_dir!r}))
attempt("mint", mint)
attempt("parent_environ", lambda: open(f"/proc/{{os.getppid()}}/environ", "rb").read())
attempt("parent_cmdline", lambda: open(f"/proc/{{os.getppid()}}/cmdline", "rb").read())
attempt("server_cmdline", lambda: open(f"/proc/{server_pid}/cmdline", "rb").read())
found["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
found["environ"] = dict(os.environ)
print("PROBE " + json.dumps(found), flush=True)
"""
PREVIEW_APP = """
{probe}
from headwater import App

app = App("probe")
app.dataframe(app.topic({topic!r}, value="json")).to_topic(app.topic({topic!r} + "-out"))
"""
FORKER_APP = """
{probe}
import time

if __name__ == "__main__":
    print("token is " + os.environ["TOKEN"], flush=True)
    # The classic daemon: a grandchild in a session of its own whose parent has exited.
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            sleep = "import time; time.sleep(3600)"
            os.execv(sys.executable, [sys.executable, "-c", sleep, {marker!r}])
        os._exit(0)
    time.sleep(3600)
"""


def probe_code(live: LiveServer) -> str:
    data_dir = live.context.settings.data_dir
    return PROBE.format(
        key=str(live.context.settings.secret_key_file),
        database=str(data_dir / "headwater.db"),
        data_dir=str(data_dir),
        minted=MINTED,
        server_pid=os.getpid(),
    )


def probed(logs: str) -> dict[str, Any]:
    line = next(line for line in logs.splitlines() if "PROBE {" in line)
    found: dict[str, Any] = json.loads(line.split("PROBE ", 1)[1])
    return found


def assert_contained(live: LiveServer, logs: str) -> None:
    """Nothing of the server leaked into what user code printed, and it minted no token."""
    assert live.context.sandbox.mode is SandboxMode.bubblewrap
    found = probed(logs)
    for attempt in ("key", "database", "mint", "server_cmdline"):
        assert found[attempt].startswith("refused"), (attempt, found[attempt])
    # At most the empty folders leading to its own one (bubblewrap makes them), never the
    # data directory's files.
    for name in ("secret.key", "headwater.db", "projects"):
        assert name not in found["data_dir"], found["data_dir"]
    key = live.context.settings.secret_key_file.read_bytes().strip().decode()
    for leaked in (CANARY, key, "HEADWATER_ADMIN_PASSWORD"):
        assert leaked not in logs
    # Its own processes only: the sandbox's init and itself (and what it started).
    assert os.getpid() not in found["processes"] and len(found["processes"]) <= 5
    assert not any(name.startswith("PYTEST") or name == "VIRTUAL_ENV" for name in found["environ"])
    # On PostgreSQL, the database's address and password are the server's alone.
    database_url = live.context.settings.database_url
    if database_url is not None:
        assert database_url not in logs
        urls = {k: v for k, v in found["environ"].items() if "postgresql+" in v or "://" in v}
        assert not urls, urls
    with live.client() as anonymous:
        minted = anonymous.get("/api/auth/me", headers={"Authorization": f"Bearer {MINTED}"})
        assert minted.status_code == 401


@pytest.fixture
def server_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Variables in the server's environment that user code must never see."""
    monkeypatch.setenv("HEADWATER_TEST_CANARY", CANARY)
    monkeypatch.setenv("HEADWATER_ADMIN_PASSWORD", CANARY)


def test_a_preview_cannot_read_the_key_or_the_database_nor_mint_a_token(
    live: LiveServer, cluster: str, bootstrap: str, server_secrets: None
) -> None:
    topic = f"probe-{uuid.uuid4().hex[:6]}"
    ensure_topic(bootstrap, topic)
    project = new_project(live)
    write(
        live,
        project,
        {
            "app.py": PREVIEW_APP.format(probe=probe_code(live), topic=topic),
            "headwater.yaml": (
                f"apps:\n  - name: probe\n    entrypoint: app.py\n    inputs: [{topic}]\n"
            ),
        },
    )
    response = preview(live, project, cluster, records=1)
    assert response.status_code == 200, response.text
    assert response.json()["error"] is None, response.json()["error"]
    assert_contained(live, response.json()["logs"])


def log_text(live: LiveServer, deployment: int) -> str:
    with live.client("viewer") as viewer:
        lines = viewer.get(f"/api/deployments/{deployment}/logs", params={"tail": 500}).json()
    return "\n".join(line["text"] for line in lines)


def test_a_deployment_is_contained_uses_only_its_project_secrets_and_ends_whole(
    live: LiveServer, cluster: str, server_secrets: None
) -> None:
    marker = f"detached-{uuid.uuid4().hex}"
    token = f"s3cret-{uuid.uuid4().hex}"
    other = new_project(live)
    project = new_project(live)
    manifest = (
        "apps:\n  - name: forker\n    entrypoint: forker.py\n    inputs: []\n"
        "    outputs: [forker-out]\n    secrets: {TOKEN: api-token}\n"
    )
    write(
        live,
        project,
        {"forker.py": FORKER_APP.format(probe=probe_code(live), marker=marker)},
    )
    write(live, project, {"headwater.yaml": manifest})
    body: dict[str, Any] = {"app": "forker", "cluster": cluster}
    with live.client("editor") as editor:
        assert editor.post(f"/api/projects/{project}/commits", json={"message": "x"}).is_success
        # Another project's secret of that name is not this project's: refused, nothing stored.
        put = editor.put(f"/api/projects/{other}/secrets/api-token", json={"value": token})
        assert put.status_code == 200
        refused = editor.post(f"/api/projects/{project}/deployments", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "secrets"
        assert f"in project {project!r}" in refused.json()["detail"]
        assert editor.get(f"/api/projects/{project}/deployments").json() == []
        put = editor.put(f"/api/projects/{project}/secrets/api-token", json={"value": token})
        assert put.status_code == 200
        made = editor.post(f"/api/projects/{project}/deployments", json=body)
        assert made.status_code == 201, made.text
        deployment = made.json()["id"]
    try:
        wait_until(lambda: "PROBE {" in log_text(live, deployment), timeout=60)
        wait_until(lambda: processes_with(marker), timeout=30)
        logs = log_text(live, deployment)
        assert_contained(live, logs)
        # The app printed its secret: the log a viewer reads masks it.
        assert "token is ***" in logs and token not in logs
    finally:
        with live.client("editor") as editor:
            assert editor.delete(f"/api/deployments/{deployment}").status_code == 200
    # The detached grandchild ends with its deployment (its PID namespace goes).
    wait_until(lambda: not processes_with(marker), timeout=30)
