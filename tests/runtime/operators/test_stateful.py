"""Stateful apps live: per-key running totals, checkpoints, restarts, recovery from changelogs."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from integration_helpers import (
    FAST_GROUP,
    committed_offsets,
    running,
    wait_until,
)
from running_totals import (
    PARTITIONS,
    STORE,
    events,
    last_per_key,
    produce_events,
    running_totals,
    totals_app,
    totals_of,
    wait_committed,
)

from headwater import App, Topic
from headwater.cli import main
from headwater.kafka.admin import TopicAdmin
from headwater.state import changelog_topic, read_key
from headwater.state.encoding import encode_key, encode_value, entry_key

pytestmark = pytest.mark.broker


def test_running_totals_live_and_inspected(
    bootstrap: str,
    admin: TopicAdmin,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, sink, name = make_topic("clicks", PARTITIONS), unique("totals"), unique("app")
    records = events(3_000, keys=40, seed=1)
    produce_events(bootstrap, source, records)
    expected = totals_of(records)

    with running(totals_app(name, bootstrap, source, sink, tmp_path / "state")):
        wait_committed(bootstrap, name, source, len(records))
        count, last = last_per_key(bootstrap, sink)
        # Inspected while the app runs: the changelog holds the last checkpoint.
        for key in ("k000", "k017", "k039"):
            assert read_key(name, STORE, key, settings=bootstrap) == expected[key]

    assert count == len(records)  # a clean run: every update once
    assert last == expected
    # The changelog is partitioned like the input.
    assert admin.list_topics()[changelog_topic(name, STORE)].partitions == PARTITIONS
    capsys.readouterr()
    assert main(["state", "get", name, STORE, "k005", "--broker", bootstrap]) == 0
    assert orjson.loads(capsys.readouterr().out) == expected["k005"]
    assert main(["state", "get", name, STORE, "nobody", "--broker", bootstrap]) == 0
    assert orjson.loads(capsys.readouterr().out) == {}


def test_state_survives_a_restart_and_a_lost_state_dir(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    source, sink, name = make_topic("clicks", PARTITIONS), unique("totals"), unique("app")
    state_dir = tmp_path / "state"
    records = events(3_000, keys=30, seed=2)
    thirds = [records[:1_000], records[1_000:2_000], records[2_000:]]
    done = 0
    for phase, part in enumerate(thirds):
        if phase == 2:
            # The disk is lost: every store is rebuilt from its changelog.
            shutil.rmtree(state_dir)
        produce_events(bootstrap, source, part)
        done += len(part)
        with running(totals_app(name, bootstrap, source, sink, state_dir)):
            wait_committed(bootstrap, name, source, done)
        count, last = last_per_key(bootstrap, sink)
        assert count == done, f"phase {phase}: {count} outputs for {done} inputs"
        assert last == totals_of(records[:done]), f"phase {phase}: wrong totals"
    assert (state_dir / name / STORE).is_dir()


class _Timeline(logging.Handler):
    """Remembers when each store finished recovering, from the recovery log."""

    def __init__(self) -> None:
        super().__init__()
        self.recovered: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("recovered store"):
            self.recovered[message.split(" for ")[1].split(":")[0]] = time.monotonic()


def test_recovery_does_not_block_ready_partitions(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    source, sink, name = make_topic("clicks", 2), unique("totals"), unique("app")
    app = App(name, bootstrap, consumer_config=FAST_GROUP, commit_interval=0.3, state_dir=tmp_path)
    processed: dict[str, float] = {}
    lock = threading.Lock()

    def totals(value: dict[str, Any], state: Any) -> dict[str, Any]:
        with lock:
            processed.setdefault(value["who"], time.monotonic())
        return running_totals(value, state)

    sdf = app.dataframe(app.topic(source, partitions=2))
    sdf.apply(totals, stateful=True, store=STORE).to_topic(app.topic(sink))

    # A big history for partition 0's store, as an earlier run would have left it.
    TopicAdmin(app.settings).create([Topic(changelog_topic(name, STORE), partitions=2)])
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    history = 400_000  # replays for over a second: long enough to see partition 1 go first
    for i in range(history):
        entry = entry_key(encode_key(f"old{i}"), "count")
        while True:
            try:
                producer.produce(
                    changelog_topic(name, STORE), encode_value(1, "count"), entry, partition=0
                )
                break
            except BufferError:
                producer.poll(0.05)
    for entry_name, number in (("count", 41), ("sum", 410)):
        entry = entry_key(encode_key("a"), entry_name)
        producer.produce(
            changelog_topic(name, STORE), encode_value(number, entry_name), entry, partition=0
        )
    assert producer.flush(60) == 0
    inputs = Producer({"bootstrap.servers": bootstrap})
    for partition, key in ((0, "a"), (1, "b")):
        payload = orjson.dumps({"seq": partition, "v": 10, "who": key})
        inputs.produce(source, payload, key.encode(), partition=partition)
    assert inputs.flush(30) == 0

    timeline = _Timeline()
    recovery_log = logging.getLogger("headwater.state.recovery")
    recovery_log.addHandler(timeline)
    previous = recovery_log.level
    recovery_log.setLevel(logging.INFO)
    try:
        with running(app):
            wait_until(lambda: len(processed) == 2, timeout=60)
            wait_committed_two = lambda: sum(  # noqa: E731
                max(o, 0) for o in committed_offsets(bootstrap, name, source, 2).values()
            )
            wait_until(lambda: wait_committed_two() == 2, timeout=30)
    finally:
        recovery_log.removeHandler(timeline)
        recovery_log.setLevel(previous)

    recovered_p0 = timeline.recovered[f"{source}[0]"]
    # Partition 1 (nothing to replay) was processed while partition 0 was still replaying...
    assert processed["b"] < recovered_p0
    # ...and partition 0 only after its store was complete, continuing its history.
    assert processed["a"] > recovered_p0
    _, last = last_per_key(bootstrap, sink)
    assert last == {"a": {"count": 42, "sum": 420}, "b": {"count": 1, "sum": 10}}
