"""The server's settings: where it keeps its data and the limits it enforces."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from headwater.errors import ConfigError

ADMIN_PASSWORD_ENV = "HEADWATER_ADMIN_PASSWORD"
SECRET_KEY_ENV = "HEADWATER_SECRET_KEY"
SANDBOX_ENV = "HEADWATER_SANDBOX"


@dataclass(frozen=True)
class PlatformSettings:
    """Settings of one platform server.

    ``data_dir`` holds the SQLite database (unless ``database_url`` names another), the Git
    repositories of projects and the secret key file. It is made absolute once, here: replicas
    and previews run in folders of their own, so a path relative to the server's working
    directory would point elsewhere for them.
    """

    data_dir: Path
    database_url: str | None = None
    admin_password: str | None = field(
        default_factory=lambda: os.environ.get(ADMIN_PASSWORD_ENV) or None, repr=False
    )
    secret_key: str | None = field(
        default_factory=lambda: os.environ.get(SECRET_KEY_ENV) or None, repr=False
    )
    max_file_bytes: int = 1_000_000
    max_push_bytes: int = 100_000_000  # one git push, packed
    max_model_bytes: int = 500_000_000  # one uploaded model, or what its archive unpacks to
    session_hours: float = 12.0
    login_attempts: int = 5  # failed logins per user name and address in the window
    login_attempts_per_address: int = 30  # failed logins per address in the window
    login_failures: int = 300  # failed logins in all in the window: a distributed flood
    login_window_seconds: float = 60.0
    secure_cookies: bool = False
    # Where user code runs: auto (bubblewrap when it works here), bubblewrap or none.
    sandbox: str = field(default_factory=lambda: os.environ.get(SANDBOX_ENV) or "auto")

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().resolve())
        for name in (
            "max_file_bytes",
            "max_push_bytes",
            "max_model_bytes",
            "login_attempts",
            "login_attempts_per_address",
            "login_failures",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"PlatformSettings.{name} must be an integer >= 1, got {value!r}")
        for name in ("session_hours", "login_window_seconds"):
            if not getattr(self, name) > 0:
                raise ConfigError(
                    f"PlatformSettings.{name} must be > 0, got {getattr(self, name)!r}"
                )

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the metadata database."""
        return self.database_url or f"sqlite:///{self.data_dir / 'headwater.db'}"

    @property
    def projects_dir(self) -> Path:
        return self.data_dir / "projects"

    @property
    def models_dir(self) -> Path:
        """The model registry's files, a folder per project (not in Git)."""
        return self.data_dir / "models"

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / "secret.key"
