"""group_by + agg_running live: the repartition topic, and results equal to local and pandas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from aggregation_oracle import AGGS, assert_matches, oracle, random_orders
from confluent_kafka import Consumer, TopicPartition
from integration_helpers import (
    FAST_GROUP,
    produce_records,
    read_topic,
    running,
    wait_for_records,
    wait_until,
)

from headwater import App, agg
from headwater.kafka.admin import TopicAdmin
from headwater.runtime.operators.repartition import murmur2_partition

pytestmark = pytest.mark.broker

BASE_TS = 1_700_000_000_000
RUNNER = Path(__file__).resolve().parents[3] / "src/headwater/runtime/loop/runner.py"
STATE_WIRED = "StateManager" in RUNNER.read_text(encoding="utf-8")


def _app(bootstrap: str, unique: Callable[[str], str], tmp_path: Path, **kwargs: Any) -> App:
    return App(
        unique("agg"),
        bootstrap,
        consumer_config=FAST_GROUP,
        commit_interval=0.5,
        max_batch_records=40,
        state_dir=tmp_path / "state",
        **kwargs,
    )


def _produce(bootstrap: str, topic: str, orders: list[dict[str, Any]]) -> None:
    # Keyed by customer, so each customer's records are in one input partition, in order (Kafka
    # orders records per partition only), yet they move: the repartition key is JSON text.
    produce_records(
        bootstrap,
        topic,
        [
            (o["customer"].encode(), orjson.dumps(o), BASE_TS + i, None)
            for i, o in enumerate(orders)
        ],
    )


def test_group_by_writes_records_to_a_repartition_topic_keyed_by_group(
    bootstrap: str,
    admin: TopicAdmin,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    source = make_topic("orders", partitions=3)
    orders = random_orders(150, seed=11)
    _produce(bootstrap, source, orders)
    app = _app(bootstrap, unique, tmp_path)
    sdf = app.dataframe(app.topic(source))
    sdf.group_by("customer").agg_running(n=agg.count()).to_topic(app.topic(unique("counts")))
    (repartition,) = app.internal_topics

    with running(app):
        records = wait_for_records(bootstrap, repartition, len(orders), timeout=60)

    assert admin.list_topics()[repartition].partitions == 3  # as its input, created at start
    # Records keep their (here 2023) event times: time retention must never delete them.
    assert admin.describe_config(repartition)["retention.ms"] == "-1"
    assert len(records) == len(orders)
    moved = 0
    for record in records:
        value = orjson.loads(record.value())
        assert orjson.loads(record.key()) == value["customer"]
        # The partition Kafka's partitioner picks, which local runs reproduce.
        assert record.partition() == murmur2_partition(record.key(), 3)
        moved += record.partition() != murmur2_partition(value["customer"].encode(), 3)
    assert moved > 0  # some records changed partition
    # Each group's records keep their order (timestamps are the input positions).
    by_group: dict[str, list[int]] = {}
    for record in sorted(records, key=lambda r: (r.partition(), r.offset())):
        by_group.setdefault(record.key().decode(), []).append(record.timestamp()[1])
    assert all(stamps == sorted(stamps) for stamps in by_group.values())


def test_the_committed_part_of_a_repartition_topic_is_purged(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("headwater.runtime.commit.purge.PURGE_INTERVAL", 0.0)  # at every commit
    source = make_topic("orders", partitions=3)
    orders = random_orders(150, seed=13)
    _produce(bootstrap, source, orders)
    app = _app(bootstrap, unique, tmp_path)
    sdf = app.dataframe(app.topic(source))
    sdf.group_by("customer").agg_running(n=agg.count()).to_topic(app.topic(unique("counts")))
    (repartition,) = app.internal_topics
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": app.name})

    def purged() -> bool:
        # Every record was processed, committed, then deleted: each partition starts at its end.
        if repartition not in probe.list_topics(timeout=10).topics:
            return False  # the app has not created it yet
        ends = [probe.get_watermark_offsets(TopicPartition(repartition, p), 10) for p in range(3)]
        return sum(high for _, high in ends) == len(orders) and all(lo == hi for lo, hi in ends)

    try:
        with running(app):
            wait_until(purged, timeout=60, interval=0.2)
    finally:
        probe.close()


@pytest.mark.skipif(not STATE_WIRED, reason="the live runner does not use StateManager yet")
def test_running_aggregates_live_equal_local_and_pandas(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    source = make_topic("orders", partitions=3)
    orders = random_orders(400, seed=12)
    _produce(bootstrap, source, orders)
    out = unique("totals")
    app = _app(bootstrap, unique, tmp_path)
    totals = app.dataframe(app.topic(source)).group_by("customer").agg_running(**AGGS)
    totals.to_topic(app.topic(out))

    with running(app):
        records = wait_for_records(bootstrap, out, len(orders), timeout=90)
    assert len(records) == len(orders)  # nothing twice

    live = pd.DataFrame(
        [
            {**orjson.loads(r.value()), "_key": r.key().decode(), "_timestamp": r.timestamp()[1]}
            for r in records
        ]
    )
    live["_timestamp"] -= BASE_TS
    assert_matches(live, oracle(orders))
    assert (live["_key"] == live["customer"]).all()
    local = totals.test(orders, timestamps=list(range(len(orders))))
    assert_matches(local, oracle(orders))
    assert read_topic(bootstrap, f"{app.name}.dlq") == []
