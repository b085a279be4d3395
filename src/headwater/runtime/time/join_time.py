"""Event time below a join: each partition's watermark is the minimum of both inputs'.

A join waits for the slower of its inputs: a record of one input may still meet records of the
other up to that input's watermark. So the join, and every timed operator after it (up to the
next join), acts at ``min(left, right)`` for a partition, where each side is the
:class:`~headwater.runtime.time.pipeline_time.PipelineTime` of an input topic, or the
``JoinTime`` of an earlier join. A stream-table join waits for its stream alone (the sides its
operator's ``time_ports`` name): a record meets the table as it stands, whatever its time.
Nothing is observed here: the inputs' times observe their records (at the join's edge) and this
only combines them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from headwater.runtime.operators.timed import TimedOperator
from headwater.runtime.operators.two_input import TwoInputOperator

if TYPE_CHECKING:
    from headwater.runtime.graph import Node


class TimeDomain(Protocol):
    """The part of a pipeline whose timed operators act at one watermark per partition."""

    @property
    def live(self) -> set[int]: ...

    @property
    def operators(self) -> list[tuple[Node, TimedOperator]]: ...

    @property
    def timed(self) -> list[tuple[Node, TimedOperator]]: ...

    def watermark(self, partition: int) -> int: ...


def domain_nodes(start: Node) -> list[Node]:
    """``start`` and the nodes below it up to (not into) the next join."""
    nodes: list[Node] = []
    stack = [start]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(c for c in reversed(node.children) if not c.joins)
    return nodes


def joins_below(start: Node) -> list[Node]:
    """The joins the nodes of ``start``'s domain feed."""
    found: dict[int, Node] = {}
    for node in domain_nodes(start):
        for child in node.children:
            if child.joins:
                found.setdefault(id(child), child)
    return list(found.values())


class JoinTime:
    """The time domain that starts at the join ``node``, fed by ``sides`` (one per parent)."""

    def __init__(self, node: Node, sides: list[TimeDomain]) -> None:
        self.node = node
        self.sides = sides
        # The sides whose event time the join waits for: both, but for a stream-table join
        # only the stream (a table's rows are met as they stand, whatever their time).
        operator = node.operator
        ports = operator.time_ports if isinstance(operator, TwoInputOperator) else None
        self.clocks = sides if ports is None else [sides[p] for p in ports]
        nodes = domain_nodes(node)
        self.operators: list[tuple[Node, TimedOperator]] = [
            (n, n.operator) for n in nodes if isinstance(n.operator, TimedOperator)
        ]
        self.timed = [(n, op) for n, op in self.operators if op.timed]

    @property
    def live(self) -> set[int]:
        """Partitions this instance processes (of either input: they are co-partitioned)."""
        live: set[int] = set()
        for side in self.sides:
            live |= side.live
        return live

    def watermark(self, partition: int) -> int:
        return min(side.watermark(partition) for side in self.clocks)

    def forget(self, partition: int) -> None:
        for _, operator in self.operators:
            operator.forget(partition)
