"""Roles, each allowed everything the one below it is."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """``viewer`` reads; ``editor`` also writes projects (and later deployments); ``admin`` also
    manages users, clusters, secrets and deletions."""

    viewer = "viewer"
    editor = "editor"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.viewer: 0, Role.editor: 1, Role.admin: 2}
