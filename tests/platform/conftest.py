"""A live platform server per metadata backend (SQLite, PostgreSQL), with one user per role."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from platform_server import ADMIN_PASSWORD, PASSWORD, LiveServer, live_server, postgres_schema_in

from headwater.platform import PlatformSettings

# Tests import these from here.
__all__ = ["PASSWORD", "POSTGRES_URL", "LiveServer"]

POSTGRES_URL = os.environ.get(
    "HEADWATER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A fresh schema in the test database, dropped at the end."""
    with postgres_schema_in(POSTGRES_URL, "hw_test") as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    backend: str = request.param
    database_url = request.getfixturevalue("postgres_schema") if backend == "postgresql" else None
    data_dir: Path = tmp_path_factory.mktemp(f"platform-{backend}")
    settings = PlatformSettings(
        data_dir=data_dir,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        secret_key=None,
        max_file_bytes=10_000,
        login_attempts=3,
        login_window_seconds=60,
    )
    with live_server(settings, backend) as live:
        yield live
