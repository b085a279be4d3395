"""The plan is data: JSON that, with its callable table, compiles to the same operators."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import polars as pl
import pytest

from headwater import App, agg, windows
from headwater.errors import ConfigError
from headwater.plan import Plan
from headwater.runtime.compile import compile_plan
from headwater.runtime.graph import Node, describe
from headwater.runtime.loop.local import run_local
from headwater.runtime.operators.repartition import GroupKey
from headwater.runtime.operators.steps import Operator, SourceOp
from headwater.runtime.operators.window_strategies import WindowAggregate


def double(df: pd.DataFrame) -> pd.DataFrame:
    df["twice"] = df["amount"] * 2
    return df


def alert(value: dict[str, Any], ctx: Any) -> None:
    ctx.timers.register_event_time(ctx.timestamp + 1_000)


def on_timer(key: Any, timestamp: int, ctx: Any) -> dict[str, Any]:
    return {"alert": key, "at": timestamp}


def build() -> App:
    """A pipeline with every kind of step the plan must carry."""
    app = App("plan-app", max_batch_records=2)
    orders = app.dataframe(app.topic("orders", timestamp="ts")).with_watermarks(
        "1s", idle_timeout="1m"
    )
    big = orders[orders["amount"] > 1]
    big["eur"] = big["amount"] * 0.9
    big = big.with_columns(label=pl.col("customer").map_elements(str.upper, pl.String))
    big = big.map_batches(double).set_key(lambda v: v["customer"])
    big.to_topic(app.topic("big"), key="customer")
    totals = big.group_by("customer").agg_running(n=agg.count(), total=agg.sum("amount"))
    totals.to_topic(app.topic("totals"))
    windowed = orders.group_by("customer", name="per-second").window(
        windows.tumbling("1s"), allowed_lateness="500ms"
    )
    per_second = windowed.agg(
        n=agg.count(),
        p90=agg.quantile("amount", 0.9),
        most=agg.reduce("amount", max),
        rows=agg.apply_window(len),
    )
    per_second.to_topic(app.topic("per-second"))
    windowed.late().to_topic(app.topic("late"))
    alerts = orders.group_by("customer", name="alerts").process(alert, on_timer)
    alerts.to_topic(app.topic("alerts"))
    return app


def chain(roots: dict[str, Node]) -> list[tuple[Any, ...]]:
    """What makes two compiled plans the same: each operator's place, type and settings."""
    out: list[tuple[Any, ...]] = []
    for root in roots.values():
        for node in root.walk():
            op = node.operator
            out.append(
                (
                    node.id,
                    node.parent.id if node.parent else None,
                    type(op),
                    op.label,
                    json.dumps(op.params(), sort_keys=True),
                    _settings(op),
                )
            )
    return out


def _settings(op: Operator) -> Any:
    if isinstance(op, SourceOp):
        return op.watermarks
    if isinstance(op, GroupKey):
        return (op.watermarks, None if op.topic is None else op.topic.partitions)
    if isinstance(op, WindowAggregate):
        return None if op.late_node is None else op.late_node.id
    return None


def test_a_plan_rebuilt_from_its_json_compiles_to_the_same_operators() -> None:
    plan = build().plan()
    doc = json.loads(json.dumps(plan.to_json()))  # plain JSON, through text and back
    rebuilt = Plan.from_json(doc, plan.callables.entries())

    original, again = compile_plan(plan), compile_plan(rebuilt)
    assert chain(again) == chain(original)
    assert describe("plan-app", list(again.values()), None) == describe(
        "plan-app", list(original.values()), None
    )
    assert rebuilt.to_json() == plan.to_json()
    # The same user code, not copies of it.
    functions = [n.operator for n in again["orders"].walk() if n.operator.kind == "map_batches"]
    assert functions[0].fn is double  # type: ignore[attr-defined]


def test_the_rebuilt_plan_gives_the_same_records() -> None:
    app = build()
    rows = [
        {"customer": "a", "amount": 5, "ts": 1_000},
        {"customer": "b", "amount": 1, "ts": 1_200},
        {"customer": "a", "amount": 7, "ts": 2_500},
        {"customer": "b", "amount": 3, "ts": 5_000},
        {"customer": "a", "amount": 2, "ts": 500},  # late for the first second
    ]
    inputs = {"orders": (rows, None, None)}
    expected = app.run_local(inputs)
    plan = app.plan()
    rebuilt = Plan.from_json(json.loads(json.dumps(plan.to_json())), plan.callables.entries())
    result = run_local(rebuilt, app.run_settings(), inputs)
    assert set(result.outputs) == {"big", "totals", "per-second", "late", "alerts"}
    for topic, frame in expected.outputs.items():
        pd.testing.assert_frame_equal(result.outputs[topic], frame)


def test_the_json_names_user_code_by_id_and_qualified_name() -> None:
    plan = build().plan()
    doc = plan.to_json()
    assert (
        doc["callables"]["c0"] == "build.<locals>.<lambda>" or "double" in doc["callables"].values()
    )
    steps = {s["id"]: s for s in doc["steps"]}
    batches = next(s for s in steps.values() if s["kind"] == "map_batches")
    ref = batches["params"]["function"]
    assert doc["callables"][ref["callable"]] == "double" == ref["name"]
    source = next(s for s in steps.values() if s["params"].get("topic") == "orders")
    assert source["kind"] == "source" and source["inputs"] == []
    assert source["params"]["watermarks"] == {
        "max_out_of_orderness_ms": 1000,
        "idle_timeout": 60.0,
        "quiet_after": None,
    }
    window = next(s for s in steps.values() if s["kind"] == "window")
    assert window["params"]["aggregations"]["p90"] == {
        "kind": "quantile",
        "column": "amount",
        "q": 0.9,
        "relative_accuracy": 0.01,
    }
    assert window["schema"] == [
        "customer",
        "window_start",
        "window_end",
        "n",
        "p90",
        "most",
        "rows",
    ]
    late = next(s for s in steps.values() if s["kind"] == "late")
    assert late["inputs"] == [window["id"]]
    group = next(s for s in steps.values() if s["params"].get("name") == "per-second")
    assert group["params"]["watermarks"] is True  # a window follows: markers go along
    assert doc["internal_topics"] == {
        "plan-app-customer-repartition": "orders",
        "plan-app-per-second-repartition": "orders",
        "plan-app-alerts-repartition": "orders",
    }


def test_a_plan_without_its_callables_is_refused() -> None:
    plan = build().plan()
    table = plan.callables.entries()
    table.pop("c0")
    with pytest.raises(ConfigError, match=r"callables \['c0'\]"):
        Plan.from_json(plan.to_json(), table)


def test_the_plan_is_a_snapshot_and_topology_describes_it() -> None:
    app = App("snap")
    sdf = app.dataframe(app.topic("in"))
    before = app.plan()
    sdf.to_topic(app.topic("out"))
    assert [s.kind for s in before.steps] == ["source"]
    assert [s.kind for s in app.plan().steps] == ["source", "to_topic"]
    assert [n["kind"] for n in app.describe()["nodes"]] == ["source", "to_topic"]
