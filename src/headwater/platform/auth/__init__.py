"""Users, passwords, sessions, API tokens and roles."""

from headwater.platform.auth.principal import Principal
from headwater.platform.auth.roles import Role

__all__ = ["Principal", "Role"]
