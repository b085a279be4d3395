"""A live platform server per metadata backend (SQLite, PostgreSQL), with one user per role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from platform_server import (
    ADMIN_PASSWORD,
    LiveServer,
    live_server,
    postgres_schema_in,
)
from service_helpers import POSTGRES_URL

from headwater.platform import PlatformSettings


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    backend: str = request.param
    if backend == "sqlite":
        with _server(tmp_path_factory, backend, None) as live:
            yield live
        return
    # A schema per server: pytest may set a parametrized session fixture up more than once.
    with (
        postgres_schema_in(POSTGRES_URL, "hw_test") as database_url,
        _server(tmp_path_factory, backend, database_url) as live,
    ):
        yield live


@contextmanager
def _server(
    tmp_path_factory: pytest.TempPathFactory, backend: str, database_url: str | None
) -> Iterator[LiveServer]:
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
