"""One project's Git repository (bare, via dulwich) and its working tree.

The repository is bare so that ``git push`` can move ``main`` at any time. The working tree is a
plain folder of files edited through the API; ``base`` records the commit it started from. A clean
working tree follows ``main`` when a push moves it; a dirty one is kept, and committing it then
fails with a conflict rather than overwriting the pushed work.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dulwich.object_store import iter_tree_contents
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo

from headwater.platform.errors import Conflict, Invalid, NotFound
from headwater.platform.projects.paths import check_path, inside

BRANCH = Ref(b"refs/heads/main")
FILE_MODE = 0o100644
EXEC_MODE = 0o100755
GITLINK_MODE = 0o160000
EMPTY_BLOB = Blob.from_string(b"").id


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int


@dataclass(frozen=True)
class CommitInfo:
    id: str
    message: str
    author: str
    timestamp: int
    parents: list[str]


@dataclass(frozen=True)
class FileChange:
    path: str
    status: Literal["added", "modified", "deleted"]
    patch: str


# path -> (blob id, mode)
Snapshot = dict[str, tuple[bytes, int]]


def _blob_id(data: bytes) -> bytes:
    return Blob.from_string(data).id


def git_author(username: str) -> bytes:
    return f"{username} <{username}@headwater.local>".encode()


class ProjectRepository:
    """A project's repository and working tree, under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git_dir = root / "repo.git"
        self.workspace = root / "workspace"
        self._base_file = root / "workspace.base"

    # Creation
    def create(self, files: dict[str, bytes], author: str, message: str) -> str:
        self.root.mkdir(parents=True)
        repo = Repo.init_bare(str(self.git_dir), mkdir=True)
        try:
            repo.refs.set_symbolic_ref(Ref(b"HEAD"), BRANCH)
        finally:
            repo.close()
        self.workspace.mkdir()
        for path, data in files.items():
            self._write_file(check_path(path), data, FILE_MODE)
        return self._commit_workspace(author, message, expected_head=None)

    def delete(self) -> None:
        shutil.rmtree(self.root)

    @contextmanager
    def _repo(self) -> Iterator[Repo]:
        # A fresh Repo each time: a push may have added packs since the last open.
        repo = Repo(str(self.git_dir))
        try:
            yield repo
        finally:
            repo.close()

    # Commits
    def head(self) -> str | None:
        with self._repo() as repo:
            try:
                return repo.refs[BRANCH].decode()
            except KeyError:
                return None

    def resolve(self, ref: str | None) -> str:
        """A full commit id for ``ref``: None / HEAD / main, or a (prefix of a) commit id."""
        head = self.head()
        if ref in (None, "", "HEAD", "main"):
            if head is None:
                raise NotFound("the project has no commits yet")
            return head
        assert ref is not None
        lowered = ref.lower()
        if not (4 <= len(lowered) <= 40) or any(c not in "0123456789abcdef" for c in lowered):
            raise Invalid(f"ref {ref!r} is not a commit id; give 4-40 hex digits, HEAD or main")
        with self._repo() as repo:
            if len(lowered) == 40 and isinstance(_lookup(repo, lowered), Commit):
                return lowered
            if head is not None:
                for entry in repo.get_walker(include=[ObjectID(head.encode())]):
                    if entry.commit.id.decode().startswith(lowered):
                        return str(entry.commit.id.decode())
        raise NotFound(f"no commit {ref!r} in this project; list commits to find one")

    def log(self, limit: int) -> list[CommitInfo]:
        head = self.head()
        if head is None:
            return []
        with self._repo() as repo:
            walker = repo.get_walker(include=[ObjectID(head.encode())], max_entries=limit)
            return [_commit_info(entry.commit) for entry in walker]

    def commit_info(self, ref: str) -> CommitInfo:
        commit_id = self.resolve(ref)
        with self._repo() as repo:
            commit = repo[commit_id.encode()]
            assert isinstance(commit, Commit)
            return _commit_info(commit)

    def snapshot(self, commit_id: str) -> Snapshot:
        with self._repo() as repo:
            commit = repo[commit_id.encode()]
            assert isinstance(commit, Commit)
            return {
                entry.path.decode("utf-8", "surrogateescape"): (entry.sha, entry.mode)
                for entry in iter_tree_contents(repo.object_store, commit.tree)
                if entry.path is not None
                and entry.sha is not None
                and entry.mode is not None
                and entry.mode != GITLINK_MODE
            }

    def read_blob(self, blob_id: bytes) -> bytes:
        with self._repo() as repo:
            blob = repo[blob_id]
            assert isinstance(blob, Blob)
            return bytes(blob.as_raw_string())

    def commit(self, author: str, message: str) -> str:
        """Commit the working tree onto ``main``; Conflict if nothing changed or main moved."""
        self.sync()
        base = self._base()
        if self.head() != base:
            raise Conflict(
                f"main moved to {str(self.head())[:12]} (a push) after these changes were "
                "started from "
                f"{str(base)[:12]}: save your changes elsewhere, discard them and apply them again"
            )
        if not self.changes():
            raise Conflict("nothing to commit: the working tree equals the last commit")
        return self._commit_workspace(author, message, expected_head=base)

    def rollback(self, target: str, author: str) -> str:
        """A new commit on main whose files are those of ``target``; the history is kept."""
        commit_id = self.resolve(target)
        self.sync()
        if self.changes():
            raise Conflict("the working tree has uncommitted changes: commit or discard them first")
        head = self.head()
        with self._repo() as repo:
            old = repo[commit_id.encode()]
            assert isinstance(old, Commit)
            new_id = self._write_commit(
                repo, old.tree, author, f"Roll back to {commit_id[:12]}", head
            )
        self._checkout(new_id)
        return new_id

    def commit_files(
        self, base: str, files: dict[str, bytes | None], author: str, message: str
    ) -> str:
        """A commit on main that changes ``files`` of ``base`` (None deletes one), made from
        the history rather than the working tree, so uncommitted edits there are neither
        committed nor lost; Conflict if main is no longer ``base``."""
        if self.head() != base:
            raise Conflict(
                f"the project moved to {str(self.head())[:12]} since {base[:12]}: "
                "look at the change again and confirm it anew"
            )
        snapshot = self.snapshot(base)
        with self._repo() as repo:
            for path, data in files.items():
                clean = check_path(path)
                if data is None:
                    snapshot.pop(clean, None)
                    continue
                blob = Blob.from_string(data)
                repo.object_store.add_object(blob)
                mode = snapshot.get(clean, (b"", FILE_MODE))[1]
                snapshot[clean] = (bytes(blob.id), mode)
            tree_id = _store_tree(repo, snapshot)
            commit_id = self._write_commit(repo, tree_id, author, message, base)
        self.sync()  # a clean working tree follows; a dirty one stays as it is
        return commit_id

    def planned_diff(self, base: str, files: dict[str, bytes | None]) -> list[FileChange]:
        """The changes writing ``files`` (None deletes) onto ``base`` would make, per file."""
        before = self.snapshot(base)
        changes: list[FileChange] = []
        for path in sorted(files):
            data = files[path]
            old = before.get(path)
            old_data = b"" if old is None else self.read_blob(old[0])
            unchanged = data == old_data if old is not None else data is None
            if unchanged:
                continue
            status: Literal["added", "modified", "deleted"] = (
                "added" if old is None else "deleted" if data is None else "modified"
            )
            changes.append(FileChange(path, status, _patch(path, old_data, data or b"", status)))
        return changes

    def files_at(self, commit_id: str) -> dict[str, bytes]:
        """Every file of ``commit_id`` with its content."""
        return {path: self.read_blob(blob) for path, (blob, _) in self.snapshot(commit_id).items()}

    def diff(self, old: str, new: str) -> list[FileChange]:
        """Changes from commit ``old`` to commit ``new`` (or ``workspace``), one patch per file."""
        to_workspace = new == "workspace"
        before = self.snapshot(self.resolve(old))
        after = self._workspace_snapshot() if to_workspace else self.snapshot(self.resolve(new))
        changes: list[FileChange] = []
        for path in sorted(before.keys() | after.keys()):
            a, b = before.get(path), after.get(path)
            if a is not None and b is not None and a[0] == b[0]:
                continue
            status: Literal["added", "modified", "deleted"] = (
                "added" if a is None else "deleted" if b is None else "modified"
            )
            old_data = b"" if a is None else self.read_blob(a[0])
            if b is None:
                new_data = b""
            elif to_workspace:
                new_data = (self.workspace / path).read_bytes()
            else:
                new_data = self.read_blob(b[0])
            changes.append(FileChange(path, status, _patch(path, old_data, new_data, status)))
        return changes

    # The working tree
    def sync(self) -> None:
        """Move a clean working tree to main if a push moved main."""
        head, base = self.head(), self._base()
        if head is None or head == base:
            return
        if base is None or not self._changes_against(self.snapshot(base)):
            self._checkout(head)

    def files(self) -> list[FileEntry]:
        self.sync()
        return [
            FileEntry(path, (self.workspace / path).stat().st_size)
            for path in sorted(self._workspace_paths())
        ]

    def read(self, path: str) -> bytes:
        self.sync()
        file = self.workspace / check_path(path)
        if not file.is_file():
            raise NotFound(f"no file {path!r} in the working tree")
        return file.read_bytes()

    def write(self, path: str, data: bytes) -> None:
        self.sync()
        clean = check_path(path)
        target = self.workspace / clean
        for parent in Path(clean).parents:
            if parent != Path(".") and (self.workspace / parent).is_file():
                raise Conflict(f"cannot write {clean!r}: {parent.as_posix()!r} is a file")
        if target.is_dir():
            raise Conflict(f"cannot write {clean!r}: it is a folder")
        self._write_file(clean, data, None)

    def remove(self, path: str) -> None:
        self.sync()
        clean = check_path(path)
        target = self.workspace / clean
        if not target.is_file():
            raise NotFound(f"no file {path!r} in the working tree")
        target.unlink()
        self._prune(target.parent)

    def rename(self, old: str, new: str) -> None:
        data = self.read(old)
        clean = check_path(new)
        if (self.workspace / clean).exists():
            raise Conflict(f"cannot rename to {clean!r}: it exists already")
        self.write(clean, data)
        self.remove(old)

    def changes(self) -> list[FileChange]:
        """Uncommitted changes of the working tree (patches left empty; ask diff for them)."""
        base = self._base()
        return self._changes_against(self.snapshot(base) if base else {})

    def discard(self) -> None:
        head = self.head()
        if head is not None:
            self._checkout(head)

    def _changes_against(self, snapshot: Snapshot) -> list[FileChange]:
        current = self._workspace_snapshot()
        changes = []
        for path in sorted(snapshot.keys() | current.keys()):
            a, b = snapshot.get(path), current.get(path)
            if a == b:
                continue
            status: Literal["added", "modified", "deleted"] = (
                "added" if a is None else "deleted" if b is None else "modified"
            )
            changes.append(FileChange(path, status, ""))
        return changes

    def _workspace_paths(self) -> Iterator[str]:
        for directory, folders, names in os.walk(self.workspace):
            folders.sort()
            for name in names:
                full = Path(directory) / name
                if full.is_file() and not full.is_symlink():
                    yield full.relative_to(self.workspace).as_posix()

    def _workspace_snapshot(self) -> Snapshot:
        snapshot: Snapshot = {}
        for path in self._workspace_paths():
            full = self.workspace / path
            mode = EXEC_MODE if full.stat().st_mode & stat.S_IXUSR else FILE_MODE
            snapshot[path] = (_blob_id(full.read_bytes()), mode)
        return snapshot

    def _write_file(self, path: str, data: bytes, mode: int | None) -> None:
        target = self.workspace / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{hashlib.sha1(data).hexdigest()[:8]}.tmp")
        temporary.write_bytes(data)
        if mode is not None:
            os.chmod(temporary, 0o755 if mode == EXEC_MODE else 0o644)
        elif target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o777)
        os.replace(temporary, target)

    def _prune(self, folder: Path) -> None:
        while folder != self.workspace and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent

    def export(self, commit_id: str, folder: Path) -> None:
        """Write the files of ``commit_id`` into the empty or new ``folder``."""
        snapshot = self.snapshot(commit_id)
        folder.mkdir(parents=True, exist_ok=True)
        # Every path is checked before anything is written: a tree made elsewhere may name '..'.
        targets = {path: inside(folder, path) for path in snapshot}
        with self._repo() as repo:
            for path, (blob_id, mode) in snapshot.items():
                target = targets[path]
                target.parent.mkdir(parents=True, exist_ok=True)
                blob = repo[blob_id]
                assert isinstance(blob, Blob)
                target.write_bytes(blob.as_raw_string())
                os.chmod(target, 0o755 if mode == EXEC_MODE else 0o644)

    def _checkout(self, commit_id: str) -> None:
        fresh = self.root / "workspace.new"
        if fresh.exists():
            shutil.rmtree(fresh)
        self.export(commit_id, fresh)
        old = self.root / "workspace.old"
        if old.exists():
            shutil.rmtree(old)
        self.workspace.rename(old)
        fresh.rename(self.workspace)
        shutil.rmtree(old)
        self._set_base(commit_id)

    def _base(self) -> str | None:
        try:
            return self._base_file.read_text().strip() or None
        except FileNotFoundError:
            return None

    def _set_base(self, commit_id: str) -> None:
        self._base_file.write_text(commit_id)

    def _commit_workspace(self, author: str, message: str, expected_head: str | None) -> str:
        with self._repo() as repo:
            tree_id = _write_tree(repo, self._workspace_snapshot(), self.workspace)
            commit_id = self._write_commit(repo, tree_id, author, message, expected_head)
        self._set_base(commit_id)
        return commit_id

    def _write_commit(
        self, repo: Repo, tree_id: bytes, author: str, message: str, parent: str | None
    ) -> str:
        commit = Commit()
        commit.tree = tree_id
        commit.parents = [ObjectID(parent.encode())] if parent else []
        commit.author = commit.committer = git_author(author)
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        commit.message = message.encode("utf-8")
        repo.object_store.add_object(commit)
        old = ObjectID(parent.encode()) if parent else None
        if not repo.refs.set_if_equals(BRANCH, old, commit.id):
            raise Conflict("main moved while committing (a push); try again")
        return str(commit.id.decode())


