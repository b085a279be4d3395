"""A live platform server per metadata backend (SQLite, PostgreSQL), with one user per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
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


@pytest.fixture(scope="session")
def live_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], LiveServer]]:
    """One server per backend for the whole run of a process, started when first asked for.

    A session fixture with the backend as its parameter would be set up again whenever the
    backend changes between tests, that is twice for each file when the suite runs a file at a
    time in each process."""
    started: dict[str, LiveServer] = {}
    with ExitStack() as stack:

        def server(backend: str) -> LiveServer:
            if backend not in started:
                database_url = (
                    None
                    if backend == "sqlite"
                    else stack.enter_context(postgres_schema_in(POSTGRES_URL, "hw_test"))
                )
                started[backend] = stack.enter_context(
                    _server(tmp_path_factory, backend, database_url)
                )
            return started[backend]

        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, live_servers: Callable[[str], LiveServer]) -> LiveServer:
    """The live server of one backend; each test runs once on each."""
    backend: str = request.param
    return live_servers(backend)


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
