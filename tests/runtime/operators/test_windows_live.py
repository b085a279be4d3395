"""Windows live through the broker: results equal to pandas, late data in the side outputs,
idle partitions and a quiet input."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from integration_helpers import (
    FAST_GROUP,
    committed_offsets,
    fail_commits,
    produce_records,
    read_topic,
    running,
    wait_for_records,
)
from kafka_helpers import skip_on_tansu, wait_until
from window_oracle import (
    BASE_TS,
    CLOSER,
    assert_matches,
    by_time,
    closers,
    expected,
    records,
    windowed_app,
)

from headwater import App, agg, windows
from headwater.runtime.commit.transaction import TransactionalCheckpoint

pytestmark = pytest.mark.broker


def _send(
    bootstrap: str, topic: str, rows: list[dict[str, Any]], partition: int | None = None
) -> None:
    produce_records(
        bootstrap,
        topic,
        [(r["customer"].encode(), orjson.dumps(r), None, None) for r in rows],
        partition=partition,
    )


def _frame(messages: list[Any]) -> pd.DataFrame:
    return pd.DataFrame([orjson.loads(m.value()) for m in messages])


@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_windows_live_equal_pandas_and_late_records_go_to_the_side_outputs(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    guarantee: str,
) -> None:
    source = make_topic("orders", partitions=3)
    data = records(240, seed=9)
    name = unique("win")
    app, outputs, late = windowed_app(
        name,
        source=source,
        broker=bootstrap,
        consumer_config=FAST_GROUP,
        commit_interval=0.5,
        max_batch_records=25,
        state_dir=tmp_path / "state",
        guarantee=guarantee,
    )
    wanted = {kind: expected(kind, by_time(kind, data)) for kind in outputs}
    _send(bootstrap, source, data["main"])
    with running(app):
        # The first windows closed: every partition's watermark is past them, so the records
        # far behind it are late whatever the order they are read in.
        wait_for_records(bootstrap, outputs["tumbling"], 1, timeout=60)
        _send(bootstrap, source, data["late"])
        for partition in range(3):
            _send(bootstrap, source, closers([f"{CLOSER}-{partition}"], 50_000), partition)
        found = {
            kind: wait_for_records(bootstrap, topic, len(wanted[kind]), timeout=60)
            for kind, topic in outputs.items()
        }
        late_found = {
            kind: wait_for_records(bootstrap, topic, len(data["late"]), timeout=30)
            for kind, topic in late.items()
        }
    for kind, messages in found.items():
        got = _frame(messages)
        assert_matches(got[~got["customer"].str.startswith(CLOSER)], wanted[kind])
        assert all(m.key() == orjson.loads(m.value())["customer"].encode() for m in messages)
    for messages in late_found.values():
        assert sorted(_frame(messages)["id"]) == [r["id"] for r in data["late"]]
    assert read_topic(bootstrap, f"{name}.dlq") == []


def test_open_windows_and_watermarks_survive_a_restart(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    source = make_topic("orders", partitions=3)
    data = records(120, seed=21, late=4)
    name = unique("winrestart")

    def app() -> tuple[App, dict[str, str], dict[str, str]]:
        return windowed_app(
            name,
            source=source,
            broker=bootstrap,
            consumer_config=FAST_GROUP,
            commit_interval=0.5,
            max_batch_records=20,
            state_dir=tmp_path / "state",
        )

    first, outputs, late = app()
    _send(bootstrap, source, data["main"])
    customers = {r["customer"] for r in data["main"]}

    def every_customer_closed_a_window() -> bool:
        closed = {_value(m)["customer"] for m in read_topic(bootstrap, outputs["tumbling"])}
        return closed >= customers

    with running(first):
        # Every partition's windows closed one: its store holds the watermark they closed at
        # (a partition's watermark is persisted when its windows close).
        wait_until(every_customer_closed_a_window, timeout=60, interval=0.2)
    # Restarted: open windows come back from the stores, and so does the watermark, so the
    # records far behind it are late before any new marker arrives.
    second, _, _ = app()
    _send(bootstrap, source, data["late"])
    with running(second):
        late_found = wait_for_records(bootstrap, late["tumbling"], len(data["late"]), 60)
        for partition in range(3):
            _send(bootstrap, source, closers([f"{CLOSER}-{partition}"], 50_000), partition)
        wanted = {kind: expected(kind, by_time(kind, data)) for kind in outputs}
        found = {
            kind: wait_for_records(bootstrap, topic, len(wanted[kind]), timeout=60)
            for kind, topic in outputs.items()
        }
    for kind, messages in found.items():
        got = _frame(messages)
        assert_matches(got[~got["customer"].str.startswith(CLOSER)], wanted[kind])
    assert sorted(_frame(late_found)["id"]) == [r["id"] for r in data["late"]]


def test_windows_stay_exact_when_transactions_abort(
    bootstrap: str,
    broker_kind: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An aborted transaction rewinds its inputs: the watermarks its records and markers had
    moved must go back with them, or the records read again are taken for late ones."""
    skip_on_tansu(broker_kind, "shows aborted transactions' records to read_committed readers")
    source = make_topic("orders", partitions=3)
    data = records(600, seed=31, late=0)
    name = unique("winabort")
    app, outputs, late = windowed_app(
        name,
        source=source,
        broker=bootstrap,
        consumer_config=FAST_GROUP,
        commit_interval=0.3,
        max_batch_records=10,
        state_dir=tmp_path / "state",
        guarantee="exactly-once",
    )
    windowed: list[int] = []  # transactions that read records of the repartition topic

    def every_other_windowed(checkpoint: TransactionalCheckpoint) -> bool:
        # Every other transaction that moved the windows' watermarks fails, six in all.
        if not any(topic.endswith("-repartition") for topic, _ in checkpoint._pending):
            return False
        windowed.append(1)
        return len(windowed) % 2 == 0 and len(injected) < 6

    injected = fail_commits(monkeypatch, every_other_windowed)
    main = data["main"]
    with running(app):
        for start in range(0, len(main), 100):  # slices: many transactions, markers between
            _send(bootstrap, source, main[start : start + 100])
            done = start + 100
            wait_until(
                lambda done=done: (
                    sum(committed_offsets(bootstrap, name, source, 3).values()) >= done
                ),
                timeout=60,
            )
        for partition in range(3):
            _send(bootstrap, source, closers([f"{CLOSER}-{partition}"], 50_000), partition)
        wanted = {kind: expected(kind, by_time(kind, data)) for kind in outputs}
        found = {
            kind: wait_for_records(bootstrap, topic, len(wanted[kind]), timeout=60)
            for kind, topic in outputs.items()
        }
    assert len(injected) == 6
    for kind, messages in found.items():
        got = _frame(messages)
        assert_matches(got[~got["customer"].str.startswith(CLOSER)], wanted[kind])
    assert {kind: read_topic(bootstrap, topic) for kind, topic in late.items()} == {
        kind: [] for kind in late
    }
    assert read_topic(bootstrap, f"{name}.dlq") == []


