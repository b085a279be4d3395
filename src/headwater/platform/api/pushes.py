"""A project's push log, for admins: who pushed which commits to which ref, and when.

Commits carry the author and committer their pusher wrote, unverified; the log names the user
whose API token made the push.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from headwater.platform.api.dependencies import Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import ProjectName
from headwater.platform.auth.roles import Role
from headwater.platform.db.models import GitPush
from headwater.platform.projects import push_log

router = APIRouter(prefix="/api/projects", tags=["projects"], responses=ERROR_RESPONSES)


class PushOut(BaseModel):
    """One ref a push moved."""

    id: int
    ref: str = Field(description="e.g. refs/heads/main")
    old_commit: str = Field(description="the commit before; 40 zeros when the ref was created")
    new_commit: str = Field(description="the commit after; 40 zeros when the ref was deleted")
    forced: bool = Field(description="the update dropped commits the ref held (a force-push)")
    commits: int = Field(description="commits the push brought that no ref held before")
    authors: list[str] = Field(description="their author lines as written: not verified")
    username: str = Field(description="the user whose API token pushed")
    token: str = Field(description="that token's prefix, as listed")
    pushed_at: datetime


def _out(row: GitPush) -> PushOut:
    return PushOut(
        id=row.id,
        ref=row.ref,
        old_commit=row.old_commit,
        new_commit=row.new_commit,
        forced=row.forced,
        commits=row.commits,
        authors=json.loads(row.authors_json),
        username=row.username,
        token=row.token,
        pushed_at=row.pushed_at,
    )


@router.get("/{name}/pushes", response_model=list[PushOut], **secured(Role.admin))
def list_pushes(
    name: ProjectName,
    context: Context,
    limit: Annotated[int, Query(ge=1, le=1000, description="most updates listed")] = 100,
) -> list[PushOut]:
    """The project's latest ref updates by `git push`, newest first."""
    context.projects.get(name)
    return [_out(row) for row in push_log.recent(context.db, name, limit)]
