"""A broker running as a child process on 127.0.0.1: start, wait until it serves, stop.

The kinds (Tansu, Apache Kafka) subclass :class:`BrokerProcess`; :mod:`headwater.kafka.broker`
picks one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from headwater.errors import BrokerError

BrokerKind = Literal["tansu", "apache"]
BROKER_KINDS: tuple[BrokerKind, ...] = ("tansu", "apache")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_for_port(
    host: str,
    port: int,
    timeout: float = 15.0,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Block until ``host:port`` accepts TCP connections, or raise after ``timeout`` seconds
    (at once if ``process``, the one expected to listen, has exited)."""
    deadline = time.monotonic() + timeout
    while not port_accepts(host, port):
        if process is not None and process.poll() is not None:
            raise BrokerError(f"the broker exited with code {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise BrokerError(f"nothing accepts connections on {host}:{port}")
        time.sleep(0.05)


class BrokerProcess:
    """A broker run as a child process in its own session; subclasses say how to start it."""

    kind: BrokerKind

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def prepare(self) -> None:
        """Work before the process starts (configuration, storage); nothing by default."""

    def cleanup(self) -> None:
        """Work after the process stopped (temporary storage); nothing by default."""

    def start(self, timeout: float = 30.0) -> Self:
        if self._process is not None:
            return self
        if port_accepts(self.host, self.port):
            raise BrokerError(
                f"port {self.port} is already in use; pick another with --port or stop what uses it"
            )
        self.prepare()
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                start_new_session=True,
            )
        finally:
            if self.log_path:
                log.close()  # type: ignore[union-attr]  # the child holds its own copy
        try:
            wait_for_port(self.host, self.port, timeout, self._process)
        except BrokerError as exc:
            self.stop()
            where = f"; see {self.log_path}" if self.log_path else ""
            raise BrokerError(f"the {self.kind} broker did not start: {exc}{where}") from None
        return self

    def stop(self, timeout: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.cleanup()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def wait(self) -> int:
        """Wait in the foreground until the broker exits (the CLI's ``headwater broker``)."""
        assert self._process is not None, "start() the broker first"
        return self._process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
