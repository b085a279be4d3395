"""The co-partitioned table (``app.table``) and its stream-table join: locally, and live through
the broker with inserts, updates and tombstones, and a restart on a new machine (no local
state) that restores the table from its changelog."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from integration_helpers import FAST_GROUP, produce_records, read_topic, running
from kafka_helpers import wait_until

from headwater import App, ConfigError


def _app(name: str, cards: str, payments: str, out: str, partitions: int, **kw: Any) -> App:
    app = App(name, **kw)
    table = app.table(app.topic(cards, partitions=partitions), name="cards")
    stream = app.dataframe(app.topic(payments, partitions=partitions))
    stream.join_table(table, prefix="card_").to_topic(app.topic(out))
    return app


def test_records_meet_their_keys_current_row_and_tombstones_delete() -> None:
    app = _app("pay", "cards", "payments", "out", partitions=2)
    result = app.run_local(
        {
            "cards": (
                [{"limit": 500}, {"limit": 80}, {"limit": 90, "tier": "gold"}, None],
                ["c1", "c2", "c2", "c1"],  # c2 updated, c1 deleted
                None,
            ),
            "payments": (
                [{"amount": 1.0}, {"amount": 2.0}, {"amount": 3.0}],
                ["c1", "c2", "c3"],
                None,
            ),
        }
    )
    out = result.outputs["out"]
    assert out["_key"].tolist() == ["c1", "c2", "c3"]
    assert out["card_limit"].fillna(-1).tolist() == [-1, 90, -1]
    assert out["card_tier"].tolist()[1] == "gold"
    assert result.dead_letters.empty  # a tombstone is a deletion, not a failed record


def test_the_table_and_the_stream_must_be_co_partitioned() -> None:
    app = App("pay")
    table = app.table(app.topic("cards", partitions=3))
    stream = app.dataframe(app.topic("payments", partitions=2))
    with pytest.raises(ConfigError, match="'payments' has 2 partitions and topic 'cards' has 3"):
        stream.join_table(table)


def test_a_table_is_a_two_input_step_with_its_own_store() -> None:
    plan = _app("pay", "cards", "payments", "out", partitions=2).topology()
    steps = {s["id"]: s for s in plan["steps"]}
    join = next(s for s in plan["steps"] if s["kind"] == "join_table")
    stream, table = (steps[i] for i in join["inputs"])
    assert (stream["params"]["topic"], table["params"]["topic"]) == ("payments", "cards")
    assert table["params"]["table"] is True  # its tombstones are deletions
    assert plan["stores"] == {"cards-table": "cards"}


def _send(bootstrap: str, topic: str, rows: list[tuple[str, Any]]) -> None:
    produce_records(
        bootstrap,
        topic,
        [(k.encode(), None if v is None else orjson.dumps(v), None, None) for k, v in rows],
    )


def _joined(bootstrap: str, out: str, ids: range) -> dict[int, Any] | None:
    """Each payment of ``ids`` with the limit it met, once every one of them is out."""
    found = {}
    for message in read_topic(bootstrap, out):
        record = orjson.loads(message.value())
        if record["id"] in ids:
            found[record["id"]] = record.get("card_limit")
    return found if len(found) == len(ids) else None


@pytest.mark.broker
def test_live_inserts_updates_tombstones_and_a_restart_that_restores_the_table(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    partitions = 3
    cards = make_topic("cards", partitions=partitions, **{"cleanup.policy": "compact"})
    payments = make_topic("payments", partitions=partitions)
    out = unique("enriched")
    name = unique("copartitioned")
    rng = random.Random(14)
    keys = [f"card-{i}" for i in range(30)]
    table: dict[str, Any] = {}
    history: list[tuple[str, Any]] = []
    for i in range(200):  # inserts, updates and tombstones
        card = rng.choice(keys)
        row = None if rng.random() < 0.2 else {"limit": rng.randrange(1000), "v": i}
        table[card] = row
        history.append((card, row))
    _send(bootstrap, cards, history)

    def limits() -> dict[str, Any]:
        return {k: None if table.get(k) is None else table[k]["limit"] for k in keys}

    def build(state: str) -> App:
        return _app(
            name,
            cards,
            payments,
            out,
            partitions,
            broker=bootstrap,
            consumer_config=FAST_GROUP,
            commit_interval=0.5,
            max_batch_records=23,
            state_dir=tmp_path / state,
        )

    next_id = 0

    def probe() -> dict[str, Any] | None:
        """One payment per card; each card's limit as the join found it, once all are out."""
        nonlocal next_id
        ids = range(next_id, next_id + len(keys))
        next_id += len(keys)
        _send(
            bootstrap, payments, [(k, {"id": i, "card": k}) for i, k in zip(ids, keys, strict=True)]
        )
        found = wait_until(lambda: _joined(bootstrap, out, ids), timeout=60, interval=0.3)
        return {k: found[i] for i, k in zip(ids, keys, strict=True)}

    with running(build("first")):
        # Processing time: a payment meets the rows applied when it is processed, so probe
        # until every card's final row is there, then every later payment meets exactly it.
        wait_until(lambda: probe() == limits(), timeout=90, interval=0)
        assert probe() == limits()
        # Updates and tombstones while running.
        changes = [("card-1", {"limit": 7}), ("card-2", None), ("card-3", {"limit": 11})]
        changes += [(k, None) for k in keys[20:25]]
        _send(bootstrap, cards, changes)
        table.update(changes)
        wait_until(lambda: probe() == limits(), timeout=60, interval=0)

    # A new machine: no local state, and the table's topic committed to its end, so the rows
    # can only come back from the table store's changelog.
    with running(build("second")):
        assert probe() == limits()


def test_time_below_the_join_follows_the_stream_not_the_table() -> None:
    """A table's records carry no event time the join waits for: a window after the join
    closes with the stream's watermark even while the table is silent (the table's only
    record is far older), so a stream record behind it is late."""
    from headwater import agg, windows

    minute = 60_000
    app = App("pay", max_batch_records=1)
    table = app.table(app.topic("cards"))
    stream = app.dataframe(app.topic("payments", timestamp="ts")).with_watermarks("0s")
    joined = stream.join_table(table, prefix="card_")
    per_minute = joined.group_by("card", name="per-card", repartition=False).window(
        windows.tumbling("1m")
    )
    per_minute.agg(n=agg.count()).to_topic(app.topic("out"))
    pay = [{"card": "c1", "ts": 0}, {"card": "c1", "ts": 2 * minute}, {"card": "c1", "ts": 10}]
    result = app.run_local(
        {
            "cards": ([{"limit": 1}], ["c1"], [0]),
            "payments": (pay, ["c1", "c1", "c1"], None),
        }
    )
    first = result.outputs["out"].sort_values("window_start")["n"].tolist()[0]
    assert first == 1  # the record at 10 ms came after the window [0, 1m) closed
