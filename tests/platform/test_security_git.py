"""Git pushes that could write outside a project, erase main or pass the size limits: refused,
with the reason shown by `git push`, and nothing written anywhere.

Each unsafe commit is built with dulwich (the git CLI refuses to make most of them) in a local
repository and pushed with the real git CLI over HTTP.
"""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo
from platform_server import LiveServer
from sqlalchemy import select
from test_platform_git import git, remote

from headwater.platform.db.models import GitPush
from headwater.platform.errors import Invalid
from headwater.platform.projects.repository import ProjectRepository

FILE = 0o100644


def new_project(live: LiveServer) -> str:
    name = f"sec-{uuid.uuid4().hex[:8]}"
    with live.client("editor") as editor:
        made = editor.post("/api/projects", json={"name": name, "template": "hello-stream"})
        assert made.status_code == 201, made.text
    return name


def clone(live: LiveServer, name: str, into: Path) -> Path:
    git("clone", remote(live, name, live.tokens["editor"]), str(into))
    return into


def commit_tree(repo: Repo, tree: Tree, parent: bytes | None, message: str) -> bytes:
    repo.object_store.add_object(tree)
    commit = Commit()
    commit.tree = tree.id
    commit.parents = [parent] if parent else []
    commit.author = commit.committer = b"Mallory <m@example.com>"
    commit.author_time = commit.commit_time = 1_700_000_000
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = message.encode()
    repo.object_store.add_object(commit)
    return bytes(commit.id)


def unsafe_commit(checkout: Path, name: bytes, mode: int = FILE, data: bytes = b"x = 1\n") -> None:
    """A commit on top of the checkout's main whose root tree also holds ``name``."""
    repo = Repo(str(checkout))
    try:
        head = repo.refs[b"refs/heads/main"]
        parent = repo[head]
        assert isinstance(parent, Commit)
        old = repo[parent.tree]
        assert isinstance(old, Tree)
        tree = Tree()
        for item in old.iteritems():
            tree.add(item.path, item.mode, item.sha)
        blob = Blob.from_string(data)
        repo.object_store.add_object(blob)
        tree.add(name, mode, blob.id)
        repo.refs[b"refs/heads/main"] = commit_tree(repo, tree, head, "unsafe")
    finally:
        repo.close()


@pytest.mark.parametrize(
    ("name", "mode", "reason"),
    [
        (b"..", FILE, "is not a file name"),
        (b"../../../../escaped-by-push", FILE, "is not a file name"),
        (b"./app.py", FILE, "is not a file name"),
        (b".git", FILE, "inside .git"),
        (b".GIT", FILE, "inside .git"),
        (b"back\\slash.py", FILE, "backslash"),
        ("evil\u202etxt.py".encode(), FILE, "bidirectional"),
        (b"\xff\xfe.py", FILE, "not valid UTF-8"),
        (b"link", 0o120000, "symbolic link"),
    ],
)
def test_a_push_of_an_unsafe_tree_is_refused_and_writes_nothing(
    live: LiveServer, tmp_path: Path, name: bytes, mode: int, reason: str
) -> None:
    project = new_project(live)
    checkout = clone(live, project, tmp_path / "checkout")
    with live.client("viewer") as viewer:
        head = viewer.get(f"/api/projects/{project}").json()["head"]
    unsafe_commit(checkout, name, mode, data=b"/etc/passwd" if mode == 0o120000 else b"x = 1\n")
    pushed = git("push", "origin", "main", cwd=checkout, check=False)
    assert pushed.returncode != 0
    assert "remote rejected" in pushed.stderr and reason in pushed.stderr, pushed.stderr
    data_dir = live.context.settings.data_dir
    with live.client("viewer") as viewer:
        # main did not move, and listing (which syncs the working tree) writes nothing outside.
        assert viewer.get(f"/api/projects/{project}").json()["head"] == head
        assert viewer.get(f"/api/projects/{project}/files").status_code == 200
    outside = [p for p in data_dir.parent.rglob("escaped-by-push*")]
    assert outside == []


def test_a_tree_stored_before_the_check_is_never_exported(tmp_path: Path) -> None:
    # A repository may hold such a commit from before pushes were checked: every write from a
    # tree goes through the same path check, so exporting it refuses instead of escaping.
    repository = ProjectRepository(tmp_path / "project")
    repository.create({"app.py": b"x = 1\n"}, "ann", "start")
    repo = Repo(str(repository.git_dir))
    try:
        inner = Tree()
        blob = Blob.from_string(b"owned\n")
        repo.object_store.add_object(blob)
        inner.add(b"escaped-by-export", FILE, blob.id)
        repo.object_store.add_object(inner)
        root = Tree()
        root.add(b"..", stat.S_IFDIR, inner.id)
        head = repo.refs[b"refs/heads/main"]
        repo.refs[b"refs/heads/main"] = commit_tree(repo, root, head, "escape")
        bad = repo.refs[b"refs/heads/main"].decode()
    finally:
        repo.close()
    target = tmp_path / "deep" / "export"
    with pytest.raises(Invalid, match=r"contains '\.\.'"):
        repository.export(bad, target)
    assert not (tmp_path / "deep" / "escaped-by-export").exists()
    assert list(tmp_path.rglob("escaped-by-export")) == []


