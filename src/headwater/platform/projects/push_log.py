"""The push log: every ref a ``git push`` moved, with the user whose API token pushed it.

Commits name their author and committer as the pusher wrote them, so they prove nothing; the
log is the platform's own record, kept in the database and listed to admins.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from headwater.platform.db.models import GitPush
from headwater.platform.db.session import Database
from headwater.platform.projects.git_push import PushedRef


def record(db: Database, project: str, username: str, token: str, pushed: list[PushedRef]) -> None:
    """Add one row per ref update of a push that landed."""
    with db.session() as session:
        for update in pushed:
            session.add(
                GitPush(
                    project=project,
                    ref=update.ref[:255],
                    old_commit=update.old,
                    new_commit=update.new,
                    forced=update.forced,
                    commits=update.commits,
                    authors_json=json.dumps(list(update.authors)),
                    username=username,
                    token=token[:16],
                )
            )


def recent(db: Database, project: str, limit: int) -> list[GitPush]:
    """The project's latest ``limit`` ref updates, newest first."""
    with db.session() as session:
        query = (
            select(GitPush)
            .where(GitPush.project == project)
            .order_by(GitPush.id.desc())
            .limit(limit)
        )
        return list(session.scalars(query))
