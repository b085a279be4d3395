"""A project's named secrets, for its deployments: set by editors, never returned in clear.

A secret belongs to one project: only that project's deployments can name it, so code of one
project never receives another's credentials.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from headwater.platform.db.models import Secret
from headwater.platform.db.session import Database
from headwater.platform.errors import Invalid, NotFound
from headwater.platform.projects.store import ProjectStore
from headwater.platform.secrets import SecretBox


class ProjectSecretService:
    """Stores secrets encrypted, per project, and hands their values to deployments."""

    def __init__(self, db: Database, box: SecretBox, projects: ProjectStore) -> None:
        self._db = db
        self._box = box
        self._projects = projects

    def list(self, project: str) -> list[Secret]:
        self._projects.get(project)
        with self._db.session() as session:
            query = select(Secret).where(Secret.project == project).order_by(Secret.name)
            return list(session.scalars(query))

    def put(self, project: str, name: str, value: str) -> Secret:
        """Create or replace a secret; it is encrypted before it is stored."""
        self._projects.get(project)
        ciphertext = self._box.encrypt(value)
        with self._db.session() as session:
            secret = _find(session, project, name)
            if secret is None:
                secret = Secret(project=project, name=name, ciphertext=ciphertext)
                session.add(secret)
            else:
                secret.ciphertext = ciphertext
                secret.updated_at = datetime.now(UTC)
            session.flush()
            return secret

    def delete(self, project: str, name: str) -> None:
        self._projects.get(project)
        with self._db.session() as session:
            secret = _find(session, project, name)
            if secret is None:
                raise NotFound(f"project {project!r} has no secret {name!r}")
            session.delete(secret)

    def values(self, session: Session, project: str, refs: dict[str, str]) -> dict[str, str]:
        """The values of the secrets ``refs`` names (environment variable -> secret name), all
        of them secrets of ``project``; read in the caller's transaction."""
        values: dict[str, str] = {}
        missing: list[str] = []
        for env, name in refs.items():
            secret = _find(session, project, name)
            if secret is None:
                missing.append(f"{env} -> {name}")
                continue
            values[env] = self._box.decrypt(secret.ciphertext)
        if missing:
            message = (
                f"secret(s) {', '.join(missing)} do not exist in project {project!r}: add them "
                f"with PUT /api/projects/{project}/secrets/NAME"
            )
            raise Invalid(message, [{"field": "secrets", "message": message}])
        return values


def _find(session: Session, project: str, name: str) -> Secret | None:
    return session.scalar(select(Secret).where(Secret.project == project, Secret.name == name))
