"""Users, passwords, sessions, API tokens and roles."""

from headwater.platform.auth.dependencies import Principal, require, secured
from headwater.platform.auth.roles import Role

__all__ = ["Principal", "Role", "require", "secured"]
