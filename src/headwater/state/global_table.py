"""A global table's local copy: every partition of a compacted topic, kept on this member.

A global table holds small reference data that every replica needs whole (a card's profile, a
product's category), so it is read from all partitions of its topic by every member instead of
being co-partitioned with the stream that joins it. The topic itself is the changelog (as Kafka
Streams' global stores): the copy keeps, per topic partition, a RocksDB store with the rows and
the next offset to read, written together in one batch, so a restart reads only what it has
not seen. A record sets its key's row; a tombstone (a null value) deletes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from headwater.state.encoding import StateKey
from headwater.state.store import PartitionStore

ROW_ENTRY = "row"  # the entry name a key's row is kept under


class GlobalTableStore:
    """The rows of one global table, a RocksDB store per partition of its topic.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     table = GlobalTableStore(Path(tmp), "cards", "card-profiles")
    ...     table.apply(0, [(0, "c1", {"limit": 500}), (1, "c2", {"limit": 80})])
    ...     table.apply(0, [(2, "c2", None)])  # a tombstone deletes c2
    ...     table.rows(["c1", "c2"]), table.next_offset(0)
    ...     table.close()
    ({'c1': {'limit': 500}}, 3)
    """

    def __init__(self, directory: Path, name: str, topic: str) -> None:
        self.directory = Path(directory)
        self.name = name
        self.topic = topic
        self._stores: dict[int, PartitionStore] = {}

    def partition(self, partition: int) -> PartitionStore:
        store = self._stores.get(partition)
        if store is None:
            path = self.directory / f"{self.topic}-{partition}"
            store = PartitionStore(path, self.name, self.topic, partition)
            self._stores[partition] = store
        return store

    def next_offset(self, partition: int) -> int:
        """The offset of ``partition`` to read from: every record below it is applied."""
        return self.partition(partition).processed_offset

    def apply(self, partition: int, records: Iterable[tuple[int, StateKey, Any]]) -> None:
        """Apply ``(offset, key, row)`` records of ``partition`` in log order (a None row is a
        tombstone) and persist them with the next offset in one atomic write."""
        store = self.partition(partition)
        last = None
        for offset, key, row in records:
            if offset < store.processed_offset:
                continue  # read again after a restart: already applied
            if row is None:
                store.delete(key, ROW_ENTRY)
            else:
                store.set(key, ROW_ENTRY, row)
            last = offset
        if last is not None:
            store.persist(input_offset=last + 1, changelog_offset=None)

    def rows(self, keys: Sequence[StateKey]) -> Mapping[StateKey, Any]:
        """The row of every key that has one (a key lives in one partition; each is asked)."""
        found: dict[StateKey, Any] = {}
        wanted = list(dict.fromkeys(keys))
        for store in self._stores.values():
            if not wanted:
                break
            values = store.get_many(wanted, ROW_ENTRY)
            found.update((k, v) for k, v in zip(wanted, values, strict=True) if v is not None)
            wanted = [k for k in wanted if k not in found]
        return found

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
