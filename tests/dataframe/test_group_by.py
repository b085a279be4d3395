"""group_by and agg_running in local mode, checked against a pandas oracle."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from aggregation_oracle import AGGS, assert_matches, oracle, random_orders

from headwater import App, ConfigError, agg
from headwater.runtime.loop.batch import Source
from headwater.runtime.loop.executor import Executor
from headwater.runtime.loop.local import _Capture
from headwater.runtime.operators.repartition import murmur2, murmur2_partition
from headwater.runtime.operators.running import ENTRY
from headwater.serde.codecs import resolve_serde
from headwater.state.store import PartitionStore


@pytest.mark.parametrize(
    ("partitions", "batch", "seed"), [(1, 7, 1), (3, 5, 2), (4, 10_000, 3), (2, 1, 4)]
)
def test_running_aggregates_equal_pandas(partitions: int, batch: int, seed: int) -> None:
    orders = random_orders(300, seed)
    app = App("shop", max_batch_records=batch)
    sdf = app.dataframe(app.topic("orders", partitions=partitions))
    totals = sdf.group_by("customer").agg_running(**AGGS)
    totals.to_topic(app.topic("totals"))

    result = totals.test(orders, timestamps=list(range(len(orders))))

    assert_matches(result, oracle(orders))
    assert (result["_key"] == result["customer"]).all()  # the output is keyed by its group
    assert list(result.columns[: 1 + len(AGGS)]) == ["customer", *AGGS]
    # app.test runs the same and sends the records to the output topic; the internal topic is
    # not an output.
    run = app.test({"orders": orders})
    assert set(run.outputs) == {"totals"}
    assert len(run.outputs["totals"]) == len(orders)


def test_records_spread_over_partitions_by_key_as_kafka_would() -> None:
    # Kafka's own test vectors for murmur2 (the Java client's default partitioner).
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == -985981536 & 0xFFFFFFFF
    assert murmur2(b"abc") == 479470107
    assert murmur2_partition(b"21", 3) == (3321034988 & 0x7FFFFFFF) % 3


def test_groups_by_several_columns_and_by_expressions() -> None:
    orders = [
        {"region": "EU", "shop": 1, "amount": 10, "email": "A@x.org"},
        {"region": "EU", "shop": 2, "amount": 5, "email": "a@x.org"},
        {"region": "EU", "shop": 1, "amount": 1, "email": "b@x.org"},
        {"region": "US", "shop": 1, "amount": 7, "email": "B@X.org"},
    ]
    app = App("multi")
    sdf = app.dataframe(app.topic("orders"))
    both = sdf.group_by("region", "shop").agg_running(total=agg.sum("amount"))
    by_email = sdf.group_by(sdf["email"].str.lower(), name="email").agg_running(
        n=agg.count(), first_or_last=agg.last("amount")
    )
    doubled = sdf.group_by(["region"], name="r2").agg_running(
        total2=agg.sum(sdf["amount"] * 2), lo=agg.min(pl.col("amount"))
    )
    result = both.test(orders)
    assert result[["region", "shop", "total"]].values.tolist() == [
        ["EU", 1, 10],
        ["EU", 2, 5],
        ["EU", 1, 11],
        ["US", 1, 7],
    ]
    assert result["_key"].tolist()[0] == {"region": "EU", "shop": 1}
    emails = by_email.test(orders)
    assert emails[["email", "n", "first_or_last"]].values.tolist() == [
        ["a@x.org", 1, 10],
        ["a@x.org", 2, 5],
        ["b@x.org", 1, 1],
        ["b@x.org", 2, 7],
    ]
    assert doubled.test(orders)[["total2", "lo"]].values.tolist() == [
        [20, 10],
        [30, 5],
        [32, 1],
        [14, 7],
    ]


def test_an_already_keyed_input_is_not_repartitioned() -> None:
    app = App("keyed")
    sdf = app.dataframe(app.topic("orders", partitions=3))
    totals = sdf.group_by("customer", repartition=False).agg_running(total=agg.sum("amount"))
    totals.to_topic(app.topic("totals"))
    assert app.internal_topics == {}
    assert app.stores["customer-agg"].name == "orders"  # kept per partition of the input
    orders = [{"customer": "a", "amount": 1}, {"customer": "a", "amount": 2}]
    result = totals.test(orders, keys=["x", "y"])
    assert result["total"].tolist() == [1, 3]
    assert result["_key"].tolist() == ["a", "a"]
    group = next(n for n in app.describe()["nodes"] if n["kind"] == "group_by")
    assert group["params"]["repartition"] is False
    assert group["params"]["topic"] is None


def test_null_groups_and_failing_aggregates_go_to_the_dead_letters() -> None:
    app = App("nulls", max_batch_records=100)
    sdf = app.dataframe(app.topic("orders"))
    totals = sdf.group_by("customer").agg_running(total=agg.sum("amount"))
    orders = [
        {"customer": "a", "amount": 1},
        {"customer": None, "amount": 5},
        {"amount": 6},  # no group field at all
        {"customer": "a", "amount": "ten"},  # text cannot be summed
        {"customer": "a", "amount": 2},
    ]
    result = totals.test(orders)
    assert result["total"].tolist() == [1, 3]
    dead = result.attrs["dead_letters"]
    assert dead["offset"].tolist() == [1, 2, 1]  # the last: its offset in the repartition topic
    assert dead["topic"].tolist() == ["orders", "orders", "nulls-customer-repartition"]
    assert "group value is null" in dead["reason"][0]
    assert dead["operator"][2] == "agg_running total=sum(amount)"


def test_the_topology_shows_the_group_by_and_its_internal_topic() -> None:
    app = App("topo")
    sdf = app.dataframe(app.topic("orders"))
    sdf.group_by("customer").agg_running(n=agg.count()).to_topic(app.topic("counts"))
    topology = app.describe()
    repartition = "topo-customer-repartition"
    assert topology["inputs"][0] == {
        "topic": "orders",
        "key": "str",
        "value": "json",
        "timestamp": None,
        "node": "n0",
    }
    assert topology["inputs"][1]["topic"] == repartition
    assert topology["inputs"][1]["internal"] is True
    assert [(o["topic"], o.get("internal", False)) for o in topology["outputs"]] == [
        (repartition, True),
        ("counts", False),
    ]
    kinds = [n["kind"] for n in topology["nodes"]]
    assert kinds == ["source", "group_by", "source", "agg_running", "to_topic"]
    group = topology["nodes"][1]
    assert group["params"] == {
        "by": {"customer": 'col("customer")'},
        "name": "customer",
        "repartition": True,
        "topic": repartition,
    }
    assert topology["nodes"][3]["params"]["store"] == "customer-agg"
    assert app.internal_topics == {repartition: "orders"}
    assert [t.name for t in app.input_topics] == ["orders", repartition]


def test_configuration_mistakes_are_named() -> None:
    app = App("errors")
    sdf = app.dataframe(app.topic("orders"))
    with pytest.raises(ConfigError, match="at least one"):
        sdf.group_by("a", name="g1").agg_running()
    with pytest.raises(ConfigError, match="must be an aggregation"):
        sdf.group_by("a", name="g2").agg_running(total="sum")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="name of a group column"):
        sdf.group_by("a", name="g3").agg_running(a=agg.count())
    with pytest.raises(ConfigError, match="needs one or more"):
        sdf.group_by()
    with pytest.raises(ConfigError, match="alias"):
        sdf.group_by(pl.all())
    with pytest.raises(ConfigError, match="invalid"):
        sdf.group_by("a b")
    grouped = sdf.group_by("customer")
    grouped.agg_running(n=agg.count())
    with pytest.raises(ConfigError, match="one agg_running"):
        grouped.agg_running(total=agg.sum("amount"))
    with pytest.raises(ConfigError, match="same name"):
        sdf.group_by("customer")
    with pytest.raises(ConfigError, match="column name or an expression"):
        agg.sum(3)  # type: ignore[arg-type]


def _stateful_executor(
    tmp_path: Path,
) -> tuple[Executor, _Capture, dict[int, PartitionStore]]:
    """An executor over a pipeline grouped in place, with a real store per partition."""
    app = App("direct")
    topic = app.topic("orders", key="str")
    sdf = app.dataframe(topic)
    totals = sdf.group_by("customer", repartition=False).agg_running(
        n=agg.count(), total=agg.sum("x")
    )
    totals.to_topic(app.topic("totals"))
    opened: dict[int, PartitionStore] = {}

    def stores(name: str, topic_name: str, partition: int) -> PartitionStore:
        if partition not in opened:
            path = tmp_path / name / str(partition)
            opened[partition] = PartitionStore(path, name, topic_name, partition)
        return opened[partition]

    capture = _Capture()
    executor = Executor(app.pipelines()["orders"], topic, capture, "dead-letter", None, stores)
    return executor, capture, opened


def _source(partitions: list[int], offsets: list[int], xs: list[int]) -> Source:
    json = resolve_serde("json", "value")
    return Source(
        topic="orders",
        partitions=partitions,
        offsets=offsets,
        raw_keys=[None] * len(xs),
        raw_values=[json.dumps({"customer": "a", "x": x}) for x in xs],
        timestamps=list(range(len(xs))),
    )


def _emitted(capture: _Capture) -> list[tuple[int, int]]:
    frames = capture.outputs.pop("totals", [])
    return [(row["n"], row["total"]) for f in frames for row in f.iter_rows(named=True)]


def test_rows_of_several_partitions_use_their_own_partitions_store(tmp_path: Path) -> None:
    executor, capture, stores = _stateful_executor(tmp_path)
    executor.process(_source([0, 1, 0, 1, 1], [0, 0, 1, 1, 2], [1, 10, 2, 20, 30]))
    assert _emitted(capture) == [(1, 1), (1, 10), (2, 3), (2, 30), (3, 60)]
    # The next batch reads each partition's state back.
    executor.process(_source([1, 0], [3, 2], [40, 3]))
    assert _emitted(capture) == [(4, 100), (3, 6)]
    assert stores[0].get("a", ENTRY) == {"n.count": 3, "total.sum": 6}
    assert stores[1].get("a", ENTRY) == {"n.count": 4, "total.sum": 100}


def test_records_below_the_processed_offset_are_not_applied_twice(tmp_path: Path) -> None:
    executor, capture, stores = _stateful_executor(tmp_path)
    executor.process(_source([0, 0], [0, 1], [1, 2]))
    stores[0].persist(input_offset=2, changelog_offset=None)  # a checkpoint after offset 1
    _emitted(capture)
    # After a crash the batch is read again from offset 0: only offset 2 onwards counts.
    executor.process(_source([0, 0, 0, 0], [0, 1, 2, 3], [1, 2, 3, 4]))
    assert _emitted(capture) == [(3, 6), (4, 10)]
    assert stores[0].get("a", ENTRY) == {"n.count": 4, "total.sum": 10}
