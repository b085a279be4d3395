"""A cluster that does not answer fills no log: librdkafka's lines of the server's clients go
through the platform's log, each distinct line once a minute at most."""

from __future__ import annotations

import logging
import time
import uuid

import pytest

from headwater.errors import BrokerError
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings
from headwater.platform.kafka_log import KAFKA_LOG, RepeatFilter
from headwater.platform.topics import ClusterView


def _record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(KAFKA_LOG.name, level, __file__, 1, message, None, None)


def _line(client: str, broker: str, after: int, client_id: str = "rdkafka") -> str:
    return (
        f"FAIL [{client_id}#{client}] [thrd:{broker}/bootstrap]: {broker}/bootstrap: Connect to "
        f"{broker} failed: Connection refused (after {after}ms in state CONNECT)"
    )


def test_a_repeated_line_passes_once_a_minute_with_the_count_of_those_left_out() -> None:
    now = [0.0]
    repeats = RepeatFilter(seconds=60, clock=lambda: now[0], shapes=3)
    assert repeats.filter(_record(_line("producer-1", "a:9092", 0)))
    # The same problem from other clients, at other timings: left out for a minute.
    passed = []
    for step in range(1, 1200):  # 20 a second for a minute
        now[0] = step * 0.05
        client_id = "rdkafka" if step % 2 else "a-client.id"  # as a cluster's options may set
        line = _line(f"producer-{step % 7}", "a:9092", step % 3, client_id)
        passed.append(repeats.filter(_record(line)))
    assert not any(passed)
    # Another broker, or another level, is another line.
    assert repeats.filter(_record(_line("producer-1", "b:9092", 0)))
    assert repeats.filter(_record(_line("producer-1", "a:9092", 0), logging.WARNING))
    now[0] = 60.0
    summary = _record(_line("producer-9", "a:9092", 0))
    assert repeats.filter(summary)
    assert summary.getMessage().endswith("(and 1199 more like it in the last 60 s)")
    assert not repeats.filter(_record(_line("producer-9", "a:9092", 0)))
    # Memory is bounded: the least recently passed line is forgotten first.
    for broker in ("c:1", "d:1", "e:1"):
        assert repeats.filter(_record(_line("producer-1", broker, 0)))
    assert repeats.filter(_record(_line("producer-1", "a:9092", 0)))


def test_clients_of_an_unreachable_cluster_log_through_the_platform_once(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    # A name of its own: the filter is the server's, other tests may have passed other lines.
    host = f"no-such-host-{uuid.uuid4().hex[:8]}.invalid:9092"
    settings = KafkaSettings(host)
    caplog.set_level(logging.INFO, logger=KAFKA_LOG.name)
    started = time.monotonic()
    for _ in range(3):  # as the metrics sampler does, with a new client each time
        with pytest.raises(BrokerError):
            ClusterView(settings, timeout=1.0).partitions()
    with pytest.raises(BrokerError):
        TopicAdmin(settings, timeout=1.0, logger=KAFKA_LOG).list_topics()
    elapsed = time.monotonic() - started
    assert elapsed >= 4.0  # four seconds of failing connections: about 80 lines from librdkafka
    lines = [r.getMessage() for r in caplog.records if r.name == KAFKA_LOG.name]
    assert 1 <= len(lines) <= 2, lines  # the failure is still told, once (per kind of failure)
    assert all(host.split(":")[0] in line for line in lines), lines
    assert "%3|" not in capfd.readouterr().err  # nothing of it written to stderr directly
