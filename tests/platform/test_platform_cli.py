"""`headwater server` as a user starts it: first admin's password printed once, then served."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from kafka_helpers import wait_until

from headwater.platform.settings import ADMIN_PASSWORD_ENV


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != ADMIN_PASSWORD_ENV}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "headwater.cli",
            "server",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return err


def test_server_command_creates_the_admin_once(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start(tmp_path / "data", port)
    try:
        wait_until(lambda: healthy(url) or process.poll() is not None, timeout=60)
        assert process.poll() is None
    finally:
        first = stop(process)
    match = re.search(r"created user 'admin' with password (\S+)", first)
    assert match, first
    login = {"username": "admin", "password": match.group(1)}

    process = start(tmp_path / "data", port)
    try:
        wait_until(lambda: healthy(url) or process.poll() is not None, timeout=60)
        assert httpx.post(f"{url}/api/auth/login", json=login).status_code == 200
    finally:
        second = stop(process)
    assert "created user" not in second and match.group(1) not in second
    assert oct((tmp_path / "data" / "secret.key").stat().st_mode & 0o777) == "0o600"
    # SQLite is the default store, in the data directory.
    assert (tmp_path / "data" / "headwater.db").is_file()


def test_server_command_refuses_a_bad_database_url(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "headwater.cli",
            "server",
            "--data-dir",
            str(tmp_path),
            "--database-url",
            "mysql://x@y/z",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "only SQLite and PostgreSQL" in result.stderr
