"""Where a user put each node of a project's canvas, kept in the platform's database.

Positions are presentation, not the pipeline: committing each drag to the project would bury its
real changes in the history and move main under an open preview (whose commit is then
refused). So they live here, per project, and go when the project does.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from headwater.platform.db.models import CanvasPosition
from headwater.platform.db.session import Database

Positions = dict[str, tuple[float, float]]
MAX_NODES = 2_000


class CanvasLayouts:
    """Reads and replaces the saved positions of a project's canvas."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, project: str) -> Positions:
        with self._db.session() as session:
            rows = session.scalars(select(CanvasPosition).where(CanvasPosition.project == project))
            return {row.node: (row.x, row.y) for row in rows}

    def replace(self, project: str, positions: Positions) -> None:
        with self._db.session() as session:
            session.execute(delete(CanvasPosition).where(CanvasPosition.project == project))
            session.add_all(
                CanvasPosition(project=project, node=node, x=x, y=y)
                for node, (x, y) in positions.items()
            )

    def forget(self, project: str) -> None:
        with self._db.session() as session:
            session.execute(delete(CanvasPosition).where(CanvasPosition.project == project))
