"""Who a request acts for, and how it proved it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from headwater.platform.auth.roles import Role


@dataclass(frozen=True)
class Principal:
    """The user a request acts for, and how it proved it."""

    user_id: int
    username: str
    role: Role
    via: Literal["session", "token"]
    session_id: int | None = None
    token_prefix: str | None = None  # the API token's listed prefix, when via a token
