"""A compiled pipeline: a tree of operator nodes per input topic, and its JSON description.

The tree is what :mod:`headwater.runtime.compile` makes of a plan; ``describe`` gives the stable
topology document the platform draws (see docs/topology.md). A join is the one node with two
parents: it is a child of both, so the trees of its two input topics meet there and share what
follows it; it tells the records of one parent from the other's by their port (the parent's
position in ``parents``: 0 the left, 1 the right).
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
    parents: list[Node] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    @property
    def parent(self) -> Node | None:
        """The first parent (the left one of a join), None for a source."""
        return self.parents[0] if self.parents else None

    @property
    def joins(self) -> bool:
        """Whether this node has two parents (a join)."""
        return len(self.parents) > 1

    def add(self, node_id: str, operator: Operator) -> Node:
        child = Node(node_id, operator, parents=[self])
        self.children.append(child)
        return child

    @staticmethod
    def join(node_id: str, operator: Operator, parents: list[Node]) -> Node:
        """A node reading the records of every one of ``parents``, each on its own port."""
        node = Node(node_id, operator, parents=list(parents))
        for parent in parents:
            parent.children.append(node)
        return node

    def port(self, parent: Node) -> int:
        """Which input of this node ``parent``'s records arrive on."""
        for i, known in enumerate(self.parents):
            if known is parent:
                return i
        raise ValueError(f"node {parent.id} is not a parent of {self.id}")

    def walk(self) -> list[Node]:
        """This node and every node below it, each once (a join below is reached once)."""
        nodes: list[Node] = []
        seen: set[int] = set()
        stack = [self]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            nodes.append(node)
            stack.extend(reversed(node.children))
        return nodes


TOPOLOGY_VERSION = 1


def describe(app_name: str, roots: list[Node], dead_letter_topic: str | None) -> dict[str, Any]:
    """The stable, JSON-serializable topology of an app (see docs/topology.md)."""
    nodes: list[dict[str, Any]] = []
    inputs: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    seen: set[str] = set()
    for root in roots:
        for node in root.walk():
            if node.id in seen:  # below a join: reached from both of its inputs
                continue
            seen.add(node.id)
            op = node.operator
            described: dict[str, Any] = {
                "id": node.id,
                "kind": op.kind,
                "label": op.label,
                "params": op.params(),
                "parent": node.parent.id if node.parent else None,
                "children": [c.id for c in node.children],
            }
            if node.joins:  # ``parent`` names the left one only
                described["parents"] = [p.id for p in node.parents]
            nodes.append(described)
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
