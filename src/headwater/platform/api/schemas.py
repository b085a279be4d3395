"""Response models shared by several routers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from headwater.platform.auth.roles import Role
from headwater.platform.db.models import User


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
