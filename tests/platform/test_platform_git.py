"""git clone and git push over HTTP with the real git CLI, against the live server."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

from platform_server import LiveServer


def git(
    *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",  # fail instead of asking for a password
        "GIT_ASKPASS": "",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Engineer",
        "GIT_AUTHOR_EMAIL": "engineer@example.com",
        "GIT_COMMITTER_NAME": "Engineer",
        "GIT_COMMITTER_EMAIL": "engineer@example.com",
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def remote(live: LiveServer, name: str, token: str | None) -> str:
    host = live.url.removeprefix("http://")
    credentials = f"git:{token}@" if token else ""
    return f"http://{credentials}{host}/git/{name}.git"


def test_clone_and_push_with_a_token_show_in_the_api(live: LiveServer, tmp_path: Path) -> None:
    name = f"g-{uuid.uuid4().hex[:8]}"
    with live.client("editor") as editor:
        assert editor.post(
            "/api/projects", json={"name": name, "template": "ml-scoring"}
        ).is_success
        head = editor.get(f"/api/projects/{name}").json()["head"]

    checkout = tmp_path / "checkout"
    git("clone", remote(live, name, live.tokens["editor"]), str(checkout))
    assert (checkout / "headwater.yaml").is_file() and (checkout / "model.json").is_file()
    assert git("rev-parse", "HEAD", cwd=checkout).stdout.strip() == head

    (checkout / "model.json").write_text('{"intercept": 0, "weights": {}, "threshold": 0.5}\n')
    (checkout / "features.py").write_text("FEATURES = ['amount']\n")
    git("add", "-A", cwd=checkout)
    git("commit", "-m", "Retrain the model", cwd=checkout)
    pushed = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    git("push", "origin", "main", cwd=checkout)

    with live.client("viewer") as viewer:
        log = viewer.get(f"/api/projects/{name}/commits").json()
        assert [c["id"] for c in log[:2]] == [pushed, head]
        assert log[0]["author"] == "Engineer <engineer@example.com>"
        # The (clean) working tree follows the push at once.
        model = viewer.get(f"/api/projects/{name}/files/model.json").json()["content"]
        assert '"intercept": 0' in model
        assert viewer.get(f"/api/projects/{name}/files/features.py").status_code == 200

    # A commit made in the API is fetched by git.
    with live.client("editor") as editor:
        editor.put(f"/api/projects/{name}/files/features.py", json={"content": "FEATURES = []\n"})
        made = editor.post(f"/api/projects/{name}/commits", json={"message": "From the browser"})
        assert made.status_code == 201
    git("pull", "--ff-only", "origin", "main", cwd=checkout)
    assert (checkout / "features.py").read_text() == "FEATURES = []\n"


def test_push_without_a_valid_token_or_role_is_refused(live: LiveServer, tmp_path: Path) -> None:
    name = f"g-{uuid.uuid4().hex[:8]}"
    with live.client("editor") as editor:
        assert editor.post(
            "/api/projects", json={"name": name, "template": "hello-stream"}
        ).is_success
        head = editor.get(f"/api/projects/{name}").json()["head"]

    anonymous = git("clone", remote(live, name, None), str(tmp_path / "anon"), check=False)
    assert anonymous.returncode != 0

    checkout = tmp_path / "checkout"
    git("clone", remote(live, name, live.tokens["viewer"]), str(checkout))  # viewers may read
    (checkout / "app.py").write_text("raise SystemExit('not allowed')\n")
    git("commit", "-am", "Sneaky", cwd=checkout)

    no_token = git("push", remote(live, name, None), "main", cwd=checkout, check=False)
    assert no_token.returncode != 0
    wrong = git("push", remote(live, name, "hwt_wrong"), "main", cwd=checkout, check=False)
    assert wrong.returncode != 0
    viewer = git("push", "origin", "main", cwd=checkout, check=False)
    assert viewer.returncode != 0 and "403" in viewer.stderr

    with live.client("viewer") as client:
        assert client.get(f"/api/projects/{name}").json()["head"] == head
        assert "not allowed" not in client.get(f"/api/projects/{name}/files/app.py").text

    unknown = git(
        "clone",
        remote(live, "no-such-project", live.tokens["admin"]),
        str(tmp_path / "unknown"),
        check=False,
    )
    assert unknown.returncode != 0
