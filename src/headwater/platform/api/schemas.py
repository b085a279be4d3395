"""Response models shared by several routers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, BeforeValidator

from headwater.platform.auth.roles import Role
from headwater.platform.db.models import User
from headwater.platform.projects.paths import NAME_PATTERN

# Ids in paths fit the database's integer columns: a larger number is a 422, not a crash.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the id, as listed")]
# What a value that does not match a pattern of the API is told, by pattern: the OpenAPI
# document states the pattern, the answer says in words what is expected.
PATTERN_MESSAGES: dict[str, str] = {}


def described_pattern(pattern: str, message: str) -> str:
    """``pattern``, recorded so that a value not matching it is refused with ``message``."""
    PATTERN_MESSAGES[pattern] = message
    return pattern


# A commit: HEAD, main, or 4-40 hex digits of its id.
REF_PATTERN = described_pattern(
    r"^(HEAD|main|[0-9a-fA-F]{4,40})$", "not a commit id: give 4-40 hex digits, HEAD or main"
)
# Names of projects and clusters: what exists matches it, so a path or query naming one states it.
NAME = described_pattern(
    NAME_PATTERN.pattern, "lowercase letters, digits and -, starting with a letter (at most 63)"
)
ProjectName = Annotated[str, Path(pattern=NAME, description="the project's name")]
ClusterPath = Annotated[str, Path(pattern=NAME, description="the cluster's name")]
# Text that the databases can store: PostgreSQL refuses NUL characters.
NO_NUL = described_pattern(r"^[^\x00]*$", "cannot contain NUL (0x00) characters")


def not_text(value: object) -> object:
    """Numbers must be sent as numbers: "2" or true are refused, not converted (1.0 is 1)."""
    if isinstance(value, str | bytes | bool):
        raise ValueError("must be a number, not text or a boolean")
    return value


# An integer or a number that refuses text ("2") and booleans; 2.0 counts as 2, as in JSON Schema.
Integer = Annotated[int, BeforeValidator(not_text)]
Number = Annotated[float, BeforeValidator(not_text)]


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id, username=user.username, role=Role(user.role), created_at=user.created_at
        )


class OkOut(BaseModel):
    ok: bool = True
