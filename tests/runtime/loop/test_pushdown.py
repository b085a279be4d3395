"""Projection pushdown changes how much is decoded and encoded, never what is written: the
same pipelines over the same tricky records give the same output values and dead letters
with and without it; live, the records come back as they went in, plus the new fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import polars as pl
import pytest
from integration_helpers import FAST_GROUP, produce_records, read_topic, run_bounded

from headwater import App
from headwater.dataframe.dataframe import StreamingDataFrame
from headwater.runtime.compile import compile_plan
from headwater.runtime.loop.batch import Source
from headwater.runtime.loop.emitter import output_values
from headwater.runtime.loop.executor import Executor
from headwater.serde.frames import SCHEMA_SAMPLE
from headwater.topic import Topic


class _Written:
    """Records the output values as the live emitter encodes them, and the dead letters."""

    def __init__(self) -> None:
        self.values: dict[str, list[bytes | None]] = {}
        self.dead: list[tuple[int, str, str]] = []

    def emit(
        self,
        topic: Topic,
        frame: pl.DataFrame,
        source: Source,
        splice: tuple[str, ...] | None = None,
    ) -> list[tuple[int, Exception]]:
        values, failures = output_values(topic, frame, source, splice)
        self.values.setdefault(topic.name, []).extend(values)
        return [(int(frame["_hw_row"][i]), error) for i, error in failures]

    def dead_letter(
        self, source: Source, rows: list[int], error: BaseException, operator: str
    ) -> None:
        self.dead += [(source.offsets[row], operator, type(error).__name__) for row in rows]

    def partition_count(self, topic: Topic) -> int:
        return 1

    def marker(self, topic: Topic, partition: int, payload: bytes) -> None:
        raise AssertionError("these pipelines keep no event time")


Build = Callable[[App, StreamingDataFrame], Any]


def _run(build: Build, values: list[bytes | None], pushdown: bool) -> _Written:
    app = App("pushdown-app")
    build(app, app.dataframe(app.topic("orders")))
    plan = app.plan()
    written = _Written()
    executor = Executor(
        compile_plan(plan, pushdown)["orders"], plan.topics["orders"], written, "dead-letter"
    )
    n = len(values)
    for start in range(0, n, 4 * SCHEMA_SAMPLE):  # some batches sampled, the last one small
        stop = min(start + 4 * SCHEMA_SAMPLE, n)
        executor.process(
            Source("orders", [0] * n, list(range(n)), [b"k"] * n, values, [0] * n).slice(
                start, stop
            )
        )
    return written


def _typed(value: Any) -> Any:
    """A JSON value with each number's type kept, so 1 and 1.0 differ; fields in order."""
    if isinstance(value, dict):
        return [(k, _typed(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    return (type(value).__name__, value)


def paid_in_eur(app: App, sdf: StreamingDataFrame) -> None:
    sdf = sdf[(sdf["status"] == "paid") & (sdf["amount"] >= 20)]
    sdf["amount_eur"] = sdf["amount"] * 0.92
    sdf.to_topic(app.topic("out"))


def _order(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"o-{i}",
        "status": "paid",
        "amount": 10.0 + i % 40,
        "note": 'Zoë ✓ "quoted" \\ back\n😀',
        "items": [{"sku": "a", "n": i}],
        "nested": {"deep": {"x": i, "y": None}},
        "big": 2**62 + i,
        "small": -1.5e-7,
        "flag": i % 2 == 0,
        "none": None,
        **fields,
    }


def _tricky(count: int = 1_000) -> list[bytes | None]:
    values: list[bytes | None] = [orjson.dumps(_order(i)) for i in range(count)]
    values[5] = orjson.dumps(_order(5, amount_eur="already here"))  # overwritten: encoded in full
    values[6] = orjson.dumps(_order(6, amount_eur=None))
    values[7] = orjson.dumps(_order(7))[:-1] + b' , "amount\\u005feur": 1}'  # an escaped name
    values[8] = orjson.dumps(_order(8)) + b" \r\n\t"  # blanks after the object
    values[9] = orjson.dumps(_order(9), option=orjson.OPT_INDENT_2)  # line breaks inside
    values[10] = orjson.dumps(_order(10, amount=None))  # a read field null: filtered out
    values[11] = orjson.dumps({k: v for k, v in _order(11).items() if k != "amount"})
    values[12] = b'{"status": "paid", "amount": 30, "tail": [1,}'  # invalid JSON
    values[13] = b"[1, 2, 3]"  # not an object
    values[14] = None  # a tombstone
    values[15] = orjson.dumps(_order(15, status="refunded"))
    values[600] = b'{"id": "o-600", "status": "paid", "amount": 25.0}'  # far fewer fields
    return values


@pytest.mark.parametrize(
    "build",
    [
        paid_in_eur,
        lambda app, sdf: sdf[sdf["flag"]].to_topic(app.topic("out")),  # a copy, filtered
        lambda app, sdf: sdf.with_columns(
            total=pl.col("amount") * 2, label=pl.lit("ü"), when=pl.lit(None)
        ).to_topic(app.topic("out")),
        lambda app, sdf: sdf[sdf["amount"] > 30].select("id", "amount").to_topic(app.topic("out")),
    ],
    ids=["filter+assign", "filter", "assign", "select"],
)
def test_pushdown_writes_what_a_full_decode_and_encode_writes(build: Build) -> None:
    values = _tricky()
    full, pushed = _run(build, values, pushdown=False), _run(build, values, pushdown=True)
    assert pushed.dead == full.dead
    assert {offset for offset, _, _ in full.dead} == {12, 13, 14}
    inputs = {r["id"]: r for v in values if (r := _object(v)) is not None}
    assert len(full.values["out"]) == len(pushed.values["out"]) > 100
    for encoded, passed in zip(full.values["out"], pushed.values["out"], strict=True):
        record = orjson.loads(passed or b"")
        # A full encode writes a record in its batch's shape: a field other records of the
        # batch have is written as null (test_pushdown_keeps_each_record_as_it_came).
        shaped = {
            name: value
            for name, value in orjson.loads(encoded or b"").items()
            if value is not None or name in inputs[record["id"]] or name in record
        }
        # Equal field by field, in the same order, numbers of the same type.
        assert _typed(record) == _typed(shaped)


def _object(value: bytes | None) -> dict[str, Any] | None:
    try:
        record = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def test_pushdown_keeps_each_record_as_it_came() -> None:
    """Where a full encode writes a record in its batch's shape (a field other records have,
    as null; a number in its column's type), the pass-through keeps the record's own."""
    values: list[bytes | None] = [orjson.dumps(_order(i, amount=30.0)) for i in range(400)]
    values[1] = b'{"id": "o-1", "status": "paid", "amount": 30}'
    full, pushed = _run(paid_in_eur, values, pushdown=False), _run(paid_in_eur, values, True)
    assert (
        pushed.values["out"][1]
        == b'{"id": "o-1", "status": "paid", "amount": 30,"amount_eur":27.6}'
    )
    as_full = orjson.loads(full.values["out"][1] or b"")
    assert as_full["amount"] == 30.0 and isinstance(as_full["amount"], float)
    assert as_full["note"] is None and "note" not in orjson.loads(pushed.values["out"][1] or b"")


@pytest.mark.broker
def test_a_live_run_passes_records_through_and_dead_letters_bad_ones(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str]
) -> None:
    source = make_topic("orders", partitions=2)
    out = unique("paid")
    values = _tricky(700)
    produce_records(
        bootstrap, source, [(b"k%d" % (i % 7), v, None, None) for i, v in enumerate(values)]
    )
    app = App(unique("pushdown-app"), bootstrap, consumer_config=FAST_GROUP)
    sdf = app.dataframe(app.topic(source, partitions=2))
    sdf = sdf[(sdf["status"] == "paid") & (sdf["amount"] >= 20)]
    sdf["amount_eur"] = sdf["amount"] * 0.92
    sdf.to_topic(app.topic(out))
    run_bounded(app)

    written = {
        orjson.loads(m.value())["id"]: orjson.loads(m.value()) for m in read_topic(bootstrap, out)
    }
    expected = {
        record["id"]: {**record, "amount_eur": record["amount"] * 0.92}
        for value in values
        if (record := _object(value)) is not None
        and record["status"] == "paid"
        and (record.get("amount") or 0) >= 20
    }
    assert written == expected
    dead = sorted(m.offset() for m in read_topic(bootstrap, f"{app.name}.dlq"))
    assert len(dead) == 3
