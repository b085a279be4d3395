"""Checkouts of a commit for a deployment: one pristine copy, one working copy per replica.

Replicas get their own copy so that files an app writes next to itself (its state folder, with
RocksDB's lock) never collide between replicas of one deployment.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from headwater.platform.projects.repository import ProjectRepository


def pristine(root: Path, commit: str) -> Path:
    """Where the pristine checkout of ``commit`` lives under a deployment's folder ``root``."""
    return root / "commits" / commit


def checkout(repo: ProjectRepository, root: Path, commit: str) -> Path:
    """The pristine checkout of ``commit``, exported once (atomically: a crash leaves none)."""
    target = pristine(root, commit)
    if target.is_dir():
        return target
    partial = target.with_name(f".{commit}.{uuid.uuid4().hex[:8]}.partial")
    repo.export(commit, partial)
    try:
        partial.rename(target)
    except OSError:  # a concurrent export won the race: keep that one
        shutil.rmtree(partial, ignore_errors=True)
    return target


def replica_dir(root: Path, commit: str, replica: int) -> Path:
    """A replica's working copy of the pristine checkout, made on first use and then kept."""
    target = root / "replicas" / f"{replica}-{commit}"
    if not target.is_dir():
        source = pristine(root, commit)
        if not source.is_dir():
            raise FileNotFoundError(f"commit {commit} is not checked out under {root}")
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        shutil.copytree(source, partial)
        partial.rename(target)
    return target


def prune(root: Path, keep: set[str]) -> None:
    """Remove checkouts of commits other than ``keep`` (after a redeploy has moved on)."""
    for folder in (root / "commits", root / "replicas"):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            commit = entry.name.rsplit("-", 1)[-1]
            if commit not in keep and not entry.name.startswith("."):
                shutil.rmtree(entry, ignore_errors=True)
