"""The first admin: created at start when no user exists."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from headwater.platform.auth.passwords import hash_password, password_problem
from headwater.platform.auth.roles import Role
from headwater.platform.db.models import User
from headwater.platform.db.session import Database
from headwater.platform.settings import ADMIN_PASSWORD_ENV

ADMIN_NAME = "admin"


def ensure_admin(db: Database, password: str | None) -> str | None:
    """Create user ``admin`` if there is no user; returns a generated password to show once."""
    with db.session() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return None
        generated = None
        if password is None:
            password = generated = secrets.token_urlsafe(12)
        elif (problem := password_problem(password, ADMIN_NAME)) is not None:
            from headwater.errors import ConfigError

            raise ConfigError(f"{ADMIN_PASSWORD_ENV} {problem}")
        session.add(
            User(username=ADMIN_NAME, password_hash=hash_password(password), role=Role.admin)
        )
        return generated
