"""Bounded runs on both brokers: ``app.run(until="end")`` returns by itself once the input it
found at start is processed, with every window closed and every offset committed; no test has
to guess when a replay is done."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pandas as pd
import pytest
from confluent_kafka import Producer
from integration_helpers import (
    FAST_GROUP,
    committed_offsets,
    end_offsets,
    produce_records,
    read_topic,
    run_bounded,
)
from window_oracle import BOUND_MS, assert_matches, by_time, expected, records, windowed_app

from headwater import App, agg, windows
from headwater.errors import ConfigError
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings
from headwater.kafka.tansu import TansuBroker
from headwater.runtime.loop.bounds import parse_until

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module", params=["apache", "tansu"])
def bootstrap(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test here runs on both brokers (overrides the suite's Apache Kafka)."""
    if request.param == "apache":
        yield os.environ["HEADWATER_TEST_BROKER"]
        return
    with TansuBroker() as broker:
        yield broker.bootstrap_servers


@pytest.fixture(scope="module")
def broker_kind(bootstrap: str) -> str:
    return "apache" if bootstrap == os.environ["HEADWATER_TEST_BROKER"] else "tansu"


def _ends(bootstrap: str, kind: str, topic: str, partitions: int) -> dict[int, int]:
    """Each partition's end: from ListOffsets on Apache Kafka; by reading on Tansu, whose
    ListOffsets answers trail the end (docs/brokers.md)."""
    if kind == "apache":
        return end_offsets(bootstrap, topic, partitions)
    last = dict.fromkeys(range(partitions), 0)
    for m in read_topic(bootstrap, topic):
        last[m.partition()] = max(last[m.partition()], m.offset() + 1)
    return last


@pytest.fixture(scope="module")
def admin(bootstrap: str) -> TopicAdmin:
    return TopicAdmin(KafkaSettings(bootstrap))


def _values(bootstrap: str, topic: str) -> pd.DataFrame:
    return pd.DataFrame([orjson.loads(m.value()) for m in read_topic(bootstrap, topic)])


@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_until_end_closes_every_window_and_commits_every_offset(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    guarantee: str,
    broker_kind: str,
) -> None:
    source = make_topic("orders", partitions=3)
    data = records(300, seed=5, late=0)
    name = unique("bounded")
    app, outputs, _ = windowed_app(
        name,
        source=source,
        broker=bootstrap,
        consumer_config=FAST_GROUP,
        commit_interval=0.5,
        max_batch_records=25,
        state_dir=tmp_path / "state",
        guarantee=guarantee,
    )
    produce_records(
        bootstrap,
        source,
        [(r["customer"].encode(), orjson.dumps(r), None, None) for r in data["main"]],
    )
    # No closer records and no waiting: the run itself knows where the input ends.
    run_bounded(app)
    for kind, topic in outputs.items():
        assert_matches(_values(bootstrap, topic), expected(kind, by_time(kind, data)))
    ends = _ends(bootstrap, broker_kind, source, 3)
    assert committed_offsets(bootstrap, name, source, 3) == ends
    assert read_topic(bootstrap, f"{name}.dlq") == []


def test_the_end_is_where_committed_records_end_and_empty_partitions_count(
    bootstrap: str,
    broker_kind: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """Transactions leave control markers after their records: the run's position passes them
    although no record is delivered for them; a partition without records is done at once."""
    source, sink = make_topic("tx-in", partitions=3), make_topic("tx-out")
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tx")})
    producer.init_transactions(30)
    for batch in range(3):
        producer.begin_transaction()
        for i in range(40):
            value = {"customer": f"c{i % 4}", "amount": batch * 40 + i}
            producer.produce(source, orjson.dumps(value), f"c{i % 4}".encode(), partition=i % 2)
        producer.commit_transaction(30)
    name = unique("bounded-tx")
    app = App(name, bootstrap, consumer_config=FAST_GROUP, state_dir=tmp_path / "state")
    sdf = app.dataframe(app.topic(source, partitions=3)).group_by("customer", repartition=False)
    sdf.agg_running(n=agg.count(), total=agg.sum("amount")).to_topic(app.topic(sink))
    run_bounded(app)
    last: dict[str, tuple[int, int]] = {}
    for row in _values(bootstrap, sink).to_dict(orient="records"):
        last[row["customer"]] = (row["n"], row["total"])
    amounts = [b * 40 + i for b in range(3) for i in range(40)]
    want = {f"c{k}": (30, sum(a for a in amounts if a % 40 % 4 == k)) for k in range(4)}
    assert last == want
    committed = committed_offsets(bootstrap, name, source, 3)
    if broker_kind == "apache":  # Tansu's ListOffsets trail the end (docs/brokers.md)
        ends = end_offsets(bootstrap, source, 3)
        assert ends[0] > 60 and ends[1] > 60  # 60 records each, and the transactions' markers
        assert committed == ends  # past the markers: the lag is 0
    else:
        assert committed[0] >= 60 and committed[1] >= 60
    assert committed[2] == 0  # nothing to read: done at once


def test_until_a_time_stops_there_and_the_next_run_goes_on(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    source, sink = make_topic("timed-in", partitions=2), make_topic("timed-out")
    base = 1_700_000_000_000
    rows = [
        {"customer": f"c{i % 3}", "ts": base + i * 500, "amount": i} for i in range(200)
    ]  # in time order in each partition; 100 s of data in 10 s windows
    produce_records(
        bootstrap,
        source,
        [(r["customer"].encode(), orjson.dumps(r), None, None) for r in rows],
    )
    name = unique("bounded-time")

    def make() -> App:
        app = App(name, bootstrap, consumer_config=FAST_GROUP, state_dir=tmp_path / "state")
        sdf = app.dataframe(app.topic(source, timestamp="ts", partitions=2))
        sdf = sdf.with_watermarks(f"{BOUND_MS}ms").group_by("customer", repartition=False)
        totals = sdf.window(windows.tumbling("10s")).agg(n=agg.count(), total=agg.sum("amount"))
        totals.to_topic(app.topic(sink))
        return app

    cut = base + 45_000  # halfway through the fifth window
    run_bounded(make(), until=pd.Timestamp(cut, unit="ms", tz="UTC").isoformat())
    first = _values(bootstrap, sink)
    # Windows that end by the cut are complete; the one it falls in stays open.
    assert sorted(first["window_end"].unique()) == [base + s * 1000 for s in (10, 20, 30, 40)]
    assert int(first["n"].sum()) == 80
    committed = committed_offsets(bootstrap, name, source, 2)
    assert sum(committed.values()) == 91  # the records up to the cut; the rest wait
    run_bounded(make())
    both = _values(bootstrap, sink)
    want = (
        pd.DataFrame(rows)
        .assign(window_end=lambda f: (f["ts"] - base) // 10_000 * 10_000 + base + 10_000)
        .groupby(["customer", "window_end"])
        .agg(n=("amount", "size"), total=("amount", "sum"))
        .reset_index()
    )
    got = both.groupby(["customer", "window_end"])[["n", "total"]].sum().reset_index()
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_until_values_are_checked() -> None:
    assert parse_until("end") == "end"
    assert parse_until(" 1700000000000 ") == 1_700_000_000_000
    assert parse_until("2023-11-14T22:13:20Z") == 1_700_000_000_000
    assert parse_until("2023-11-14T22:13:20") == 1_700_000_000_000  # naive: UTC
    for bad in ("tomorrow", "", "2023-13-01", 1.5, True):
        with pytest.raises(ConfigError, match=r"until: .* 'end'"):
            parse_until(bad)
