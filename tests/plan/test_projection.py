"""Which fields each pipeline reads, and which outputs pass their input records through,
found from the plan alone (no broker, nothing run)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from headwater import App, agg
from headwater.dataframe.dataframe import StreamingDataFrame
from headwater.plan.projection import Projection, projection
from headwater.runtime.compile import compile_plan
from headwater.runtime.operators.steps import SourceOp, ToTopic


def _found(build: Callable[[App, StreamingDataFrame], Any], **topic: Any) -> Projection:
    app = App("projection-app")
    build(app, app.dataframe(app.topic("orders", **topic)))
    return projection(app.plan())


def _only(found: Projection) -> tuple[frozenset[str] | None, list[tuple[str, ...]]]:
    """The fields of the one source, and the splices of the outputs."""
    (fields,) = found.fields.values()
    return fields, list(found.splices.values())


def paid_in_eur(app: App, sdf: StreamingDataFrame) -> None:
    sdf = sdf[(sdf["status"] == "paid") & (sdf["amount"] >= 20)]
    sdf["amount_eur"] = sdf["amount"] * 0.92
    sdf.to_topic(app.topic("out"))


def test_a_filter_and_assign_reads_its_columns_and_passes_the_record_through() -> None:
    assert _only(_found(paid_in_eur)) == ({"status", "amount"}, [("amount_eur",)])


def test_a_copy_reads_no_field() -> None:
    assert _only(_found(lambda app, sdf: sdf.to_topic(app.topic("out")))) == (set(), [()])


def test_assigned_columns_are_spliced_in_the_order_a_full_encode_writes_them() -> None:
    def build(app: App, sdf: StreamingDataFrame) -> None:
        sdf["b"] = sdf["x"] + 1
        sdf = sdf.with_columns(a=pl.col("b") * 2, c=1)  # reads b, which the pipeline made
        sdf["b"] = sdf["b"] - 1
        sdf.set_key(sdf["k"]).to_topic(app.topic("out"), key=pl.col("k2"))

    assert _only(_found(build)) == ({"x", "k", "k2"}, [("b", "a", "c")])


def test_the_event_time_field_is_read() -> None:
    found = _found(paid_in_eur, timestamp="created_at")
    assert _only(found)[0] == {"status", "amount", "created_at"}


def test_a_selection_is_decoded_and_encoded_but_not_passed_through() -> None:
    def build(app: App, sdf: StreamingDataFrame) -> None:
        sdf = sdf[sdf["n"] > 1].select("a", "b")
        sdf["c"] = sdf["a"] * 2
        sdf.to_topic(app.topic("out"))

    assert _only(_found(build)) == ({"n", "a", "b"}, [])


def test_dropping_a_column_needs_every_other_field() -> None:
    assert _only(_found(lambda app, sdf: sdf.drop("x").to_topic(app.topic("out")))) == (None, [])


def test_an_output_overwriting_a_field_it_reads_is_encoded_in_full() -> None:
    def build(app: App, sdf: StreamingDataFrame) -> None:
        sdf["amount"] = sdf["amount"] * 2
        sdf.to_topic(app.topic("out"))

    assert _only(_found(build)) == (None, [])


@pytest.mark.parametrize(
    "step",
    [
        lambda sdf: sdf.apply(lambda v: v),
        lambda sdf: sdf.filter(lambda v: v["n"] > 1),
        lambda sdf: sdf.map_batches(lambda df: df),
        lambda sdf: sdf.set_key(lambda v: v["k"]),
        lambda sdf: sdf.print(),
        lambda sdf: sdf[pl.all().is_not_null().all()],  # pl.all(): every column
        lambda sdf: sdf.with_columns(n=pl.sum_horizontal(pl.col("^n.*$"))),  # a pattern of names
    ],
    ids=["apply", "filter(fn)", "map_batches", "set_key(fn)", "print", "pl.all()", "regex"],
)
def test_a_step_headwater_cannot_see_into_needs_every_field(step: Callable[[Any], Any]) -> None:
    found = _found(lambda app, sdf: step(sdf).to_topic(app.topic("out")))
    assert _only(found)[0] is None


def test_steps_that_keep_the_values_still_pass_the_record_through() -> None:
    """A row function that only filters or sets the key decodes every field, but the output
    is still the input record."""

    def build(app: App, sdf: StreamingDataFrame) -> None:
        sdf = sdf.filter(lambda v: v["n"] > 1).set_key(lambda v: v["k"])
        sdf["m"] = sdf["n"] * 2
        sdf.to_topic(app.topic("out"))

    assert _only(_found(build)) == (None, [("m",)])


def test_group_by_and_aggregations_need_every_field() -> None:
    def build(app: App, sdf: StreamingDataFrame) -> None:
        sdf.group_by("customer").agg_running(n=agg.count()).to_topic(app.topic("out"))

    found = _found(build)
    assert list(found.fields.values()) == [None, None]  # the input and the repartition topic
    assert found.splices == {}


def test_other_serializers_are_not_projected() -> None:
    found = _found(lambda app, sdf: sdf.to_topic(app.topic("out")), value="str")
    assert _only(found) == (None, [])

    def to_text(app: App, sdf: StreamingDataFrame) -> None:
        sdf[sdf["n"] > 1].to_topic(app.topic("out", value="str"))

    assert _only(_found(to_text)) == (None, [])


def test_branches_read_the_union_of_their_fields() -> None:
    def build(app: App, sdf: StreamingDataFrame) -> None:
        sdf[sdf["a"] > 1].to_topic(app.topic("first"))
        second = sdf[sdf["b"] > 1]
        second["c"] = second["a"] + 1
        second.to_topic(app.topic("second"))

    fields, splices = _only(_found(build))
    assert fields == {"a", "b"}
    assert splices == [(), ("c",)]


def test_one_opaque_branch_decodes_everything_and_the_others_still_pass_through() -> None:
    def build(app: App, sdf: StreamingDataFrame) -> None:
        sdf.apply(lambda v: {"n": len(v)}).to_topic(app.topic("sizes"))
        paid_in_eur(app, sdf)

    assert _only(_found(build)) == (None, [("amount_eur",)])


def test_a_branch_assigning_a_field_another_branch_reads_is_encoded_in_full() -> None:
    def build(app: App, sdf: StreamingDataFrame) -> None:
        sdf[sdf["x"] > 0].to_topic(app.topic("first"))
        sdf["x"] = 1
        sdf.to_topic(app.topic("second"))

    found = _found(build)
    assert _only(found) == (None, [()])  # the first branch still passes through


def test_compiling_with_pushdown_sets_the_fields_and_splices() -> None:
    app = App("projection-app")
    paid_in_eur(app, app.dataframe(app.topic("orders")))
    plan = app.plan()
    for pushdown, fields, splice in [
        (True, {"status", "amount"}, ("amount_eur",)),
        (False, None, None),
    ]:
        nodes = [n.operator for n in compile_plan(plan, pushdown)["orders"].walk()]
        source = next(op for op in nodes if isinstance(op, SourceOp))
        sink = next(op for op in nodes if isinstance(op, ToTopic))
        assert (source.fields, sink.splice) == (fields, splice)
