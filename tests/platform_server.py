"""A live platform server on a free port, with one user and API token per role.

Shared by the platform API tests and the browser tests (imported as a helper module, like
kafka_helpers, so no test imports a conftest).
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI
from kafka_helpers import wait_until
from sqlalchemy import create_engine, text

from headwater.platform import PlatformSettings, create_app
from headwater.platform.context import PlatformContext
from headwater.platform.db.session import normalize_url
from headwater.platform.server import MAX_REQUEST_HEAD_BYTES

# The tests' PostgreSQL database; each server gets a schema of its own in it.


@contextmanager
def postgres_schema_in(url: str, prefix: str) -> Iterator[str]:
    """A schema of its own in the database at ``url``, dropped at the end: yields the URL
    that makes it the search path."""
    base = url.split("?")[0]
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(normalize_url(base))
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "password-for-tests"
ROLES = ("admin", "editor", "viewer")


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


def username(role: str) -> str:
    """The user name of the test user with ``role`` (the first admin is ``admin``)."""
    return "admin" if role == "admin" else f"{role}-user"


def start_server(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # As the platform serves: X-Forwarded-For is not believed (see server.serve).
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,
            h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=30)
    return server, thread, f"http://127.0.0.1:{port}"


def _add_users_and_tokens(live: LiveServer) -> None:
    admin, csrf = live.login("admin", ADMIN_PASSWORD)
    for role in ("editor", "viewer"):
        created = admin.post(
            "/api/users",
            json={"username": username(role), "password": PASSWORD, "role": role},
            headers={"X-CSRF-Token": csrf},
        )
        assert created.status_code == 201, created.text
    for role in ROLES:
        client, client_csrf = (
            (admin, csrf) if role == "admin" else live.login(username(role), PASSWORD)
        )
        made = client.post(
            "/api/tokens", json={"name": "tests"}, headers={"X-CSRF-Token": client_csrf}
        )
        assert made.status_code == 201, made.text
        live.tokens[role] = made.json()["token"]
        client.close()


@contextmanager
def live_server(settings: PlatformSettings, backend: str) -> Iterator[LiveServer]:
    """Serve ``create_app(settings)`` until the block ends; the admin's password must be
    ``ADMIN_PASSWORD``."""
    app = create_app(settings)
    server, thread, url = start_server(app)
    live = LiveServer(url, app, backend, {})
    try:
        _add_users_and_tokens(live)
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=30)
