"""What a ``git push`` may change: the checks every pushed ref update passes before it lands.

Dulwich stores the pushed pack, then asks ``_on_update`` about each ref; a refusal there leaves
the ref where it was, and ``git push`` prints the reason (``! [remote rejected] main -> main
(...)``). Objects of a refused push stay unreferenced in the object store, as with ``git``.

A pushed commit is refused when any of its trees names a file the platform could not write
safely (``..``, ``.git``, absolute or non-UTF-8 names, control or bidirectional characters),
holds a symbolic link or a submodule, or a file over the size limit. ``main`` is protected: no
force-push and no deletion while the project's ``protect_main`` is on (an admin turns it off).

Every ref update that lands is handed to the push's ``record`` callback (the push log): who
pushed is known from the API token, while the authors written in commits are not verified.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dulwich.graph import can_fast_forward
from dulwich.objects import Blob, Commit, ObjectID, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo
from dulwich.server import DEFAULT_HANDLERS, ReceivePackHandler

from headwater.platform.projects.paths import tree_name_problem
from headwater.platform.projects.repository import BRANCH

FILE_MODES = frozenset({0o100644, 0o100755, 0o100664})
ALLOWED_REFS = (b"refs/heads/", b"refs/tags/")
ZERO = b"0" * 40
MAX_AUTHORS = 20  # author lines kept per pushed ref; a push of a long history lists the first


@dataclass(frozen=True)
class PushPolicy:
    """The limits one push is checked against."""

    project: str
    protect_main: bool
    max_file_bytes: int
    max_push_bytes: int


@dataclass(frozen=True)
class PushedRef:
    """One ref update of a push: from ``old`` to ``new`` (40 zeros: created or deleted)."""

    ref: str
    old: str
    new: str
    forced: bool = False
    commits: int = 0  # commits the push brought that no ref of the repository held
    authors: tuple[str, ...] = ()  # their distinct author lines, as written (unverified)


class Refused(Exception):
    """A ref update the policy does not allow; the message is shown by ``git push``."""


def check_update(repo: Repo, policy: PushPolicy, ref: bytes, old: bytes, new: bytes) -> PushedRef:
    """What moving ``ref`` from ``old`` to ``new`` does; raise Refused unless it is allowed."""
    if not ref.startswith(ALLOWED_REFS):
        raise Refused("only branches (refs/heads/...) and tags (refs/tags/...) can be pushed")
    main = ref == BRANCH
    pushed = PushedRef(ref.decode("utf-8", "replace"), old.decode(), new.decode())
    if new == ZERO:
        if main and policy.protect_main:
            raise Refused(_protected(policy, "deleting main would erase the project's history"))
        return pushed
    commit = repo.object_store[ObjectID(new)]
    if not isinstance(commit, Commit):
        raise Refused("a branch must point at a commit")
    forced = old != ZERO and not can_fast_forward(repo, ObjectID(old), ObjectID(new))
    if main and policy.protect_main and forced:
        raise Refused(
            _protected(
                policy,
                "this push rewrites main's history (a force-push); pull, merge or rebase onto "
                "main and push again",
            )
        )
    commits, authors = _check_new_commits(repo, policy, ObjectID(new))
    return PushedRef(pushed.ref, pushed.old, pushed.new, forced, commits, authors)


def _protected(policy: PushPolicy, why: str) -> str:
    return (
        f"main is protected: {why}; an admin can allow it with "
        f'PATCH /api/projects/{policy.project} {{"protect_main": false}}'
    )


def _check_new_commits(
    repo: Repo, policy: PushPolicy, new: ObjectID
) -> tuple[int, tuple[str, ...]]:
    """Check the trees of the commits ``new`` brings that no ref of the repository holds;
    return how many there are and their distinct authors."""
    known = [sha for sha in repo.refs.as_dict().values() if sha in repo.object_store]
    checked: set[bytes] = set()
    count = 0
    authors: list[str] = []
    for entry in repo.get_walker(include=[new], exclude=known):
        commit = entry.commit
        _check_tree(repo, policy, commit.tree, "", commit.id.decode()[:12], checked)
        count += 1
        author = commit.author.decode("utf-8", "replace")[:255]
        if author not in authors and len(authors) < MAX_AUTHORS:
            authors.append(author)
    return count, tuple(authors)


def _check_tree(
    repo: Repo, policy: PushPolicy, tree_id: bytes, prefix: str, commit: str, checked: set[bytes]
) -> None:
    if tree_id in checked:
        return  # the same tree (or subtree) was checked already in this push
    tree = repo.object_store[ObjectID(tree_id)]
    if not isinstance(tree, Tree):
        raise Refused(f"commit {commit}: {prefix or 'the root'} is not a tree")
    for item in tree.iteritems():
        name, mode, sha = item.path, item.mode, item.sha
        shown = prefix + name.decode("utf-8", "backslashreplace")
        problem = tree_name_problem(name)
        if problem:
            raise Refused(f"commit {commit}: the name {shown!r} {problem}; rename it, push again")
        if stat.S_ISDIR(mode):
            _check_tree(repo, policy, sha, shown + "/", commit, checked)
        elif stat.S_ISLNK(mode):
            raise Refused(
                f"commit {commit}: {shown!r} is a symbolic link; the platform keeps plain files "
                "only: commit the file it points to instead"
            )
        elif mode not in FILE_MODES:
            raise Refused(
                f"commit {commit}: {shown!r} is a submodule or has an unknown mode ({mode:o}); "
                "commit plain files only"
            )
        else:
            blob = repo.object_store[sha]
            if not isinstance(blob, Blob):
                raise Refused(f"commit {commit}: {shown!r} is not a file")
            size = blob.raw_length()
            if size > policy.max_file_bytes:
                raise Refused(
                    f"commit {commit}: {shown!r} is {size} bytes; files are limited to "
                    f"{policy.max_file_bytes} bytes: keep data out of the project (in a topic "
                    "or an object store)"
                )
    checked.add(tree_id)


Recorder = Callable[[list[PushedRef]], None]


def receive_pack_handler(policy: PushPolicy, record: Recorder) -> type[ReceivePackHandler]:
    """A receive-pack handler class that applies ``policy`` to every ref update and hands the
    updates that landed to ``record``."""

    class PolicyReceivePackHandler(ReceivePackHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._allowed: dict[bytes, PushedRef] = {}  # ref -> its update, once checked

        def _receive_max_input_size(self) -> int | None:
            return policy.max_push_bytes

        def _on_update(self, ref_name: Ref, old_sha: ObjectID, new_sha: ObjectID) -> bytes | None:
            repo = self.repo
            assert isinstance(repo, Repo)
            try:
                pushed = check_update(repo, policy, bytes(ref_name), bytes(old_sha), bytes(new_sha))
            except Refused as exc:
                return str(exc).replace("\n", " ").encode("utf-8")
            except KeyError as exc:
                return f"the push lacks object {exc}: push again".encode()
            refusal = super()._on_update(ref_name, old_sha, new_sha)
            if refusal is None:
                self._allowed[bytes(ref_name)] = pushed
            return refusal

        def _on_post_receive(self, client_refs: list[tuple[ObjectID, ObjectID, Ref]]) -> None:
            # Called with the updates that were written, once the refs moved.
            landed = [
                self._allowed[bytes(ref)]
                for _, _, ref in client_refs
                if bytes(ref) in self._allowed
            ]
            if landed:
                record(landed)
            super()._on_post_receive(client_refs)

    return PolicyReceivePackHandler


def handlers(policy: PushPolicy, record: Recorder) -> dict[bytes, Any]:
    """Dulwich's service handlers, with the push handler replaced by one applying ``policy``
    and recording what landed with ``record``."""
    found: dict[bytes, Any] = dict(DEFAULT_HANDLERS)
    found[b"git-receive-pack"] = receive_pack_handler(policy, record)
    return found