def _write_tree(repo: Repo, snapshot: Snapshot, workspace: Path) -> bytes:
    """Store the working tree's blobs and nested trees; returns the root tree's id."""
    stored: Snapshot = {}
    for path, (_, mode) in snapshot.items():
        blob = Blob.from_string((workspace / path).read_bytes())
        repo.object_store.add_object(blob)
        stored[path] = (bytes(blob.id), mode)
    return _store_tree(repo, stored)


def _store_tree(repo: Repo, snapshot: Snapshot) -> bytes:
    """Store the nested trees of ``snapshot`` (its blobs are stored already); the root's id."""
    nested: dict[str, object] = {}
    for path, (blob_id, mode) in snapshot.items():
        parts = path.split("/")
        folder = nested
        for part in parts[:-1]:
            child = folder.setdefault(part, {})
            assert isinstance(child, dict)
            folder = child
        folder[parts[-1]] = (blob_id, mode)

    def store(folder: dict[str, object]) -> bytes:
        tree = Tree()
        for name, value in folder.items():
            if isinstance(value, dict):
                tree.add(name.encode("utf-8"), stat.S_IFDIR, ObjectID(store(value)))
            else:
                assert isinstance(value, tuple)
                tree.add(name.encode("utf-8"), value[1], value[0])
        repo.object_store.add_object(tree)
        return bytes(tree.id)

    return store(nested)


def _lookup(repo: Repo, commit_id: str) -> ShaFile | None:
    try:
        return repo[ObjectID(commit_id.encode())]
    except KeyError:
        return None


def _commit_info(commit: Commit) -> CommitInfo:
    return CommitInfo(
        id=commit.id.decode(),
        message=commit.message.decode("utf-8", "replace"),
        author=commit.author.decode("utf-8", "replace"),
        timestamp=int(commit.commit_time),
        parents=[parent.decode() for parent in commit.parents],
    )


def _patch(path: str, old: bytes, new: bytes, status: str) -> str:
    try:
        old_text, new_text = old.decode("utf-8"), new.decode("utf-8")
    except UnicodeDecodeError:
        return f"Binary file {path} {status}\n"
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile="/dev/null" if status == "added" else f"a/{path}",
        tofile="/dev/null" if status == "deleted" else f"b/{path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
