"""Which fields of its input records each pipeline reads, and which outputs are their input.

Two facts about a plan let the runtime skip work (see docs/topology.md, "Projection pushdown"):

- **The fields a source must decode.** Walking each pipeline back from its outputs, a step
  needs the columns its expressions name plus what the steps after it need. A step Headwater
  cannot see into (a Python ``apply``, ``map_batches``, a join, a window) or one that writes
  every field of the record it gets (``print``, a repartition, a sink, a ``to_topic`` that
  re-encodes) needs all of them: then the source decodes everything, as it would without
  this analysis. Only a source read with the plain ``json`` serializer is projected.
- **Pass-through outputs.** A ``to_topic`` whose steps from the source only filter, assign
  columns, set the key or the timestamp by expression writes "the input record plus the
  assigned columns": the runtime writes the input's bytes with those columns spliced in
  instead of encoding every field again. It needs none of the fields it passes through.

An output whose assigned columns include a field the pipeline also reads from its input
(``sdf["amount"] = sdf["amount"] * 2``) overwrites that field, so it is not a pass-through.

>>> from headwater import App
>>> app = App("shop", broker="localhost:9092")
>>> sdf = app.dataframe(app.topic("orders"))
>>> sdf = sdf[sdf["status"] == "paid"]
>>> sdf["amount_eur"] = sdf["amount"] * 0.92
>>> sdf = sdf.to_topic(app.topic("paid"))
>>> found = projection(app.plan())
>>> sorted(found.fields["n0"])
['amount', 'status']
>>> found.splices
{'n3': ('amount_eur',)}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from headwater.plan.plan import Plan, Step
from headwater.serde.codecs import JsonSerde

# Steps that keep every value column as it came (they drop records, set metadata, write or
# print) or only assign columns: a to_topic reached through these alone writes its input
# records plus the assigned columns.
_PASS_THROUGH = {
    "source",
    "filter",
    "assign",
    "set_key",
    "set_timestamp",
    "set_headers",
    "to_topic",
    "print",
}


@dataclass(frozen=True)
class Demand:
    """What a step's output must hold: these columns, or (``whole``) every field it has."""

    columns: frozenset[str] = frozenset()
    whole: bool = False

    def __or__(self, other: Demand) -> Demand:
        return Demand(self.columns | other.columns, self.whole or other.whole)

    def reading(self, names: frozenset[str] | None) -> Demand:
        """This demand plus the columns an expression reads (None: it may read any)."""
        if names is None:
            return Demand(self.columns, True)
        return Demand(self.columns | names, self.whole)


EVERYTHING = Demand(whole=True)


@dataclass(frozen=True)
class Projection:
    """``fields``: per source step id, the fields its records are decoded with (None: all of
    them). ``splices``: per pass-through ``to_topic`` step id, the columns written into the
    input record's bytes, in the order a full encode writes them."""

    fields: dict[str, frozenset[str] | None]
    splices: dict[str, tuple[str, ...]]


def projection(plan: Plan) -> Projection:
    """The fields each pipeline of ``plan`` reads and its pass-through outputs."""
    steps = {s.id: s for s in plan.steps}
    children: dict[str, list[Step]] = {s.id: [] for s in plan.steps}
    for step in plan.steps:
        for parent in step.inputs:
            children[parent].append(step)
    splices = {
        s.id: assigned
        for s in plan.steps
        if s.kind == "to_topic" and (assigned := _pass_through(plan, steps, s)) is not None
    }
    while True:
        demands: dict[str, Demand] = {}
        for step in reversed(plan.steps):  # every step comes after the steps it reads
            out = Demand()
            for child in children[step.id]:
                out = out | demands[child.id] if len(child.inputs) == 1 else EVERYTHING
            demands[step.id] = _needs(plan, step, out, step.id in splices)
        # An output that assigns a field its pipeline reads from the input overwrites it.
        overwriting = [
            sink
            for sink, assigned in splices.items()
            if set(assigned) & demands[_root(steps, steps[sink]).id].columns
        ]
        if not overwriting:
            break
        for sink in overwriting:
            del splices[sink]
    fields = {s.id: _decoded(plan, s, demands[s.id]) for s in plan.steps if s.kind == "source"}
    return Projection(fields, splices)


def _decoded(plan: Plan, source: Step, demand: Demand) -> frozenset[str] | None:
    topic = plan.topics[source.params["topic"]]
    if demand.whole or type(topic.value_serde) is not JsonSerde:
        return None
    event_time = frozenset([topic.timestamp]) if topic.timestamp else frozenset()
    return demand.columns | event_time


def _root(steps: dict[str, Step], step: Step) -> Step:
    while step.inputs:
        step = steps[step.inputs[0]]
    return step


def _pass_through(plan: Plan, steps: dict[str, Step], sink: Step) -> tuple[str, ...] | None:
    """The columns ``sink`` adds to its input records, if it writes them as they came."""
    if type(plan.topics[sink.params["topic"]].value_serde) is not JsonSerde:
        return None
    path = [sink]
    while path[-1].inputs:
        if len(path[-1].inputs) > 1:
            return None
        path.append(steps[path[-1].inputs[0]])
    source = plan.topics[path[-1].params["topic"]]
    if type(source.value_serde) is not JsonSerde:
        return None
    assigned: dict[str, None] = {}
    for step in reversed(path):
        if step.kind not in _PASS_THROUGH:
            return None
        if step.kind == "assign":
            assigned.update(dict.fromkeys(step.params["columns"]))
    return tuple(assigned)


def _needs(plan: Plan, step: Step, out: Demand, splices: bool) -> Demand:
    """What ``step`` needs of its input for its output to hold ``out``."""
    kind = step.kind
    if kind == "source":
        return out
    if kind in ("filter", "set_key", "set_timestamp"):
        return out.reading(_reads(plan, step))
    if kind == "assign":
        assigned = frozenset(step.params["columns"])
        return Demand(out.columns - assigned, out.whole).reading(_reads(plan, step))
    if kind == "to_topic":
        written = Demand() if splices else EVERYTHING
        return (out | written).reading(_reads(plan, step))
    if kind == "select":
        selected = frozenset(step.params["columns"])
        return Demand(selected if out.whole else out.columns & selected)
    if kind == "drop":
        return Demand(out.columns - frozenset(step.params["columns"]), out.whole)
    return EVERYTHING


def _reads(plan: Plan, step: Step) -> frozenset[str] | None:
    """The columns the expressions of ``step`` read; None if it may read any (user code,
    an expression over every column or a pattern of names)."""
    if "function" in step.params:
        return None  # a filter or set_headers calling Python with the whole record
    names: set[str] = set()
    for name in ("expression", "columns", "key", "timestamp"):
        if name not in step.params:
            continue
        value = plan.value(step, name)
        values = value.values() if isinstance(value, dict) else [value]
        if step.kind == "to_topic" and name == "key" and value is None:
            continue
        for item in values:
            read = _expression_reads(item)
            if read is None:
                return None
            names |= read
    return frozenset(names)


def _expression_reads(value: Any) -> set[str] | None:
    if not isinstance(value, pl.Expr):
        return None  # a function of the whole record
    # Polars writes any multi-column selection (pl.all(), a regex, a dtype) as a selector.
    if value.meta.has_multiple_outputs() or "cs." in str(value):
        return None
    return set(value.meta.root_names())
