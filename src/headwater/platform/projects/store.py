"""All projects: their metadata rows, repositories on disk and one lock per project."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from headwater.platform.db.models import (
    AliasMove,
    CanvasPosition,
    GitPush,
    ModelAlias,
    ModelVersion,
    Project,
    RegisteredModel,
    Secret,
)
from headwater.platform.db.session import Database
from headwater.platform.errors import Conflict, NotFound
from headwater.platform.projects.paths import check_project_name
from headwater.platform.projects.repository import ProjectRepository
from headwater.platform.projects.templates import template_files


class ProjectStore:
    """Creates, finds and deletes projects; hands out a project's repository under its lock."""

    def __init__(self, db: Database, root: Path) -> None:
        self._db = db
        self._root = root
        self._locks: dict[str, threading.RLock] = {}
        self._locks_lock = threading.Lock()

    def list(self) -> list[Project]:
        with self._db.session() as session:
            return list(session.scalars(select(Project).order_by(Project.name)))

    def get(self, name: str) -> Project:
        with self._db.session() as session:
            project = session.scalar(select(Project).where(Project.name == name))
        if project is None:
            raise NotFound(f"no project {name!r}; list projects to see the names")
        return project

    def create(
        self,
        name: str,
        description: str,
        template: str | None,
        author: str,
        topics: dict[str, str] | None = None,
    ) -> Project:
        """A project with one commit: the template's files for ``name`` with ``topics`` (slot ->
        topic name, the template's defaults for the others), or none."""
        check_project_name(name)
        files = template_files(template, name, topics) if template else {}
        project = Project(name=name, description=description, template=template, created_by=author)
        with self._lock(name):
            try:
                with self._db.session() as session:
                    session.add(project)
                    session.flush()
                    root = self._root / name
                    if root.exists():  # left by a crash between disk and database: start over
                        shutil.rmtree(root)
                    message = f"Create from template {template}" if template else "Create project"
                    ProjectRepository(root).create(files, author, message)
            except IntegrityError:
                raise Conflict(
                    f"a project named {name!r} exists already; pick another name"
                ) from None
        return project

    def delete(self, name: str) -> None:
        with self._lock(name), self._db.session() as session:
            project = session.scalar(select(Project).where(Project.name == name))
            if project is None:
                raise NotFound(f"no project {name!r}; list projects to see the names")
            session.delete(project)
            session.execute(delete(Secret).where(Secret.project == name))
            session.execute(delete(GitPush).where(GitPush.project == name))
            session.execute(delete(CanvasPosition).where(CanvasPosition.project == name))
            models = select(RegisteredModel.id).where(RegisteredModel.project == name)
            for table in (AliasMove, ModelAlias, ModelVersion):
                session.execute(delete(table).where(table.model_id.in_(models)))
            session.execute(delete(RegisteredModel).where(RegisteredModel.project == name))
            root = self._root / name
            if root.exists():
                ProjectRepository(root).delete()

    def set_protect_main(self, name: str, protect: bool) -> Project:
        with self._lock(name), self._db.session() as session:
            project = session.scalar(select(Project).where(Project.name == name))
            if project is None:
                raise NotFound(f"no project {name!r}; list projects to see the names")
            project.protect_main = protect
            return project

    @contextmanager
    def open(self, name: str) -> Iterator[ProjectRepository]:
        """The project's repository, used under the project's lock."""
        self.get(name)
        with self._lock(name):
            root = self._root / name
            if not (root / "repo.git").is_dir():  # deleted while this request waited
                raise NotFound(f"no project {name!r}; list projects to see the names")
            yield ProjectRepository(root)

    def git_dir(self, name: str) -> Path:
        return self._root / name / "repo.git"

    def _lock(self, name: str) -> threading.RLock:
        with self._locks_lock:
            return self._locks.setdefault(name, threading.RLock())
