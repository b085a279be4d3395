"""A live platform server per metadata backend (SQLite, PostgreSQL), with one user per role."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from kafka_helpers import wait_until
from sqlalchemy import create_engine, text

from headwater.platform import PlatformSettings, create_app
from headwater.platform.context import PlatformContext
from headwater.platform.db.session import normalize_url

POSTGRES_URL = os.environ.get(
    "HEADWATER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "password-for-tests"


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    backend: str
    tokens: dict[str, str]  # role -> API token of a user with that role

    @property
    def context(self) -> PlatformContext:
        context: PlatformContext = self.app.state.platform
        return context

    def client(self, role: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def login(self, username: str, password: str) -> tuple[httpx.Client, str]:
        """A client holding a session cookie, and the session's CSRF token."""
        client = httpx.Client(base_url=self.url, timeout=30)
        response = client.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return client, response.json()["csrf_token"]


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A fresh schema in the test database, dropped at the end."""
    schema = f"hw_test_{uuid.uuid4().hex[:8]}"
    engine = create_engine(normalize_url(POSTGRES_URL))
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def _start(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=30)
    return server, thread, f"http://127.0.0.1:{port}"


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
    app = create_app(settings)
    server, thread, url = _start(app)
    live = LiveServer(url, app, backend, {})
    try:
        admin, csrf = live.login("admin", ADMIN_PASSWORD)
        for role in ("editor", "viewer"):
            created = admin.post(
                "/api/users",
                json={"username": f"{role}-user", "password": PASSWORD, "role": role},
                headers={"X-CSRF-Token": csrf},
            )
            assert created.status_code == 201, created.text
        for role in ("admin", "editor", "viewer"):
            client, client_csrf = (
                (admin, csrf) if role == "admin" else live.login(f"{role}-user", PASSWORD)
            )
            made = client.post(
                "/api/tokens", json={"name": "tests"}, headers={"X-CSRF-Token": client_csrf}
            )
            assert made.status_code == 201, made.text
            live.tokens[role] = made.json()["token"]
            client.close()
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=30)
