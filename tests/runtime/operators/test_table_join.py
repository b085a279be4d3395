"""The stream-table join against a global table: locally, and live through the broker, where
the table is read whole before the stream and keeps updating, and a restart reads only what
its local copy has not seen."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from integration_helpers import (
    FAST_GROUP,
    AppThread,
    produce_records,
    read_topic,
    running,
    wait_for_records,
)
from kafka_helpers import wait_until

from headwater import App, ConfigError
from headwater.state.global_table import GlobalTableStore


def _app(name: str, cards: str, payments: str, out: str, how: str = "left", **kw: Any) -> App:
    app = App(name, **kw)
    table = app.global_table(app.topic(cards), name="cards")
    stream = app.dataframe(app.topic(payments))
    joined = stream.join_table(table, on="card", prefix="card_", how=how)  # type: ignore[arg-type]
    joined.to_topic(app.topic(out))
    return app


def test_each_record_meets_its_keys_current_row_and_tombstones_delete() -> None:
    app = _app("pay", "cards", "payments", "out")
    table = [{"limit": 500, "country": "DE"}, {"limit": 80}, {"limit": 90}, None]
    result = app.run_local(
        {
            "cards": (table, ["c1", "c2", "c2", "c1"], None),  # c2 updated, c1 deleted
            "payments": (
                [{"card": "c1", "amount": 1.0}, {"card": "c2", "amount": 2.0}, {"amount": 3.0}],
                None,
                None,
            ),
        }
    )
    out = result.outputs["out"]
    assert out["amount"].tolist() == [1.0, 2.0, 3.0]
    assert out["card_limit"].tolist()[1] == 90
    assert pd.isna(out["card_limit"].tolist()[0]) and pd.isna(out["card_limit"].tolist()[2])
    assert result.dead_letters.empty

    inner = _app("pay", "cards", "payments", "out", how="inner")
    got = inner.run_local(
        {
            "cards": ([{"limit": 500}], ["c1"], None),
            "payments": (
                [{"card": "c1", "amount": 1.0}, {"card": "c9", "amount": 2.0}],
                None,
                None,
            ),
        }
    ).outputs["out"]
    assert got[["card", "card_limit"]].to_dict("records") == [{"card": "c1", "card_limit": 500}]


def test_a_join_on_the_record_key_and_chosen_fields() -> None:
    app = App("keyed")
    table = app.global_table("profiles")
    stream = app.dataframe("clicks").join_table(table, fields=["tier", "absent"])
    out = stream.test([{"page": "/"}, {"page": "/cart"}], keys=["u1", "u2"])
    assert out.columns.tolist()[:3] == ["page", "tier", "absent"]
    assert out["tier"].isna().all()  # the table is empty in this run

    result = app.run_local(
        {
            "profiles": ([{"tier": "gold", "age": 40}], ["u1"], None),
            "clicks": ([{"page": "/"}, {"page": "/cart"}], ["u1", "u2"], None),
        },
        tap=stream._node,
    )
    assert result.tapped["tier"].fillna("none").tolist() == ["gold", "none"]
    assert "age" not in result.tapped.columns


def test_a_table_is_declared_once_and_apart_from_the_streams() -> None:
    app = App("tables")
    app.global_table("cards")
    with pytest.raises(ConfigError, match="another name"):
        app.global_table("other-cards", name="cards")
    app.dataframe("payments")
    with pytest.raises(ConfigError, match="as a stream and as a global table"):
        app.global_table("payments")
    with pytest.raises(ConfigError, match="needs a table"):
        app.dataframe("x").join_table("cards")
    assert app.topology()["global_tables"] == {"cards": "cards"}


def test_the_local_copy_keeps_its_offsets_with_its_rows(tmp_path: Path) -> None:
    store = GlobalTableStore(tmp_path, "cards", "card-topic")
    store.apply(1, [(0, "c1", {"limit": 1}), (1, "c2", {"limit": 2})])
    store.close()
    store = GlobalTableStore(tmp_path, "cards", "card-topic")
    assert store.next_offset(1) == 2
    store.apply(1, [(1, "c2", {"limit": 99}), (2, "c1", None)])  # offset 1 seen already
    assert store.rows(["c1", "c2"]) == {"c2": {"limit": 2}}
    store.close()


def _send(bootstrap: str, topic: str, rows: list[tuple[str, Any]]) -> None:
    produce_records(
        bootstrap,
        topic,
        [(k.encode(), None if v is None else orjson.dumps(v), None, None) for k, v in rows],
    )


@pytest.mark.broker
@pytest.mark.parametrize("order", ["table-first", "interleaved"])
def test_live_the_table_is_loaded_before_the_stream_and_keeps_updating(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    order: str,
) -> None:
    cards = make_topic("cards", partitions=3, **{"cleanup.policy": "compact"})
    payments = make_topic("payments", partitions=2)
    out = unique("enriched")
    rng = random.Random(14)
    # Rows with updates and tombstones, produced before the app starts.
    table: dict[str, dict[str, Any] | None] = {}
    history: list[tuple[str, Any]] = []
    for i in range(300):
        card = f"card-{rng.randrange(40)}"
        row = None if rng.random() < 0.15 else {"limit": rng.randrange(1000), "v": i}
        table[card] = row
        history.append((card, row))
    stream = [{"id": i, "card": f"card-{rng.randrange(45)}"} for i in range(400)]
    # The stream is there before the app starts too, before the table's rows or between
    # them: the table is read whole first, so every record meets the table's final rows.
    if order == "table-first":
        _send(bootstrap, cards, history)
        _send(bootstrap, payments, [(s["card"], s) for s in stream])
    else:
        for start in range(0, 400, 50):
            _send(bootstrap, payments, [(s["card"], s) for s in stream[start : start + 50]])
            _send(bootstrap, cards, history[start * 3 // 4 : (start + 50) * 3 // 4])

    def build() -> App:
        return _app(
            unique("tables"),
            cards,
            payments,
            out,
            broker=bootstrap,
            consumer_config=FAST_GROUP,
            commit_interval=0.5,
            max_batch_records=37,
            state_dir=tmp_path / "state",
        )

    app = build()
    with running(app):
        got = wait_for_records(bootstrap, out, len(stream), timeout=60)
        seen = {r["id"]: r for r in (orjson.loads(m.value()) for m in got)}
        assert sorted(seen) == list(range(len(stream)))
        for s in stream:
            row = table.get(s["card"])
            assert seen[s["id"]].get("card_limit") == (None if row is None else row["limit"])
        # An update while running: later records meet it.
        _send(bootstrap, cards, [("card-1", {"limit": 7}), ("card-2", None)])
        # Records produced until the update is seen: it is applied between batches.
        probe = 0

        def updated() -> bool:
            nonlocal probe
            probe += 1
            _send(bootstrap, payments, [("card-1", {"id": 10_000 + probe, "card": "card-1"})])
            last = [orjson.loads(m.value()) for m in read_topic(bootstrap, out)]
            return any(r["id"] > 10_000 and r.get("card_limit") == 7 for r in last)

        wait_until(updated, timeout=30, interval=0.3)

    # A restart reads only what the local copy lacks, and sees the tombstone produced meanwhile.
    _send(bootstrap, cards, [("card-1", None)])
    _send(bootstrap, payments, [("card-1", {"id": 20_000, "card": "card-1"})])
    second = build()
    with running(second):

        def joined_after_restart() -> list[dict[str, Any]]:
            records = [orjson.loads(m.value()) for m in read_topic(bootstrap, out)]
            return [r for r in records if r["id"] == 20_000]

        final = wait_until(joined_after_restart, timeout=60, interval=0.3)
    assert final[0].get("card_limit") is None
    copy = GlobalTableStore(tmp_path / "state" / second.name / "cards", "cards", cards)
    assert sum(copy.next_offset(p) for p in range(3)) == len(history) + 3  # every record, once
    copy.close()


@pytest.mark.broker
def test_live_a_missing_table_topic_stops_the_app_with_the_fix(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    from headwater import MissingTopicError

    payments = make_topic("payments")
    app = _app(
        unique("no-table"),
        unique("absent-cards"),
        payments,
        unique("out"),
        broker=bootstrap,
        consumer_config=FAST_GROUP,
        state_dir=tmp_path / "state",
    )
    thread = AppThread(app).start()
    thread.join(timeout=60)  # it ends on its own, before reading any record
    assert isinstance(thread.error, MissingTopicError)
    assert "cleanup.policy=compact" in str(thread.error)
