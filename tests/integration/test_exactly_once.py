"""Exactly-once live: read_committed outputs are exact across restarts, aborts and fencing."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from integration_helpers import FAST_GROUP, AppThread, running
from kafka_helpers import read_all
from test_stateful import (
    PARTITIONS,
    STORE,
    events,
    produce_events,
    running_totals,
    totals_of,
    wait_committed,
)

from headwater import App, Topic
from headwater.errors import BrokerError
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings
from headwater.runtime.transaction import TransactionalCheckpoint
from headwater.state import read_key

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


def broker_hides_aborted_records(bootstrap: str) -> bool:
    """Whether an aborted transaction's delivered records are invisible to read_committed."""
    topic = f"abort-probe-{uuid.uuid4().hex[:8]}"
    TopicAdmin(KafkaSettings(bootstrap)).create([Topic(topic)])
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": topic})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, b"aborted")
    assert producer.flush(30) == 0
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, b"committed")
    producer.commit_transaction(30)
    seen = read_all(bootstrap, [topic], **{"isolation.level": "read_committed"})
    return [m.value() for m in seen] == [b"committed"]


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
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, sink, name = make_topic("clicks", PARTITIONS), unique("totals"), unique("app")
    records = events(2_000, keys=20, seed=4)
    produce_events(bootstrap, source, records)
    real_commit = TransactionalCheckpoint._commit_transaction
    injected: list[int] = []

    def failing_commit(self: TransactionalCheckpoint) -> None:
        # The first two transactions that hold records fail as a broker would fail them
        # (e.g. a delivery error): abortable. Their outputs and changelog records were sent.
        if len(injected) < 2 and self._pending:
            injected.append(len(self._pending))
            raise KafkaException(
                KafkaError(KafkaError._STATE, "injected failure", txn_requires_abort=True)
            )
        real_commit(self)

    monkeypatch.setattr(TransactionalCheckpoint, "_commit_transaction", failing_commit)
    with running(eos_app(name, bootstrap, source, sink, tmp_path / "state")):
        wait_committed(bootstrap, name, source, len(records))
    assert len(injected) == 2
    got, want = committed_updates(bootstrap, sink), expected_updates(records)
    if broker_hides_aborted_records(bootstrap):
        assert got == want
    else:
        # Tansu 0.6 shows aborted records that reached it to read_committed readers. The
        # aborted copies are then exact replicas (same seq, count and sum): nothing is wrong
        # or missing, and each key's last update is right.
        assert {k: sorted(set(u)) for k, u in got.items()} == want
        assert {k: u[-1] for k, u in got.items()} == {k: u[-1] for k, u in want.items()}
    assert read_key(name, STORE, "k003", settings=bootstrap) == totals_of(records)["k003"]


def test_a_fenced_instance_stops_with_a_clear_error(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    source, sink, name = make_topic("clicks", PARTITIONS), unique("totals"), unique("app")
    produce_events(bootstrap, source, events(200, keys=5, seed=5))
    app = eos_app(name, bootstrap, source, sink, tmp_path / "state")
    thread = AppThread(app).start()
    wait_committed(bootstrap, name, source, 200)
    txn_id = (tmp_path / "state" / name / "transactional.id").read_text().strip()
    # A newer producer with the same transactional.id: the running instance is a zombie now.
    usurper = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id})
    usurper.init_transactions(30)
    produce_events(bootstrap, source, events(50, keys=5, seed=6))
    try:
        thread.join(timeout=30)
    finally:
        thread.stop()
    assert isinstance(thread.error, BrokerError)
    assert "fenced" in str(thread.error)
