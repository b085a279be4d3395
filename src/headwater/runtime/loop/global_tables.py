"""Global tables in a live run: every partition of each table topic read into a local copy.

Each member reads all of a global table's topic with a consumer of its own (assigned every
partition, no group), starting where its local copy stopped. :meth:`GlobalTables.load` reads up
to the end offsets the topic has when it is called, before any stream record is processed, so a
stream record never meets a table that is still loading; :meth:`GlobalTables.poll`, called by
the loop between batches, keeps applying updates as they come (processing-time semantics, as
Kafka Streams' global tables).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from headwater.errors import BrokerError, ConfigError, MissingTopicError
from headwater.kafka.settings import KafkaSettings
from headwater.runtime.loop.batch import Source
from headwater.runtime.operators.table_join import TableJoin
from headwater.state.encoding import StateKey
from headwater.state.global_table import GlobalTableStore
from headwater.topic import Topic

if TYPE_CHECKING:
    from headwater.runtime.graph import Node

log = logging.getLogger("headwater.runner")

POLL_RECORDS = 5_000  # table records applied per loop iteration, so batches keep flowing


class GlobalTableReader:
    """Reads one table topic, every partition, into its :class:`GlobalTableStore`."""

    def __init__(self, topic: Topic, store: GlobalTableStore, kafka: KafkaSettings) -> None:
        self.topic = topic
        self.store = store
        self._consumer = Consumer(
            kafka.client_config(
                **{
                    "group.id": f"headwater-global-table-{store.name}",  # never joined: assign()
                    "enable.auto.commit": False,
                    "enable.partition.eof": True,
                    # A copy older than the topic's first offset (retention) starts over.
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                }
            )
        )
        metadata = self._consumer.list_topics(topic.name, timeout=10)
        info = metadata.topics.get(topic.name)
        if info is None or info.error is not None or not info.partitions:
            self._consumer.close()
            raise MissingTopicError(
                f"global table topic {topic.name!r} does not exist; create it first, e.g. "
                f"`headwater topics create {topic.name} --partitions 1 --config "
                "cleanup.policy=compact`"
            )
        self.partitions = sorted(info.partitions)
        self._consumer.assign(
            [TopicPartition(topic.name, p, store.next_offset(p)) for p in self.partitions]
        )

    def load(self, timeout: float = 300.0) -> int:
        """Read up to the end offsets found now; returns the records applied."""
        ends = {}
        for p in self.partitions:
            _, high = self._consumer.get_watermark_offsets(
                TopicPartition(self.topic.name, p), timeout=10
            )
            ends[p] = high
        behind = {p for p in self.partitions if self.store.next_offset(p) < ends[p]}
        applied = 0  # the loop below drops a partition once it reached its end
        deadline = time.monotonic() + timeout
        while behind:
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"global table {self.store.name!r} did not load {self.topic.name} to its end "
                    f"within {timeout:.0f} s; partitions {sorted(behind)} are still behind"
                )
            messages = self._consumer.consume(POLL_RECORDS, timeout=0.2)
            applied += self._apply(messages, at_end=behind)
            behind = {p for p in behind if self.store.next_offset(p) < ends[p]}
        log.info("global table %s loaded: %d records", self.store.name, applied)
        return applied

    def poll(self) -> int:
        """Apply the updates fetched since the last call, without waiting."""
        return self._apply(self._consumer.consume(POLL_RECORDS, timeout=0))

    def _apply(self, messages: list[Message], at_end: set[int] | None = None) -> int:
        by_partition: dict[int, list[tuple[int, StateKey, Any]]] = {}
        for m in messages:
            error = m.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    if at_end is not None:
                        # The end under read_committed (a transaction marker may sit past the
                        # last record): the partition is loaded.
                        at_end.discard(m.partition())
                    continue
                if error.fatal():
                    raise BrokerError(f"global table {self.store.name}: {error.str()}")
                log.warning("global table %s: %s", self.store.name, error.str())
                continue
            record = self._decode(m)
            if record is not None:
                by_partition.setdefault(m.partition(), []).append(record)  # type: ignore[arg-type]
        for partition, records in by_partition.items():
            self.store.apply(partition, records)
        return sum(len(r) for r in by_partition.values())

    def _decode(self, m: Message) -> tuple[int, StateKey, Any] | None:
        raw_key, raw_value = m.key(), m.value()
        offset: int = m.offset()  # type: ignore[assignment]
        try:
            if raw_key is None:
                raise ValueError("a table record needs a key")
            key = self.topic.key_serde.loads(raw_key)
            row = None if raw_value is None else self.topic.value_serde.loads(raw_value)
            if row is not None and not isinstance(row, dict):
                raise ValueError(f"a table row is an object of fields, not {type(row).__name__}")
        except Exception as exc:
            # Reference data has no pipeline to dead-letter it from: say so and go on.
            log.warning(
                "global table %s skips the record at %s[%s]@%s: %s",
                self.store.name,
                m.topic(),
                m.partition(),
                offset,
                exc,
            )
            return None
        return offset, key, row

    def close(self) -> None:
        self._consumer.close()


class GlobalTables:
    """The global tables of one app run: their local copies and readers."""

    def __init__(self, tables: dict[str, Topic], app: str, state_dir: Path) -> None:
        self.stores = {
            name: GlobalTableStore(Path(state_dir) / app / name, name, topic.name)
            for name, topic in tables.items()
        }
        self._topics = dict(tables)
        self._readers: list[GlobalTableReader] = []

    def load(self, kafka: KafkaSettings) -> None:
        """Start reading every table and read each to its current end."""
        for name, store in self.stores.items():
            reader = GlobalTableReader(self._topics[name], store, kafka)
            self._readers.append(reader)
            reader.load()

    def bind(self, roots: Iterable[Node]) -> None:
        """Give every table join of the compiled pipelines its table's local copy."""
        for root in roots:
            for node in root.walk():
                if isinstance(node.operator, TableJoin):
                    node.operator.rows = self.stores[node.operator.table]

    def apply_local(self, name: str, source: Source) -> None:
        """A local run: the records of ``source`` (one table topic's) applied in order."""
        topic = self._topics[name]
        records: dict[int, list[tuple[int, StateKey, Any]]] = {}
        for i in range(len(source)):
            raw_key, raw_value = source.raw_keys[i], source.raw_values[i]
            if raw_key is None:
                raise ConfigError(f"global table {name!r}: its test records need keys")
            key = topic.key_serde.loads(raw_key)
            row = None if raw_value is None else topic.value_serde.loads(raw_value)
            records.setdefault(source.partitions[i], []).append((source.offsets[i], key, row))
        for partition, applied in records.items():
            self.stores[name].apply(partition, applied)

    def poll(self) -> None:
        for reader in self._readers:
            reader.poll()

    def close(self) -> None:
        for reader in self._readers:
            reader.close()
        self._readers.clear()
        for store in self.stores.values():
            store.close()
