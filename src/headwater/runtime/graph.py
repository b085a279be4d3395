"""A compiled pipeline: a tree of operator nodes per input topic, and its JSON description.

The tree is what :mod:`headwater.runtime.compile` makes of a plan; ``describe`` gives the stable
topology document the platform draws (see docs/topology.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from headwater.runtime.operators.repartition import GroupKey, RepartitionSource
from headwater.runtime.operators.steps import Operator, SourceOp, ToTopic


@dataclass(eq=False)
class Node:
    """One operator in the tree; every child sees every record this node outputs."""

    id: str
    operator: Operator
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)

    def add(self, node_id: str, operator: Operator) -> Node:
        child = Node(node_id, operator, parent=self)
        self.children.append(child)
        return child

    def walk(self) -> list[Node]:
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes


TOPOLOGY_VERSION = 1


def describe(app_name: str, roots: list[Node], dead_letter_topic: str | None) -> dict[str, Any]:
    """The stable, JSON-serializable topology of an app (see docs/topology.md)."""
    nodes: list[dict[str, Any]] = []
    inputs: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    for root in roots:
        for node in root.walk():
            op = node.operator
            nodes.append(
                {
                    "id": node.id,
                    "kind": op.kind,
                    "label": op.label,
                    "params": op.params(),
                    "parent": node.parent.id if node.parent else None,
                    "children": [c.id for c in node.children],
                }
            )
            if isinstance(op, RepartitionSource):
                inputs.append({**op.topic.describe(), "node": node.id, "internal": True})
            elif isinstance(op, SourceOp):
                inputs.append({**op.topic.describe(), "node": node.id})
            elif isinstance(op, ToTopic):
                outputs.append({**op.topic.describe(), "node": node.id})
            elif isinstance(op, GroupKey) and op.topic is not None:
                outputs.append({**op.topic.describe(), "node": node.id, "internal": True})
    return {
        "version": TOPOLOGY_VERSION,
        "app": app_name,
        "inputs": inputs,
        "outputs": outputs,
        "dead_letter_topic": dead_letter_topic,
        "nodes": nodes,
    }
