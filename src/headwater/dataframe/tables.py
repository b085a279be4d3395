"""Tables a stream joins: a compacted topic read as the latest row per key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater.topic import Topic


@dataclass(frozen=True)
class GlobalTable:
    """A compacted topic every member reads whole into a local copy: small reference data a
    stream joins by key with ``sdf.join_table(table, on=...)``, with no co-partitioning.
    Made by ``app.global_table(topic)``."""

    name: str
    topic: Topic


@dataclass(frozen=True)
class Table:
    """A compacted topic read as a table co-partitioned with the streams that join it (Kafka
    Streams' KTable): as many partitions as the stream and keyed alike, so each replica keeps
    only its assigned partitions' rows, in a store restored like any other. A record sets its
    key's row, a null value (a tombstone) deletes it. Made by ``app.table(topic)``; joined
    with ``sdf.join_table(table)``."""

    name: str
    topic: Topic
    node: str  # the plan step reading the table's topic
