"""Exactly-once live: read_committed outputs are exact across restarts, aborts and fencing."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from integration_helpers import FAST_GROUP, AppThread, fail_commits, running
from kafka_helpers import read_all, skip_on_tansu
from running_totals import (
    PARTITIONS,
    STORE,
    events,
    produce_events,
    running_totals,
    totals_of,
    wait_committed,
)

from headwater import App
from headwater.errors import BrokerError
from headwater.runtime.commit.transaction import TransactionalCheckpoint
from headwater.runtime.loop.emitter import KafkaEmitter
from headwater.state import read_key

TRANSACTION_LOG = "headwater.runtime.commit.transaction"

pytestmark = pytest.mark.broker

Updates = dict[str, list[tuple[int, int, int]]]


def eos_app(name: str, bootstrap: str, source: str, sink: str, state_dir: Path) -> App:
    app = App(
        name,
        bootstrap,
        guarantee="exactly-once",
        consumer_config=FAST_GROUP,
        commit_interval=0.3,
        max_batch_records=500,
        state_dir=state_dir,
    )
    sdf = app.dataframe(app.topic(source, partitions=PARTITIONS))
    sdf.apply(running_totals, stateful=True, store=STORE).to_topic(app.topic(sink))
    return app


def expected_updates(records: list[tuple[str, int, int]]) -> Updates:
    """Per key, in order: (seq, count, sum) of every update a correct app writes."""
    out: Updates = defaultdict(list)
    totals: dict[str, tuple[int, int]] = {}
    for key, seq, value in records:
        count, total = totals.get(key, (0, 0))
        totals[key] = (count + 1, total + value)
        out[key].append((seq, count + 1, total + value))
    return dict(out)


def committed_updates(bootstrap: str, topic: str) -> Updates:
    out: Updates = defaultdict(list)
    for m in read_all(bootstrap, [topic], **{"isolation.level": "read_committed"}):
        value = orjson.loads(m.value())
        out[m.key().decode()].append((value["seq"], value["count"], value["sum"]))
    return dict(out)


def test_exact_across_a_restart(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    source, sink, name = make_topic("clicks", PARTITIONS), unique("totals"), unique("app")
    records = events(3_000, keys=30, seed=3)
    for done in (1_500, 3_000):
        produce_events(bootstrap, source, records[done - 1_500 : done])
        with running(eos_app(name, bootstrap, source, sink, tmp_path / "state")):
            wait_committed(bootstrap, name, source, done)
        assert committed_updates(bootstrap, sink) == expected_updates(records[:done])
    assert read_key(name, STORE, "k007", settings=bootstrap) == totals_of(records)["k007"]
    # The instance kept its transactional.id for the restart (fencing its earlier self).
    assert (tmp_path / "state" / name / "transactional.id").read_text().startswith(name)


def test_aborted_transactions_leave_no_duplicates(
    bootstrap: str,
    broker_kind: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    skip_on_tansu(broker_kind, "shows aborted transactions' records to read_committed readers")
    source, sink, name = make_topic("clicks", PARTITIONS), unique("totals"), unique("app")
    records = events(2_000, keys=20, seed=4)
    produce_events(bootstrap, source, records)
    # The first two transactions that hold records fail.
    injected = fail_commits(monkeypatch, lambda c: len(injected) < 2 and bool(c._pending))
    with running(eos_app(name, bootstrap, source, sink, tmp_path / "state")):
        wait_committed(bootstrap, name, source, len(records))
    assert len(injected) == 2
    got, want = committed_updates(bootstrap, sink), expected_updates(records)
    assert got == want
    assert read_key(name, STORE, "k003", settings=bootstrap) == totals_of(records)["k003"]


def test_a_producer_fenced_once_is_replaced_and_the_output_stays_exact(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source, sink, name = make_topic("clicks", PARTITIONS), unique("totals"), unique("app")
    first, second = events(200, keys=5, seed=5), events(50, keys=5, seed=6)
    second = [(k, seq + 200, v) for k, seq, v in second]
    produce_events(bootstrap, source, first)
    app = eos_app(name, bootstrap, source, sink, tmp_path / "state")
    with (
        caplog.at_level(logging.WARNING, logger=TRANSACTION_LOG),
        running(app),
    ):
        wait_committed(bootstrap, name, source, 200)
        txn_id = (tmp_path / "state" / name / "transactional.id").read_text().strip()
        # Another producer registers the app's transactional.id: the app's epoch is over.
        usurper = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id})
        usurper.init_transactions(30)
        produce_events(bootstrap, source, second)
        wait_committed(bootstrap, name, source, 250)
    assert any("was fenced" in r.getMessage() for r in caplog.records)
    assert committed_updates(bootstrap, sink) == expected_updates(first + second)


def test_a_producer_that_refuses_to_produce_after_an_abort_is_replaced(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # After an abort that needs a new epoch, librdkafka may answer produce() with _STATE
    # while it registers that epoch: the app replaces the producer instead of stopping.
    source, sink, name = make_topic("clicks", PARTITIONS), unique("totals"), unique("app")
    first, second = events(200, keys=5, seed=7), events(50, keys=5, seed=8)
    second = [(k, seq + 200, v) for k, seq, v in second]
    produce_events(bootstrap, source, first)
    real_emit = KafkaEmitter.emit
    refused: list[int] = []

    def refusing_emit(self: KafkaEmitter, *args: Any, **kwargs: Any) -> Any:
        if armed and not refused:
            refused.append(1)
            raise KafkaException(KafkaError(KafkaError._STATE, "Erroneous state"))
        return real_emit(self, *args, **kwargs)

    armed = False
    monkeypatch.setattr(KafkaEmitter, "emit", refusing_emit)
    app = eos_app(name, bootstrap, source, sink, tmp_path / "state")
    with (
        caplog.at_level(logging.WARNING, logger=TRANSACTION_LOG),
        running(app),
    ):
        wait_committed(bootstrap, name, source, 200)
        armed = True
        produce_events(bootstrap, source, second)
        wait_committed(bootstrap, name, source, 250)
    assert refused == [1]
    assert any("left unusable" in r.getMessage() for r in caplog.records)
    assert committed_updates(bootstrap, sink) == expected_updates(first + second)


def test_an_instance_fenced_again_and_again_stops_with_a_clear_error(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Fenced more often than MAX_FENCES a minute means another instance shares the id; with
    # MAX_FENCES at 0 the first fence is one too many.
    monkeypatch.setattr("headwater.runtime.commit.transaction.MAX_FENCES", 0)
    source, sink, name = make_topic("clicks", PARTITIONS), unique("totals"), unique("app")
    produce_events(bootstrap, source, events(200, keys=5, seed=5))
    app = eos_app(name, bootstrap, source, sink, tmp_path / "state")
    thread = AppThread(app).start()
    wait_committed(bootstrap, name, source, 200)
    txn_id = (tmp_path / "state" / name / "transactional.id").read_text().strip()
    usurper = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id})
    usurper.init_transactions(30)
    produce_events(bootstrap, source, events(50, keys=5, seed=6))
    try:
        thread.join(timeout=30)
    finally:
        thread.stop()
    assert isinstance(thread.error, BrokerError)
    assert "fenced" in str(thread.error) and "own state_dir" in str(thread.error)


def test_a_transaction_that_outlives_its_timeout_is_aborted_and_the_app_recovers(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, sink, name = make_topic("clicks", PARTITIONS), unique("totals"), unique("app")
    records = events(3_000, keys=30, seed=8)
    produce_events(bootstrap, source, records)
    app = App(
        name,
        bootstrap,
        guarantee="exactly-once",
        consumer_config=FAST_GROUP,
        # The broker aborts a transaction open longer than this (its check runs every second
        # on the test broker).
        producer_config={"transaction.timeout.ms": 2_000},
        commit_interval=0.3,
        max_batch_records=200,
        state_dir=tmp_path / "state",
    )
    sdf = app.dataframe(app.topic(source, partitions=PARTITIONS))
    sdf.apply(running_totals, stateful=True, store=STORE).to_topic(app.topic(sink))
    real_commit = TransactionalCheckpoint.commit
    hung: list[int] = []

    def commit_after_a_hang(self: TransactionalCheckpoint) -> None:
        # Once, with outputs of 1,000 inputs in the open transaction, the app hangs longer
        # than the transaction's timeout plus the broker's check (waiting on the broker's abort
        # is the point here, not a wait for an effect).
        if not hung and self._open and sum(self._pending.values()) >= 1_000:
            hung.append(sum(self._pending.values()))
            time.sleep(5)
        real_commit(self)

    monkeypatch.setattr(TransactionalCheckpoint, "commit", commit_after_a_hang)
    with (
        caplog.at_level(logging.WARNING, logger=TRANSACTION_LOG),
        running(app),
    ):
        wait_committed(bootstrap, name, source, len(records))
    assert hung, "the app never hung: nothing was tested"
    assert any("was fenced" in r.getMessage() for r in caplog.records)
    assert committed_updates(bootstrap, sink) == expected_updates(records)
    assert read_key(name, STORE, "k007", settings=bootstrap) == totals_of(records)["k007"]
