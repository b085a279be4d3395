"""The contract of an operator with two inputs: a join.

A join's node has two parents (see :mod:`headwater.runtime.graph`); the executor hands it the
records of each on that parent's port, ``LEFT`` or ``RIGHT``, with :meth:`process_port`,
never :meth:`process`. Its results go on down one subtree, shared by both inputs' pipelines.

Both inputs are co-partitioned: partition ``i`` of one meets partition ``i`` of the other,
in the same app instance. The join keeps its state per port in a store of that port's input
topic (``stores[port]``, kept per partition of ``inputs[port]``), so each store is restored
and checkpointed with the offsets of its own topic; ``ctx.store(name, partition, topic)``
opens the other port's store of the same partition. A join that acts as time advances is
also a :class:`~headwater.runtime.operators.timed.TimedOperator`: its watermark for a
partition is the minimum of both inputs' (:class:`~headwater.runtime.time.join_time.JoinTime`).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.runtime.operators.steps import BatchContext, Operator

if TYPE_CHECKING:
    from headwater.runtime.graph import Node

LEFT, RIGHT = 0, 1
PORTS = ("left", "right")


class TwoInputOperator(Operator):
    """An operator reading two inputs, told apart by port (``LEFT``, ``RIGHT``).

    ``port_stores`` names the store kept per partition of each port's input topic; the
    compiler sets ``inputs``, those topics (the topics the pipelines of the two parents read).
    """

    # The ports whose event time the join waits for (None: both).
    time_ports: tuple[int, ...] | None = None

    def __init__(self, port_stores: tuple[str, str]) -> None:
        self.port_stores = port_stores
        self.stores = tuple(port_stores)
        self.inputs: tuple[str, str] = ("", "")
        self.late_node: Node | None = None  # the late() side output, if any

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        raise TypeError(f"{self.label} has two inputs: the executor calls process_port()")

    @abstractmethod
    def process_port(self, port: int, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        """The records of one input (``port``) arrived; returns the results to send on."""

    def port_store(self, port: int, partition: int, ctx: BatchContext) -> Any:
        """The store ``port`` keeps for ``partition`` (kept per partition of its topic)."""
        return ctx.store(self.port_stores[port], partition, self.inputs[port])

    def store_of(self, topic: str) -> str | None:
        """The store kept per partition of ``topic``, if this join keeps one."""
        for port, name in enumerate(self.inputs):
            if name == topic:
                return self.port_stores[port]
        return None
