"""The metadata database: models and sessions (SQLite by default, PostgreSQL by URL)."""

from headwater.platform.db.models import (
    ApiToken,
    Base,
    Cluster,
    LoginSession,
    Project,
    Secret,
    User,
)
from headwater.platform.db.session import Database

__all__ = ["ApiToken", "Base", "Cluster", "Database", "LoginSession", "Project", "Secret", "User"]
