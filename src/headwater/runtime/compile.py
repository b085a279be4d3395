"""The compiler: a plan's steps become the runtime's operators, one tree per input topic.

Each step kind maps to one operator class; parameters come from the plan (expressions and user
code restored from its callable table). A ``late`` step becomes the side output of the window
it reads. The result is what the executor runs (see :mod:`headwater.runtime.graph`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater.dataframe.aggregations import Aggregation, from_spec
from headwater.dataframe.windows import Window
from headwater.errors import ConfigError
from headwater.lookup import LookupPolicy
from headwater.plan import Plan, Step
from headwater.plan.projection import Projection, projection
from headwater.runtime.graph import Node
from headwater.runtime.operators import steps as ops
from headwater.runtime.operators.asof_join import AsofJoin
from headwater.runtime.operators.copartitioned_table import CoPartitionedTableJoin
from headwater.runtime.operators.interval_join import IntervalJoin
from headwater.runtime.operators.lookup import LookupJoin
from headwater.runtime.operators.online_learning import OnlineLearning
from headwater.runtime.operators.repartition import GroupKey, RepartitionSource
from headwater.runtime.operators.running import RunningAggregate
from headwater.runtime.operators.session_join import SessionJoin
from headwater.runtime.operators.sink_step import ToSink
from headwater.runtime.operators.table_join import TableJoin
from headwater.runtime.operators.timers import KeyedProcess
from headwater.runtime.operators.two_input import TwoInputOperator
from headwater.runtime.operators.window_join import WindowJoin
from headwater.runtime.operators.window_strategies import (
    LateRecords,
    WindowAggregate,
    window_aggregate,
)
from headwater.runtime.time.watermark import WatermarkConfig


def compile_plan(plan: Plan, pushdown: bool = False) -> dict[str, Node]:
    """Per input topic, the root of its operator tree, in the order the plan reads them.

    A join's node is a child of both its parents: the trees of its two inputs meet there.
    ``pushdown``: sources decode only the fields their pipeline reads, and outputs that are
    their input records plus assigned columns write the input's bytes with those spliced in
    (:mod:`headwater.plan.projection`); for runs that write bytes, not frames."""
    nodes: dict[str, Node] = {}
    roots: dict[str, Node] = {}
    found = projection(plan) if pushdown else None
    for step in plan.steps:
        operator = _operator(plan, step)
        if found is not None:
            _project(operator, step, found)
        if not step.inputs:
            node = nodes[step.id] = Node(step.id, operator)
            roots[step.params["topic"]] = node
            continue
        parents = [nodes[i] for i in step.inputs]
        if len(parents) == 2 and isinstance(operator, TwoInputOperator):
            left, right = (_input_topic(p) for p in parents)
            operator.inputs = (left, right)
            nodes[step.id] = Node.join(step.id, operator, parents)
            continue
        if len(parents) != 1 or isinstance(operator, TwoInputOperator):
            raise ConfigError(f"step {step.id} ({step.kind}) reads {len(step.inputs)} inputs")
        parent = parents[0]
        node = nodes[step.id] = parent.add(step.id, operator)
        if isinstance(operator, LateRecords):
            assert isinstance(parent.operator, WindowAggregate | TwoInputOperator)
            parent.operator.late_node = node
    return roots


def _project(operator: ops.Operator, step: Step, found: Projection) -> None:
    if isinstance(operator, ops.SourceOp):
        operator.fields = found.fields.get(step.id)
    elif isinstance(operator, ops.ToTopic):
        operator.splice = found.splices.get(step.id)


def connected_inputs(roots: dict[str, Node]) -> list[list[str]]:
    """The input topics in groups that one executor drives: topics whose pipelines a join
    connects are in one group (in the plan's order); every other topic is alone."""
    groups: list[list[str]] = []
    reached: list[set[int]] = []
    for topic, root in roots.items():
        below = {id(n) for n in root.walk() if n.joins}
        for group, joins in zip(groups, reached, strict=True):
            if below & joins:
                group.append(topic)
                joins |= below
                break
        else:
            groups.append([topic])
            reached.append(below)
    return groups


def _input_topic(node: Node) -> str:
    """The input topic whose pipeline ``node`` belongs to (the left one's, below a join)."""
    while node.parents:
        node = node.parents[0]
    operator = node.operator
    assert isinstance(operator, ops.SourceOp | RepartitionSource)
    return operator.topic.name


def _operator(plan: Plan, step: Step) -> ops.Operator:
    build = _BUILDERS.get(step.kind)
    if build is None:
        raise ConfigError(f"step {step.id} has kind {step.kind!r}, which this runtime lacks")
    return build(plan, step, lambda name: plan.value(step, name))


Param = Callable[[str], Any]


def _source(plan: Plan, step: Step, p: Param) -> ops.Operator:
    topic = plan.topics[p("topic")]
    marks = p("watermarks")
    config = None if marks is None else WatermarkConfig(**marks)
    if step.params.get("internal"):
        return RepartitionSource(topic, config)
    return ops.SourceOp(topic, config, table=bool(step.params.get("table")))


def _aggregations(specs: dict[str, Any]) -> dict[str, Aggregation]:
    return {name: from_spec(spec) for name, spec in specs.items()}


def _group_key(plan: Plan, step: Step, p: Param) -> ops.Operator:
    topic = p("topic")
    repartition = None if topic is None else plan.topics[topic]
    return GroupKey(p("by"), p("name"), repartition, bool(p("watermarks")))


def _window(plan: Plan, step: Step, p: Param) -> ops.Operator:
    return window_aggregate(
        p("by"),
        Window(**p("window")),
        _aggregations(p("aggregations")),
        p("store"),
        p("emit"),
        p("allowed_lateness_ms"),
        p("early_every_s"),
    )


def _on(on: str | list[str] | None) -> list[str]:
    return [] if on is None else [on] if isinstance(on, str) else list(on)


_BUILDERS: dict[str, Callable[[Plan, Step, Param], ops.Operator]] = {
    "source": _source,
    "filter": lambda plan, step, p: (
        ops.FilterExpr(p("expression"))
        if "expression" in step.params
        else ops.FilterFunction(p("function"), p("metadata"), p("store"))
    ),
    "assign": lambda plan, step, p: ops.Assign(p("columns")),
    "select": lambda plan, step, p: ops.Select(p("columns")),
    "drop": lambda plan, step, p: ops.Drop(p("columns")),
    "rename": lambda plan, step, p: ops.Rename(dict(p("columns"))),
    "apply": lambda plan, step, p: ops.Apply(p("function"), p("expand"), p("metadata"), p("store")),
    "update": lambda plan, step, p: ops.Update(p("function"), p("metadata"), p("store")),
    "map_batches": lambda plan, step, p: ops.MapBatches(p("function"), p("format")),
    "lookup": lambda plan, step, p: LookupJoin(
        p("store"),
        p("on"),
        p("fields"),
        p("prefix"),
        p("how"),
        p("on_failure"),
        LookupPolicy(**p("policy")),
    ),
    "join_table": lambda plan, step, p: (
        CoPartitionedTableJoin(p("table"), p("store"), p("on"), p("fields"), p("prefix"), p("how"))
        if len(step.inputs) == 2
        else TableJoin(
            p("table"), plan.global_tables[p("table")], p("on"), p("fields"), p("prefix"), p("how")
        )
    ),
    "predict": lambda plan, step, p: ops.Predict(
        p("model"), p("features"), p("framework"), p("prefix")
    ),
    "learn": lambda plan, step, p: OnlineLearning(
        p("model"),
        p("target"),
        p("features"),
        p("metric"),
        p("per_key"),
        p("prefix"),
        p("store"),
    ),
    "set_key": lambda plan, step, p: ops.SetKey(p("key")),
    "set_timestamp": lambda plan, step, p: ops.SetTimestamp(p("timestamp")),
    "set_headers": lambda plan, step, p: ops.SetHeaders(p("function")),
    "to_topic": lambda plan, step, p: ops.ToTopic(plan.topics[p("topic")], p("key")),
    "print": lambda plan, step, p: ops.Print(p("metadata")),
    "to_sink": lambda plan, step, p: ToSink(p("sink"), p("name")),
    "group_by": _group_key,
    "agg_running": lambda plan, step, p: RunningAggregate(
        p("by"), _aggregations(p("aggregations")), p("store")
    ),
    "window": _window,
    "late": lambda plan, step, p: LateRecords(),
    "join_window": lambda plan, step, p: (
        SessionJoin(p("store"), p("gap_ms"), p("how"), p("suffix"), _on(p("on")))
        if step.params.get("gap_ms") is not None
        else WindowJoin(p("store"), p("size_ms"), p("step_ms"), p("how"), p("suffix"), _on(p("on")))
    ),
    "join_asof": lambda plan, step, p: AsofJoin(
        p("store"), p("tolerance_ms"), p("how"), p("suffix"), _on(p("on"))
    ),
    "join_interval": lambda plan, step, p: IntervalJoin(
        p("store"), p("lower_ms"), p("upper_ms"), p("how"), p("suffix"), _on(p("on"))
    ),
    "process": lambda plan, step, p: KeyedProcess(p("function"), p("on_timer"), p("store")),
}
