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
