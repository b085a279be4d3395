"""Re-keying for ``group_by``: the step that keys records by their group, and its internal topic.

A grouped aggregation keeps state per group in the store of one partition, so every record of a
group must be read from one partition. ``GroupKey`` sets each record's key to its group value
and, unless the input is already keyed by it, produces the records to the app's repartition
topic ``<app>-<name>-repartition`` (as Kafka Streams does); the app reads that topic in the same
consumer group and the rest of the pipeline runs there. The producer's partitioner (murmur2, as
the Java client) sends all records of a group to one partition, in order.
"""

from __future__ import annotations

import logging
from typing import Any

import polars as pl

from headwater.kafka.admin import TopicAdmin, TopicInfo
from headwater.runtime.loop.batch import KEY, ROW
from headwater.runtime.operators.steps import BatchContext, Operator, SourceOp, with_missing
from headwater.topic import Topic

log = logging.getLogger("headwater.runner")


def repartition_topic_name(app_name: str, name: str) -> str:
    return f"{app_name}-{name}-repartition"


class GroupKey(Operator):
    """Keys every record by its group value (a struct of the values for several columns) and
    adds the group columns; a record whose group value is null goes to the dead letters."""

    kind = "group_by"

    def __init__(
        self, by: dict[str, pl.Expr], name: str, topic: Topic | None, watermarks: bool = False
    ) -> None:
        self.by = by
        self.name = name
        self.topic = topic  # the repartition topic, or None when records stay where they are
        # True when windows or timers follow: watermark markers then go along with the records.
        self.watermarks = watermarks

    def params(self) -> dict[str, Any]:
        return {
            "by": {column: str(expr) for column, expr in self.by.items()},
            "name": self.name,
            "repartition": self.topic is not None,
            "topic": None if self.topic is None else self.topic.name,
        }

    @property
    def label(self) -> str:
        return "group_by " + ", ".join(self.by)

    @property
    def marker_topic(self) -> Topic | None:
        """The repartition topic when windows follow: markers go along with the records."""
        return self.topic if self.watermarks else None

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        added: list[str] = []
        for expr in self.by.values():
            frame, missing = with_missing(frame, expr)
            added += missing
        frame = frame.with_columns([e.alias(c) for c, e in self.by.items()])
        frame = frame.drop([c for c in added if c not in self.by])
        columns = list(self.by)
        null = frame.select(pl.any_horizontal([pl.col(c).is_null() for c in columns])).to_series()
        if null.any():
            ctx.fail(
                frame.filter(null)[ROW].to_list(),
                ValueError(
                    f"group_by({', '.join(map(repr, columns))}): the group value is null; fill it "
                    "(e.g. sdf['col'].fill_null(...)) or filter such records out before group_by"
                ),
                self.label,
            )
            frame = frame.filter(~null)
        key = pl.col(columns[0]) if len(columns) == 1 else pl.struct(columns)
        frame = frame.with_columns(key.alias(KEY))
        if self.topic is not None and frame.height:
            ctx.emit(self.topic, frame)
        return frame


class RepartitionSource(SourceOp):
    """The root of the pipeline that continues after a ``group_by``, reading its topic."""

    internal = True
    reads_markers = True


def create_internal_topics(
    admin: TopicAdmin, internal: dict[str, str], existing: dict[str, TopicInfo]
) -> list[str]:
    """Create missing repartition topics (name -> upstream topic) with the upstream's
    partition count, in order (a topic can be the upstream of the next); returns those created.

    An upstream that does not exist is left to the missing-input check."""
    known = dict(existing)
    created: list[str] = []
    for name, upstream in internal.items():
        if name in known or upstream not in known:
            continue
        partitions = known[upstream].partitions
        # Records keep their event times: with the cluster's time retention, a replay of old
        # data would be deleted before it is read again (Kafka Streams does the same).
        created += admin.create([Topic(name, partitions=partitions, config={"retention.ms": "-1"})])
        known[name] = TopicInfo(name, partitions)
    if created:
        log.info("created internal topics %s", ", ".join(created))
    return created


def murmur2_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (and librdkafka's murmur2) picks for ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def murmur2(key: bytes) -> int:
    """Kafka's murmur2 hash of ``key`` as an unsigned 32-bit number."""
    m, length = 0x5BD1E995, len(key)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(key[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = length - length % 4
    extra = length % 4
    if extra == 3:
        h ^= key[tail + 2] << 16
    if extra >= 2:
        h ^= key[tail + 1] << 8
    if extra >= 1:
        h ^= key[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h
