"""StateManager: the runtime's one handle on state: stores per assigned partition, checkpoints,
recovery.

Life of a checkpoint (see docs/state.md for why a crash at any point loses nothing):
1. ``write_behind()``: state operators keep in memory is written into the stores' entries;
2. ``changelog_records(input_offsets)``: every changed entry once, plus a marker, to produce;
3. the runtime flushes them with its outputs (in one transaction under exactly-once);
4. ``persist(input_offsets)``: one RocksDB batch per store with changes and offsets;
5. the runtime commits the input offsets.
On failure before step 4, ``abort()`` drops the changes; the inputs are processed again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, Message, TopicPartition

from headwater.errors import ConfigError, StateError
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings
from headwater.state.changelog import (
    ChangelogRecord,
    changelog_topic,
    check_store_name,
    create_changelogs,
)
from headwater.state.encoding import CHECKPOINT_KEY, OFFSET_HEADER
from headwater.state.recovery import RecoveryManager
from headwater.state.standby import StandbyStores
from headwater.state.store import PartitionStore
from headwater.topic import Topic

log = logging.getLogger("headwater.state")

Partitions = Iterable[TopicPartition | tuple[str, int]]
StoreId = tuple[str, str, int]  # store name, input topic, partition


@dataclass(frozen=True)
class StoreSpec:
    name: str
    input_topic: str
    changelog_topic: str


class StateManager:
    """Opens, checkpoints and recovers the stores of one app on this member.

    >>> state = StateManager("orders-app", "state", "localhost:9092")  # doctest: +SKIP
    >>> state.register_store("totals", "orders")  # doctest: +SKIP
    'orders-app-totals-changelog'
    """

    def __init__(
        self,
        app_name: str,
        state_dir: str | Path,
        settings: KafkaSettings | str | None = None,
        *,
        recovery_config: dict[str, Any] | None = None,
    ) -> None:
        self.app_name = app_name
        self.state_dir = Path(state_dir)
        self.settings = KafkaSettings.coerce(settings)
        self.recovery = RecoveryManager(self.settings, consumer_config=recovery_config)
        # Warm copies of stores of partitions other members own (standby replicas).
        self.standby = StandbyStores(self.settings, self._locate)
        self._specs: dict[str, StoreSpec] = {}
        self._open: dict[StoreId, PartitionStore] = {}
        self._sealed: dict[StoreId, int] = {}  # store version when its changelog was taken
        self._delivered: dict[tuple[str, int], int] = {}
        self._prepared = False
        self._changelogs: set[str] = set()

    # Set-up
    def register_store(self, store_name: str, input_topic: str | Topic) -> str:
        """Declare a store kept per partition of ``input_topic``; returns its changelog topic."""
        check_store_name(store_name)
        topic = input_topic.name if isinstance(input_topic, Topic) else input_topic
        spec = StoreSpec(store_name, topic, changelog_topic(self.app_name, store_name))
        known = self._specs.get(store_name)
        if known is not None and known != spec:
            raise ConfigError(
                f"store {store_name!r} is registered for {known.input_topic!r} and "
                f"{topic!r}; give each store one input topic, or another name"
            )
        self._specs[store_name] = spec
        self._prepared = False
        self._changelogs = {s.changelog_topic for s in self._specs.values()}
        return spec.changelog_topic

    @property
    def changelog_topics(self) -> dict[str, str]:
        """Changelog topic -> input topic, for every registered store."""
        return {s.changelog_topic: s.input_topic for s in self._specs.values()}

    def prepare(self, admin: TopicAdmin | None = None) -> list[str]:
        """Create missing changelog topics (compacted, partitions as their input); returns them."""
        created = create_changelogs(admin or TopicAdmin(self.settings), self.changelog_topics)
        if created:
            log.info("created changelog topics %s", ", ".join(created))
        self._prepared = True
        return created

    # Rebalances
    def on_assign(self, partitions: Partitions) -> None:
        """Open the stores of newly assigned input partitions and start their recovery."""
        assigned = _pairs(partitions)
        if not self._prepared and any(
            s.input_topic == t for t, _ in assigned for s in self._specs.values()
        ):
            self.prepare()
        for topic, partition in assigned:
            for spec in self._specs.values():
                if spec.input_topic != topic or (spec.name, topic, partition) in self._open:
                    continue
                # A standby of this partition is promoted: its files are the owned store's, and
                # recovery replays only the changelog tail it had not applied yet.
                self.standby.close_store((spec.name, topic, partition), reason="promoted")
                path, changelog = self._locate(spec.name, topic, partition)
                store = PartitionStore(path, spec.name, topic, partition, changelog)
                self._open[(spec.name, topic, partition)] = store
                self.recovery.add(store)

    def set_standbys(self, partitions: Partitions) -> set[tuple[str, int]]:
        """Keep standby stores for the stateful input partitions in ``partitions`` that are not
        assigned here (others are ignored), and for nothing else; returns those partitions."""
        wanted = [
            (spec.name, topic, partition)
            for topic, partition in _pairs(partitions)
            for spec in self._specs.values()
            if spec.input_topic == topic and (spec.name, topic, partition) not in self._open
        ]
        if wanted and not self._prepared:
            self.prepare()
        self.standby.update(wanted)
        return self.standby.partitions

    def _locate(self, store_name: str, topic: str, partition: int) -> tuple[Path, str]:
        """Where a store of one input partition lives, and its changelog topic."""
        spec = self._specs[store_name]
        return (
            self.state_dir / self.app_name / spec.name / f"{topic}-{partition}",
            spec.changelog_topic,
        )

    def on_revoke(self, partitions: Partitions) -> None:
        """Close the stores of revoked (or lost) partitions; unpersisted changes are dropped.

        Checkpoint before revoking to keep them; the files stay for a later reassignment.
        """
        for topic, partition in _pairs(partitions):
            for spec in self._specs.values():
                store = self._open.pop((spec.name, topic, partition), None)
                if store is None:
                    continue
                store.write_behind()
                if store.dirty_count:
                    log.warning(
                        "store %s closed with %d unpersisted changes; its partition's inputs "
                        "since the last checkpoint are processed again by the next owner",
                        store.describe(),
                        store.dirty_count,
                    )
                self.recovery.remove(store)
                self._sealed.pop((spec.name, topic, partition), None)
                store.close()

    # Access
    def is_ready(self, topic: str, partition: int) -> bool:
        """Whether every store of this input partition is open and recovered."""
        stores = [s for (_, t, p), s in self._open.items() if t == topic and p == partition]
        return bool(stores) and not any(self.recovery.is_recovering(s) for s in stores)

    def store(self, store_name: str, topic: str, partition: int) -> PartitionStore:
        store = self._open.get((store_name, topic, partition))
        if store is None:
            known = ", ".join(sorted(self._specs)) or "none"
            raise StateError(
                f"no open store {store_name!r} for {topic}[{partition}]: the partition is not "
                f"assigned here, or the store is not registered for {topic!r} (stores: {known})"
            )
        if self.recovery.is_recovering(store):
            raise StateError(
                f"store {store.describe()} is still recovering; process the partition once "
                "StateManager.is_ready() says so (call recovery.step() meanwhile)"
            )
        return store

    def stores(self) -> list[PartitionStore]:
        """Every open store (recovering or not)."""
        return list(self._open.values())

    # Checkpoint
    def write_behind(self) -> None:
        """Write every store's write-behind state into its entries: the first step of a
        checkpoint, before the changelog records are taken."""
        for store in self._open.values():
            store.write_behind()

    def changelog_records(
        self, input_offsets: Mapping[tuple[str, int], int]
    ) -> list[ChangelogRecord]:
        """The changelog records of this checkpoint: each changed entry once, then a marker.

        ``input_offsets`` maps (input topic, partition) to the next offset to process, as the
        checkpoint will commit it; it goes in every record's header and in the marker.
        """
        records: list[ChangelogRecord] = []
        self.write_behind()  # nothing if the checkpoint did it: a change is never left out
        for store_id, store in self._open.items():
            if not store.dirty_count:
                continue
            _, topic, partition = store_id
            offset = input_offsets.get((topic, partition))
            if offset is None:
                raise StateError(
                    f"store {store.describe()} changed, but the checkpoint gave no input offset "
                    f"for {topic}[{partition}]; pass the offsets about to be committed"
                )
            text = str(offset).encode()
            headers = [(OFFSET_HEADER, text)]
            changelog = store.changelog_topic or ""
            records.extend(
                ChangelogRecord(changelog, partition, entry, data, headers)
                for entry, data in store.changes()
            )
            records.append(ChangelogRecord(changelog, partition, CHECKPOINT_KEY, text, headers))
            self._sealed[store_id] = store.version
        return records

    def on_delivery(self, error: KafkaError | None, message: Message) -> None:
        """A producer delivery callback: remembers how far each changelog partition was written.

        With it (and successful deliveries reported), ``persist`` stores exact changelog offsets
        and a restart replays only what came after; without it, replay starts earlier (still
        correct, slower).
        """
        if error is not None:
            return
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic not in self._changelogs or partition is None or offset is None or offset < 0:
            return
        key = (topic, partition)
        self._delivered[key] = max(self._delivered.get(key, 0), offset + 1)

    def persist(
        self,
        input_offsets: Mapping[tuple[str, int], int],
        changelog_offsets: Mapping[tuple[str, int], int] | None = None,
    ) -> None:
        """After the changelog was flushed: write each store's changes and offsets atomically.

        ``changelog_offsets`` maps (changelog topic, partition) to the offset after the last
        record written; by default the offsets seen by :meth:`on_delivery` are used.
        """
        delivered = {**self._delivered, **(changelog_offsets or {})}
        for store_id, store in self._open.items():
            if self.recovery.is_recovering(store):
                continue
            store.write_behind()  # a change since the changelog was taken shows here
            if store.dirty_count and self._sealed.get(store_id) != store.version:
                raise StateError(
                    f"store {store.describe()} changed after changelog_records() was taken; "
                    "take the changelog records, flush them, then persist, with no processing "
                    "in between (or abort())"
                )
            _, topic, partition = store_id
            store.persist(
                input_offsets.get((topic, partition)),
                delivered.get((store.changelog_topic or "", partition)),
            )
        self._sealed.clear()
        self._delivered.clear()

    def abort(self) -> None:
        """Discard every change since the last persist (the flush or transaction failed)."""
        for store in self._open.values():
            store.abort()
        self._sealed.clear()
        self._delivered.clear()

    def close(self) -> None:
        """Close every store and the recovery consumers; unpersisted changes are dropped."""
        self.recovery.close()
        self.standby.close()
        for store in self._open.values():
            store.close()
        self._open.clear()
        self._sealed.clear()


def _pairs(partitions: Partitions) -> list[tuple[str, int]]:
    return [
        (p.topic, p.partition) if isinstance(p, TopicPartition) else (p[0], p[1])
        for p in partitions
    ]
