"""Response models shared by several routers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel

from headwater.platform.auth.roles import Role
from headwater.platform.db.models import User

# Ids in paths fit the database's integer columns: a larger number is a 422, not a crash.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the id, as listed")]


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