def test_a_file_over_the_limit_is_refused_and_a_large_push_streams(
    live: LiveServer, tmp_path: Path
) -> None:
    limit = live.context.settings.max_file_bytes
    project = new_project(live)
    checkout = clone(live, project, tmp_path / "checkout")
    (checkout / "big.bin").write_bytes(os.urandom(limit + 1))
    git("add", "big.bin", cwd=checkout)
    git("commit", "-m", "too big", cwd=checkout)
    refused = git("push", "origin", "main", cwd=checkout, check=False)
    assert refused.returncode != 0 and f"limited to {limit} bytes" in refused.stderr
    # Many files under the limit make a push of over 1 MiB, which git sends chunked.
    git("reset", "--hard", "HEAD~1", cwd=checkout)
    for index in range(3 * (1 << 20) // limit + 1):
        (checkout / f"data-{index}.bin").write_bytes(os.urandom(limit - 100))
    git("add", "-A", cwd=checkout)
    git("commit", "-m", "many files", cwd=checkout)
    git("-c", "http.postBuffer=65536", "push", "origin", "main", cwd=checkout)
    with live.client("viewer") as viewer:
        files = viewer.get(f"/api/projects/{project}/files", params={"ref": "HEAD"}).json()
        assert sum(1 for f in files["files"] if f["path"].startswith("data-")) > 3
    copy = clone(live, project, tmp_path / "copy")
    assert (copy / "data-0.bin").read_bytes() == (checkout / "data-0.bin").read_bytes()


def test_force_push_and_deleting_main_are_refused_until_an_admin_allows_them(
    live: LiveServer, tmp_path: Path
) -> None:
    project = new_project(live)
    checkout = clone(live, project, tmp_path / "checkout")
    (checkout / "notes.md").write_text("first\n")
    git("add", "notes.md", cwd=checkout)
    git("commit", "-m", "notes", cwd=checkout)
    git("push", "origin", "main", cwd=checkout)
    kept = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    # Rewrite the history: drop the pushed commit and push something else in its place.
    git("reset", "--hard", "HEAD~1", cwd=checkout)
    (checkout / "other.md").write_text("rewritten\n")
    git("add", "other.md", cwd=checkout)
    git("commit", "-m", "rewrite", cwd=checkout)
    forced = git("push", "--force", "origin", "main", cwd=checkout, check=False)
    assert forced.returncode != 0 and "main is protected" in forced.stderr, forced.stderr
    deleted = git("push", "origin", ":main", cwd=checkout, check=False)
    assert deleted.returncode != 0 and "main is protected" in deleted.stderr, deleted.stderr
    with live.client("viewer") as viewer:
        assert viewer.get(f"/api/projects/{project}").json()["head"] == kept
        assert viewer.get(f"/api/projects/{project}").json()["protect_main"] is True
    with live.client("editor") as editor:
        refused = editor.patch(f"/api/projects/{project}", json={"protect_main": False})
        assert refused.status_code == 403
    with live.client("admin") as admin:
        allowed = admin.patch(f"/api/projects/{project}", json={"protect_main": False})
        assert allowed.status_code == 200 and allowed.json()["protect_main"] is False
    git("push", "--force", "origin", "main", cwd=checkout)
    with live.client("viewer") as viewer:
        head = viewer.get(f"/api/projects/{project}").json()["head"]
    assert head == git("rev-parse", "HEAD", cwd=checkout).stdout.strip() != kept
    with live.client("admin") as admin:
        assert admin.patch(f"/api/projects/{project}", json={"protect_main": True}).is_success
        # The push log holds the allowed force-push, not the refused ones.
        log = admin.get(f"/api/projects/{project}/pushes").json()
        assert [(p["old_commit"], p["new_commit"], p["forced"]) for p in log] == [
            (kept, head, True),
            (log[1]["old_commit"], kept, False),
        ]


def test_the_push_log_names_who_pushed_whatever_the_commits_claim(
    live: LiveServer, tmp_path: Path
) -> None:
    project = new_project(live)
    checkout = clone(live, project, tmp_path / "checkout")
    before = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    # The editor writes someone else's name into the commit: Git cannot tell.
    (checkout / "notes.md").write_text("by 'the admin'\n")
    git("add", "notes.md", cwd=checkout)
    git("commit", "--author", "The Admin <admin@example.com>", "-m", "notes", cwd=checkout)
    git("push", "origin", "main", cwd=checkout)
    after = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    git("push", "origin", "main:refs/heads/feature", cwd=checkout)
    git("push", "origin", ":feature", cwd=checkout)
    unsafe_commit(checkout, b"..")
    assert git("push", "origin", "main", cwd=checkout, check=False).returncode != 0
    zero = "0" * 40
    token = live.tokens["editor"]
    with live.client("admin") as admin:
        log = admin.get(f"/api/projects/{project}/pushes").json()
        one = admin.get(f"/api/projects/{project}/pushes", params={"limit": 1}).json()
        gone = admin.get("/api/projects/no-such-project/pushes")
    # Newest first; the refused push is not there.
    assert [(p["ref"], p["old_commit"], p["new_commit"]) for p in log] == [
        ("refs/heads/feature", after, zero),
        ("refs/heads/feature", zero, after),
        ("refs/heads/main", before, after),
    ]
    assert one == log[:1] and gone.status_code == 404
    main = log[-1]
    assert main["username"] == "editor-user" and token.startswith(main["token"])
    assert main["authors"] == ["The Admin <admin@example.com>"] and main["commits"] == 1
    assert main["forced"] is False
    # Only admins read it.
    for role in ("editor", "viewer"):
        with live.client(role) as client:
            assert client.get(f"/api/projects/{project}/pushes").status_code == 403
    # It goes with its project.
    with live.client("admin") as admin:
        assert admin.delete(f"/api/projects/{project}").status_code == 200
    with live.context.db.session() as session:
        left = session.scalars(select(GitPush).where(GitPush.project == project)).all()
    assert left == []
