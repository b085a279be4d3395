"""Joins of two streams live through the broker: results equal to a pandas batch join, late
records only in the side output, whatever the interleaving of the inputs, and partition i of
both inputs processed by one replica when two share the work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from integration_helpers import FAST_GROUP, produce_records, read_topic, running, wait_until
from join_oracle import (
    BOUND_MS,
    CLOSER,
    LOWER_MS,
    UPPER_MS,
    canonical,
    closers,
    interval_join,
    session_join,
    streams,
    window_join,
)

from headwater import App, agg, windows
from headwater.runtime.loop.runner import Runner

pytestmark = pytest.mark.broker

PARTITIONS = 4
COLUMNS = ["id", "user", "ts", "id_right", "ts_right"]


def _send(bootstrap: str, topic: str, rows: list[dict[str, Any]], keyed: bool = True) -> None:
    produce_records(
        bootstrap,
        topic,
        [(r["user"].encode() if keyed else None, orjson.dumps(r), None, None) for r in rows],
    )


def _send_closers(bootstrap: str, topics: list[str], start_id: int) -> None:
    for partition, row in closers(PARTITIONS, start_id):
        for topic in topics:
            record = (row["user"].encode(), orjson.dumps(row), None, None)
            produce_records(bootstrap, topic, [record], partition=partition)


def _frame(bootstrap: str, topic: str) -> pd.DataFrame:
    return pd.DataFrame([orjson.loads(m.value()) for m in read_topic(bootstrap, topic)])


def _interleaved(
    bootstrap: str,
    topics: tuple[str, str],
    data: dict[str, list[dict[str, Any]]],
    order: str,
    keyed: bool = True,
) -> None:
    """Produce both inputs: one after the other, or in alternating chunks."""
    left, right = topics
    if order == "right-first":
        _send(bootstrap, right, data["right"], keyed)
        _send(bootstrap, left, data["left"], keyed)
        return
    for start in range(0, len(data["left"]), 30):
        _send(bootstrap, left, data["left"][start : start + 30], keyed)
        _send(bootstrap, right, data["right"][start : start + 30], keyed)


def _interval_app(
    name: str,
    topics: tuple[str, str],
    how: str,
    on: str | None = None,
    partitions: int = PARTITIONS,
    **settings: Any,
) -> App:
    app = App(name, consumer_config=FAST_GROUP, commit_interval=0.5, **settings)
    left, right = (
        app.dataframe(app.topic(t, timestamp="ts", partitions=partitions)).with_watermarks(
            f"{BOUND_MS}ms"
        )
        for t in topics
    )
    joined = left.join_interval(
        right,
        on=on,
        lower=f"-{-LOWER_MS}ms",
        upper=f"{UPPER_MS}ms",
        how=how,  # type: ignore[arg-type]
    )
    joined.to_topic(app.topic(f"{name}-out"))
    joined.late().to_topic(app.topic(f"{name}-late"))
    return app


def _matched(frame: pd.DataFrame) -> int:
    if frame.empty or "id_right" not in frame:
        return 0
    return int(frame["id_right"].notna().sum())


@pytest.mark.parametrize(
    ("how", "order", "guarantee", "on"),
    [
        ("inner", "alternating", "at-least-once", None),
        ("left", "right-first", "exactly-once", None),
        # Records without keys: both inputs are repartitioned by the join column.
        ("left", "alternating", "at-least-once", "user"),
    ],
)
def test_interval_join_live_equals_pandas_merge_with_late_records_aside(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    how: str,
    order: str,
    guarantee: str,
    on: str | None,
) -> None:
    topics = (
        make_topic("clicks", partitions=PARTITIONS),
        make_topic("views", partitions=PARTITIONS),
    )
    data = streams(240, seed=11)
    name = unique("ijoin")
    app = _interval_app(
        name,
        topics,
        how,
        on,
        broker=bootstrap,
        max_batch_records=20,
        state_dir=tmp_path / "state",
        guarantee=guarantee,
    )
    want = interval_join(data["left"], data["right"], how)
    pairs = _matched(want)
    _interleaved(bootstrap, topics, data, order, keyed=on is None)
    with running(app):
        # Every pair is found as soon as its later record is read.
        wait_until(lambda: _matched(_frame(bootstrap, f"{name}-out")) >= pairs, timeout=90)
        # The closers pair up on every partition: once all are out, every partition's
        # watermark is past the records far behind, so those are late in any order.
        _send_closers(bootstrap, list(topics), 10_000)
        wait_until(
            lambda: (
                _frame(bootstrap, f"{name}-out")["user"].str.startswith(CLOSER).sum() >= PARTITIONS
            ),
            timeout=60,
        )
        _send(bootstrap, topics[0], data["late_left"], keyed=on is None)
        _send(bootstrap, topics[1], data["late_right"], keyed=on is None)
        late_ids = sorted(r["id"] for r in data["late_left"] + data["late_right"])
        wait_until(lambda: len(_frame(bootstrap, f"{name}-late")) >= len(late_ids), timeout=60)
    got = _frame(bootstrap, f"{name}-out")
    got = got[~got["user"].str.startswith(CLOSER)]
    assert canonical(got, COLUMNS) == canonical(want, COLUMNS)
    assert sorted(_frame(bootstrap, f"{name}-late")["id"]) == late_ids
    assert read_topic(bootstrap, f"{name}.dlq") == []


def _assigned(app: App) -> set[tuple[str, int]]:
    runner: Runner | None = app._runner
    return set(runner._assigned) if runner is not None else set()


def test_two_replicas_process_partition_i_of_both_inputs_together(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    # Three partitions for two replicas: an assignment balancing each topic on its own (the
    # cooperative-sticky one) splits some partition i of the two inputs between replicas.
    partitions = 3
    topics = (
        make_topic("clicks", partitions=partitions),
        make_topic("views", partitions=partitions),
    )
    data = streams(200, seed=17, late=0)
    name = unique("ijoin2")

    def replica(state: str) -> App:
        return _interval_app(
            name,
            topics,
            "inner",
            partitions=partitions,
            broker=bootstrap,
            max_batch_records=15,
            state_dir=tmp_path / state,
        )

    first, second = replica("a"), replica("b")
    want = interval_join(data["left"], data["right"], "inner")
    _interleaved(
        bootstrap, topics, {"left": data["left"][:60], "right": data["right"][:60]}, "alternating"
    )
    with running(first):
        wait_until(lambda: len(_assigned(first)) == 2 * partitions, timeout=60, interval=0.1)
        with running(second):

            def shared() -> bool:
                a, b = _assigned(first), _assigned(second)
                return bool(a) and bool(b) and len(a | b) == 2 * partitions

            wait_until(shared, timeout=60, interval=0.1)
            for app in (first, second):
                held = _assigned(app)
                by_topic = [{p for t, p in held if t == topic} for topic in topics]
                assert by_topic[0] == by_topic[1], held
            _interleaved(
                bootstrap,
                topics,
                {"left": data["left"][60:], "right": data["right"][60:]},
                "alternating",
            )
            wait_until(lambda: len(_frame(bootstrap, f"{name}-out")) >= len(want), timeout=90)
    got = _frame(bootstrap, f"{name}-out")
    assert canonical(got, COLUMNS) == canonical(want, COLUMNS)
    assert read_topic(bootstrap, f"{name}.dlq") == []


WINDOWS = {
    "tumbling": (windows.tumbling("3s"), 3_000, None),
    "hopping": (windows.hopping("4s", step="1s"), 4_000, 1_000),
    "session": (windows.session("400ms"), 400, None),
}


@pytest.mark.parametrize(
    ("kind", "how", "order", "guarantee", "on"),
    [
        ("tumbling", "inner", "alternating", "exactly-once", None),
        ("hopping", "left", "right-first", "at-least-once", "user"),
        ("session", "left", "alternating", "exactly-once", "user"),
    ],
)
def test_window_join_live_equals_a_merge_per_window_with_late_records_aside(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    kind: str,
    how: str,
    order: str,
    guarantee: str,
    on: str | None,
) -> None:
    topics = (
        make_topic("orders", partitions=PARTITIONS),
        make_topic("payments", partitions=PARTITIONS),
    )
    data = streams(240, seed=23)
    window, size, step = WINDOWS[kind]
    name = unique("wjoin")
    app = App(
        name,
        consumer_config=FAST_GROUP,
        commit_interval=0.5,
        broker=bootstrap,
        max_batch_records=20,
        state_dir=tmp_path / "state",
        guarantee=guarantee,
    )
    left, right = (
        app.dataframe(app.topic(t, timestamp="ts", partitions=PARTITIONS)).with_watermarks(
            f"{BOUND_MS}ms"
        )
        for t in topics
    )
    joined = left.join_window(right, window, on=on, how=how)  # type: ignore[arg-type]
    joined.to_topic(app.topic(f"{name}-out"))
    joined.late().to_topic(app.topic(f"{name}-late"))
    want = (
        session_join(data["left"], data["right"], size, how)
        if kind == "session"
        else window_join(data["left"], data["right"], size, step, how)
    )
    _interleaved(bootstrap, topics, data, order, keyed=on is None)
    with running(app):
        # The closers move every partition's watermark past every window of the others: all
        # results come out, and the records far behind are late in any order.
        _send_closers(bootstrap, list(topics), 10_000)

        def main_results() -> int:
            out = _frame(bootstrap, f"{name}-out")
            return 0 if out.empty else int((~out["user"].str.startswith(CLOSER)).sum())

        wait_until(lambda: main_results() >= len(want), timeout=90)
        _send(bootstrap, topics[0], data["late_left"], keyed=on is None)
        _send(bootstrap, topics[1], data["late_right"], keyed=on is None)
        late_ids = sorted(r["id"] for r in data["late_left"] + data["late_right"])
        wait_until(lambda: len(_frame(bootstrap, f"{name}-late")) >= len(late_ids), timeout=60)
    got = _frame(bootstrap, f"{name}-out")
    columns = [*COLUMNS, "window_start", "window_end"]
    assert canonical(got, columns) == canonical(want, columns)
    assert sorted(_frame(bootstrap, f"{name}-late")["id"]) == late_ids
    assert read_topic(bootstrap, f"{name}.dlq") == []


@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_windows_regrouped_after_a_join_close_while_the_app_runs(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    guarantee: str,
) -> None:
    """Enrich, then aggregate by another column: the repartition after the join carries the
    join's watermark, so its windows close as time moves on, not only when a run ends."""
    topics = (
        make_topic("clicks", partitions=PARTITIONS),
        make_topic("views", partitions=PARTITIONS),
    )
    name = unique("regroup")
    app = App(
        name,
        consumer_config=FAST_GROUP,
        commit_interval=0.5,
        broker=bootstrap,
        max_batch_records=20,
        state_dir=tmp_path / "state",
        guarantee=guarantee,
    )
    left, right = (
        app.dataframe(app.topic(t, timestamp="ts", partitions=PARTITIONS)).with_watermarks("0ms")
        for t in topics
    )
    joined = left.join_interval(right, lower="-0ms", upper="0ms", how="inner")
    per_page = joined.group_by("page").window(windows.tumbling("10s")).agg(views=agg.count())
    per_page.to_topic(app.topic(f"{name}-out"))
    # 60 s of matching clicks and views on 8 users and 3 pages, one pair a second.
    rows = [
        {"id": i, "user": f"u{i % 8}", "page": f"p{i % 3}", "ts": 1_000_000 + i * 1000}
        for i in range(60)
    ]
    _send(bootstrap, topics[0], rows)
    _send(bootstrap, topics[1], [{**r, "id": 1000 + r["id"]} for r in rows])
    with running(app):
        # Windows [0 s, 10 s) to [40 s, 50 s) are behind every partition's watermark once all
        # is read: 5 windows of 3 pages, 10 pairs each. Nothing stops the app to close them.
        def closed() -> pd.DataFrame:
            out = _frame(bootstrap, f"{name}-out")
            return out if out.empty else out[out["window_end"] <= 1_050_000]

        wait_until(lambda: len(closed()) >= 15, timeout=90)
    got = closed()
    want = {
        (f"p{page}", 1_000_000 + k * 10_000): sum(
            1 for i in range(10 * k, 10 * k + 10) if i % 3 == page
        )
        for k in range(5)
        for page in range(3)
    }
    assert {(r.page, r.window_start): r.views for r in got.itertuples()} == want
    assert len(got) == 15  # each window once