def _idle_app(
    bootstrap: str,
    source: str,
    out: str,
    tmp_path: Path,
    unique: Callable[[str], str],
    **marks: Any,
) -> App:
    app = App(
        unique("time"),
        bootstrap,
        consumer_config=FAST_GROUP,
        commit_interval=0.5,
        state_dir=tmp_path / "state",
    )
    clicks = app.dataframe(app.topic(source, timestamp="ts")).with_watermarks("0s", **marks)
    clicks.group_by("customer").window(windows.tumbling("2s")).agg(n=agg.count()).to_topic(
        app.topic(out)
    )
    return app


def _click(customer: str, ts: int) -> dict[str, Any]:
    return {"customer": customer, "ts": BASE_TS + ts}


def test_an_idle_partition_stops_holding_windows_back(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    source, out = make_topic("clicks", partitions=2), unique("counts")
    app = _idle_app(bootstrap, source, out, tmp_path, unique, idle_timeout="1s")
    _send(bootstrap, source, [_click("a", 0)], partition=0)
    _send(bootstrap, source, [_click("b", 0)], partition=1)
    with running(app):
        wait_until(lambda: app._runner is not None, timeout=10)
        # Partition 1 goes silent; partition 0 moves past the first window's end.
        _send(bootstrap, source, [_click("a", 500)], partition=0)
        wait_until(lambda: read_topic(bootstrap, f"{app.name}-customer-repartition"), 30)
        sent = time.monotonic()
        _send(bootstrap, source, [_click("a", 2_500)], partition=0)
        results = wait_for_records(bootstrap, out, 2, timeout=30)
        elapsed = time.monotonic() - sent
    counts = sorted(
        (r["customer"], r["window_start"] - BASE_TS, r["n"]) for r in map(_value, results)
    )
    assert counts == [("a", 0, 2), ("b", 0, 1)]
    assert elapsed < 1 + 2 + 3  # idle timeout + window size, with slack for the broker


def test_a_quiet_input_advances_with_the_wall_clock_so_the_last_windows_close(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    source, out = make_topic("clicks", partitions=2), unique("counts")
    app = _idle_app(bootstrap, source, out, tmp_path, unique, advance_when_quiet="1s")
    _send(bootstrap, source, [_click("a", 100), _click("a", 900)], partition=0)
    _send(bootstrap, source, [_click("b", 300)], partition=1)
    with running(app):
        results = wait_for_records(bootstrap, out, 2, timeout=30)
    counts = sorted(
        (r["customer"], r["window_start"] - BASE_TS, r["n"]) for r in map(_value, results)
    )
    assert counts == [("a", 0, 2), ("b", 0, 1)]


def test_early_results_come_every_interval_before_the_window_closes(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    source, out = make_topic("clicks", partitions=2), unique("early")
    app = App(
        unique("early"),
        bootstrap,
        consumer_config=FAST_GROUP,
        commit_interval=0.5,
        state_dir=tmp_path / "state",
    )
    clicks = app.dataframe(app.topic(source, timestamp="ts"))
    windowed = clicks.group_by("customer").window(windows.tumbling("1h"), early_every="200ms")
    windowed.agg(n=agg.count()).to_topic(app.topic(out))
    _send(bootstrap, source, [_click("a", 1), _click("a", 2)], partition=0)

    def counts() -> list[int]:
        return [_value(m)["n"] for m in read_topic(bootstrap, out)]

    with running(app):
        wait_until(lambda: 2 in counts(), timeout=30, interval=0.2)
        _send(bootstrap, source, [_click("a", 3)], partition=0)
        wait_until(lambda: 3 in counts(), timeout=30, interval=0.2)
    results = [_value(m) for m in read_topic(bootstrap, out)]
    # Only changed windows are sent again: no result repeats a count.
    assert sorted(r["n"] for r in results) == sorted(set(r["n"] for r in results))
    assert {(r["window_start"], r["window_end"]) for r in results} == {
        (BASE_TS // 3_600_000 * 3_600_000, BASE_TS // 3_600_000 * 3_600_000 + 3_600_000)
    }


def _value(message: Any) -> Any:
    return orjson.loads(message.value())


def test_a_restart_keeps_the_watermark_even_when_no_window_closed(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    source, out, late = make_topic("clicks", partitions=1), unique("counts"), unique("late")
    name = unique("wmrestart")
    hour = BASE_TS // 3_600_000 * 3_600_000

    def app() -> App:
        app = App(
            name,
            bootstrap,
            consumer_config=FAST_GROUP,
            commit_interval=0.5,
            state_dir=tmp_path / "state",
        )
        clicks = app.dataframe(app.topic(source, timestamp="ts")).with_watermarks("0s")
        hourly = clicks.group_by("customer", repartition=False).window(windows.tumbling("1h"))
        hourly.agg(n=agg.count()).to_topic(app.topic(out))
        hourly.late().to_topic(app.topic(late))
        return app

    # The watermark moves 50 minutes into the hour: no window closes, none was ever closed.
    _send(bootstrap, source, [{"customer": "a", "ts": hour + 1_000}])
    _send(bootstrap, source, [{"customer": "a", "ts": hour + 3_000_000}])
    first = app()
    with running(first):
        wait_until(
            lambda: committed_offsets(bootstrap, name, source, 1)[0] >= 2, timeout=30, interval=0.2
        )
    assert read_topic(bootstrap, out) == []
    # Restarted: a record of the previous hour was late before, and is late again.
    _send(bootstrap, source, [{"customer": "b", "ts": hour - 1_000, "id": "late"}])
    with running(app()):
        found = wait_for_records(bootstrap, late, 1, timeout=30)
    assert [_value(m)["id"] for m in found] == ["late"]
    assert read_topic(bootstrap, out) == []


@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_a_partition_read_to_its_end_before_a_restart_does_not_hold_windows_back(
    bootstrap: str,
    broker_kind: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    guarantee: str,
) -> None:
    if guarantee == "exactly-once":
        skip_on_tansu(broker_kind, "shows aborted records to read_committed readers")
    source, out = make_topic("visits", partitions=3), unique("per-second")
    name = unique("wmresume")

    def app() -> App:
        app = App(
            name,
            bootstrap,
            guarantee=guarantee,
            consumer_config=FAST_GROUP,
            commit_interval=0.3,
            state_dir=tmp_path / "state",
        )
        visits = app.dataframe(app.topic(source, timestamp="ts", partitions=3))
        per_second = visits.with_watermarks("0s").group_by("customer", repartition=False)
        per_second.window(windows.tumbling("1s")).agg(n=agg.count()).to_topic(app.topic(out))
        return app

    # Partition 0 is read to its end, its last record an hour ahead, while partitions 1 and 2
    # are still empty: they hold the watermark back, so no window closes.
    _send(bootstrap, source, [{"customer": "a", "ts": BASE_TS + 100}], partition=0)
    _send(bootstrap, source, [{"customer": "a", "ts": BASE_TS + 3_600_000}], partition=0)
    with running(app()):
        wait_until(
            lambda: committed_offsets(bootstrap, name, source, 3)[0] >= 2, timeout=30, interval=0.2
        )
    assert read_topic(bootstrap, out) == []
    # After the restart nothing new reaches partition 0: its event time must come back from
    # the commit, not start again from nothing and hold every window open for good.
    for partition, customer in ((1, "b"), (2, "c")):
        _send(bootstrap, source, [{"customer": customer, "ts": BASE_TS + 200}], partition)
        _send(bootstrap, source, [{"customer": customer, "ts": BASE_TS + 3_600_000}], partition)
    with running(app()):
        found = wait_for_records(bootstrap, out, 3, timeout=30)
    assert sorted((_value(m)["customer"], _value(m)["n"]) for m in found) == [
        ("a", 1),
        ("b", 1),
        ("c", 1),
    ]
