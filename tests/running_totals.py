"""The running-totals app the stateful and exactly-once tests share: per-key counts and sums
kept in a store, the events that feed it and what its output must hold."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer
from integration_helpers import FAST_GROUP, committed_offsets, read_topic, wait_until

from headwater import App

PARTITIONS = 3
STORE = "totals"


def running_totals(value: dict[str, Any], state: Any) -> dict[str, Any]:
    count = state.get("count", 0) + 1
    total = state.get("sum", 0) + value["v"]
    state.set("count", count)
    state.set("sum", total)
    return {"seq": value["seq"], "count": count, "sum": total}


def totals_app(name: str, bootstrap: str, source: str, sink: str, state_dir: Path) -> App:
    app = App(
        name,
        bootstrap,
        consumer_config=FAST_GROUP,
        commit_interval=0.3,
        max_batch_records=500,
        state_dir=state_dir,
    )
    sdf = app.dataframe(app.topic(source, partitions=PARTITIONS))
    sdf.apply(running_totals, stateful=True, store=STORE).to_topic(app.topic(sink))
    return app


def events(count: int, keys: int, seed: int) -> list[tuple[str, int, int]]:
    rng = random.Random(seed)
    return [(f"k{rng.randrange(keys):03d}", seq, rng.randrange(1, 100)) for seq in range(count)]


def produce_events(bootstrap: str, topic: str, records: list[tuple[str, int, int]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for key, seq, value in records:
        producer.produce(topic, orjson.dumps({"seq": seq, "v": value}), key.encode())
    assert producer.flush(30) == 0


def totals_of(records: list[tuple[str, int, int]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for key, _, value in records:
        t = out.setdefault(key, {"count": 0, "sum": 0})
        t["count"] += 1
        t["sum"] += value
    return out


def last_per_key(bootstrap: str, topic: str) -> tuple[int, dict[str, dict[str, int]]]:
    """How many outputs ``topic`` holds and, per key, the totals of its last one."""
    messages = read_topic(bootstrap, topic)
    last: dict[str, dict[str, int]] = {}
    for m in messages:
        value = orjson.loads(m.value())
        last[m.key().decode()] = {"count": value["count"], "sum": value["sum"]}
    return len(messages), last


def wait_committed(bootstrap: str, group: str, topic: str, total: int) -> None:
    """Wait until the group committed every input record (so the checkpoint is complete)."""

    def done() -> bool:
        offsets = committed_offsets(bootstrap, group, topic, PARTITIONS)
        return sum(max(o, 0) for o in offsets.values()) >= total

    wait_until(done, timeout=60, interval=0.2)
