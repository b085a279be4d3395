"""One store for one input partition: RocksDB on disk plus the changes of the open checkpoint.

Writes go to an in-memory dict of dirty entries (the latest value per entry, or None for a
delete); reads look there first, then in RocksDB. At a checkpoint the dirty entries become the
changelog records (each entry once, however often it changed) and then one RocksDB WriteBatch
that also holds the input offset processed up to and the changelog offset applied up to, so
data and offsets on disk always agree. ``abort()`` drops the dirty entries.

An operator may also keep state of its own in memory (in a form faster for it than one entry
per key) and attach it as :class:`WriteBehind`: the store writes it into its dirty entries
only when a checkpoint asks for the changes, takes it into savepoints, and discards it on an
abort (the operator then rebuilds it from the store).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, Protocol, cast

from rocksdict import DbClosedError, Options, Rdict, WriteBatch

from headwater.errors import StateError
from headwater.state.encoding import (
    StateKey,
    decode_value,
    encode_key,
    encode_value,
    entry_key,
    expiry_of,
    split_entry_key,
)
from headwater.state.state import State

META_FAMILY = "headwater"
_INPUT_OFFSET = b"input_offset"
_CHANGELOG_OFFSET = b"changelog_offset"


class WriteBehind(Protocol):
    """In-memory state of a store's entries, written into the store when a checkpoint needs it."""

    def flush(self, store: PartitionStore) -> None:
        """Write the changes since the last flush into the store's entries."""
        ...

    def snapshot(self) -> object:
        """The state as it is now, for :meth:`restore` (cheap: called every batch)."""
        ...

    def restore(self, snapshot: object) -> None: ...

    def discard(self) -> None:
        """Forget the in-memory state: the store's entries are the truth again."""
        ...


class Savepoint(NamedTuple):
    """What :meth:`PartitionStore.rollback` returns a store to."""

    dirty: dict[bytes, bytes | None]
    version: int
    behind: list[object]  # a snapshot of each attached WriteBehind


def _options() -> Options:
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    options.create_missing_column_families(True)
    return options


class PartitionStore:
    """Keyed state of one store for one input partition.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     store = PartitionStore(Path(tmp) / "counts", "counts", "orders", 0)
    ...     store.state("alice", timestamp_ms=0).set("n", 1)
    ...     store.get("alice", "n"), store.dirty_count
    ...     store.close()
    (1, 1)
    """

    def __init__(
        self,
        path: Path,
        store_name: str,
        topic: str,
        partition: int,
        changelog_topic: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.store_name = store_name
        self.topic = topic
        self.partition = partition
        self.changelog_topic = changelog_topic
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._db = Rdict(
                str(self.path), _options(), column_families={META_FAMILY: Options(raw_mode=True)}
            )
        except Exception as exc:
            raise StateError(
                f"cannot open state store {self.describe()} at {self.path}: {exc}; is another "
                "process running this app with the same state_dir?"
            ) from exc
        self._meta = self._db.get_column_family_handle(META_FAMILY)
        meta = self._db.get_column_family(META_FAMILY)
        stored_input, stored_changelog = meta.get(_INPUT_OFFSET), meta.get(_CHANGELOG_OFFSET)
        self._processed: int = 0 if stored_input is None else int(stored_input)
        self._changelog_offset: int | None = (
            None if stored_changelog is None else int(stored_changelog)
        )
        del meta  # a column-family view keeps the database open until it is released
        self._dirty: dict[bytes, bytes | None] = {}
        self._behind: list[WriteBehind] = []
        self.version = 0  # counts writes, so a checkpoint can tell if changes came in late
        self.aborts = 0
        self.closed = False

    def describe(self) -> str:
        return f"{self.store_name!r} for {self.topic}[{self.partition}]"

    # Offsets
    @property
    def processed_offset(self) -> int:
        """The input offset state changes are persisted up to: records below it were applied.

        A record reprocessed after a crash (offset below this) must not change state again.
        """
        return self._processed

    @property
    def changelog_offset(self) -> int | None:
        """The changelog offset this store is up to date with (None: never read or written)."""
        return self._changelog_offset

    # Per-key access
    def state(self, key: StateKey, timestamp_ms: int | None = None) -> State:
        """The state of one record key, read and written at event time ``timestamp_ms``."""
        return State(self, encode_key(key), timestamp_ms)

    def get(self, key: StateKey, name: str, default: Any = None, now_ms: int | None = None) -> Any:
        return self.read_entry(entry_key(encode_key(key), name), default, now_ms)

    def set(self, key: StateKey, name: str, value: Any, expires_at: int | None = None) -> None:
        self.write_entry(entry_key(encode_key(key), name), encode_value(value, name, expires_at))

    def delete(self, key: StateKey, name: str) -> None:
        self.write_entry(entry_key(encode_key(key), name), None)

    def exists(self, key: StateKey, name: str, now_ms: int | None = None) -> bool:
        return self.has_entry(entry_key(encode_key(key), name), now_ms)

    # Vectorised access: each key read and written once per batch
    def get_many(
        self,
        keys: Iterable[StateKey],
        name: str = "value",
        default: Any = None,
        now_ms: int | None = None,
    ) -> list[Any]:
        """The value of ``name`` for every key, in order (``default`` where there is none)."""
        entries = [entry_key(encode_key(k), name) for k in keys]
        found: list[bytes | None] = [None] * len(entries)
        missing: list[int] = []
        dirty = self._dirty
        for i, entry in enumerate(entries):
            if entry in dirty:
                found[i] = dirty[entry]
            else:
                missing.append(i)
        if missing:
            try:
                stored = cast(list[bytes | None], self._db.get([entries[i] for i in missing]))
            except DbClosedError:
                self._check_open()
                raise
            for i, data in zip(missing, stored, strict=True):
                found[i] = data
        values = []
        for entry, data in zip(entries, found, strict=True):
            if data is None or self._expired(entry, data, now_ms):
                values.append(default)
            else:
                values.append(decode_value(data)[0])
        return values

    def set_many(self, items: Iterable[tuple[StateKey, Any]], name: str = "value") -> None:
        """Set ``name`` for every ``(key, value)`` pair."""
        dirty = self._dirty
        count = 0
        for key, value in items:
            dirty[entry_key(encode_key(key), name)] = encode_value(value, name)
            count += 1
        self.version += count

    def write_entries(self, entries: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Write entries already encoded (entry key, value envelope or None to delete)."""
        self._dirty.update(entries)
        self.version += 1

    # Entry-level access (State's, see headwater.state.state.Entries)
    def _raw(self, entry: bytes, now_ms: int | None) -> bytes | None:
        try:
            data = self._dirty[entry] if entry in self._dirty else self._db.get(entry)
        except DbClosedError:
            self._check_open()
            raise
        if data is None or self._expired(entry, data, now_ms):
            return None
        return data

    def read_entry(self, entry: bytes, default: Any, now_ms: int | None) -> Any:
        data = self._raw(entry, now_ms)
        return default if data is None else decode_value(data)[0]

    def write_entry(self, entry: bytes, data: bytes | None) -> None:
        self._dirty[entry] = data
        self.version += 1

    def has_entry(self, entry: bytes, now_ms: int | None) -> bool:
        return self._raw(entry, now_ms) is not None

    def _expired(self, entry: bytes, data: bytes, now_ms: int | None) -> bool:
        if now_ms is None:
            return False
        expiry = expiry_of(data)
        if expiry is None or now_ms < expiry:
            return False
        self.write_entry(entry, None)  # expired: delete it, so the changelog forgets it too
        return True

    # Write-behind state
    def attach(self, behind: WriteBehind) -> None:
        """Keep ``behind`` in step with this store's checkpoints (see :class:`WriteBehind`)."""
        self._behind.append(behind)

    def write_behind(self) -> None:
        """Write the attached write-behind state's changes into the dirty entries (the first
        step of a checkpoint: the changelog and the persist then see them)."""
        for behind in self._behind:
            behind.flush(self)

    def _discard_behind(self, keep: int = 0) -> None:
        for behind in self._behind[keep:]:
            behind.discard()
        del self._behind[keep:]

    # Checkpoint
    @property
    def dirty_count(self) -> int:
        """How many entries changed since the last persist (write-behind state not written
        yet is not counted: see :meth:`write_behind`)."""
        return len(self._dirty)

    def changes(self) -> list[tuple[bytes, bytes | None]]:
        """Each entry changed since the last persist, once, with its latest value (None: gone);
        the write-behind state is written first."""
        self.write_behind()
        return list(self._dirty.items())

    def persist(self, input_offset: int | None, changelog_offset: int | None) -> None:
        """Write the write-behind state, the changes and the offsets in one atomic RocksDB
        batch, then forget the changes."""
        self._check_open()
        self.write_behind()
        batch = WriteBatch(raw_mode=True)
        for entry, data in self._dirty.items():
            if data is None:
                batch.delete(entry)
            else:
                batch.put(entry, data)
        if input_offset is not None and input_offset > self._processed:
            batch.put(_INPUT_OFFSET, str(input_offset).encode(), self._meta)
        if changelog_offset is not None:
            batch.put(_CHANGELOG_OFFSET, str(changelog_offset).encode(), self._meta)
        self._db.write(batch)
        if input_offset is not None:
            self._processed = max(self._processed, input_offset)
        if changelog_offset is not None:
            self._changelog_offset = changelog_offset
        self._dirty.clear()

    def savepoint(self) -> Savepoint:
        """The unpersisted changes as they are now, to roll back to (see :meth:`rollback`)."""
        return Savepoint(dict(self._dirty), self.version, [b.snapshot() for b in self._behind])

    def rollback(self, savepoint: Savepoint) -> None:
        """Undo the changes made since ``savepoint`` (a batch pass that is run again);
        write-behind state attached since is discarded."""
        self._dirty = dict(savepoint.dirty)
        for behind, snapshot in zip(self._behind, savepoint.behind, strict=False):
            behind.restore(snapshot)
        self._discard_behind(keep=len(savepoint.behind))
        self.version += 1

    def abort(self) -> None:
        """Discard every change since the last persist."""
        self._dirty.clear()
        self._discard_behind()
        self.version += 1
        self.aborts += 1  # lets caches built on the discarded changes know to rebuild

    # Recovery
    def apply_changelog(
        self,
        records: Iterable[tuple[bytes, bytes | None]],
        changelog_offset: int,
        processed_offset: int,
    ) -> None:
        """Apply replayed changelog records and the offsets they bring, in one atomic batch."""
        self._check_open()
        self.write_behind()
        if self._dirty:
            raise StateError(
                f"store {self.describe()} has unpersisted changes and cannot replay its "
                "changelog; persist() or abort() first"
            )
        batch = WriteBatch(raw_mode=True)
        for entry, data in records:
            if data is None:
                batch.delete(entry)
            else:
                batch.put(entry, data)
        batch.put(_CHANGELOG_OFFSET, str(changelog_offset).encode(), self._meta)
        if processed_offset > self._processed:
            batch.put(_INPUT_OFFSET, str(processed_offset).encode(), self._meta)
        self._db.write(batch)
        self._changelog_offset = changelog_offset
        self._processed = max(self._processed, processed_offset)
        self._discard_behind()  # built from the entries as they were

    def reset(self) -> None:
        """Forget every entry and both offsets, in one atomic batch: the store's changelog is
        behind it (recreated, or truncated), so it rebuilds from what the changelog holds."""
        self._check_open()
        self.abort()  # the unpersisted changes go, and caches built on the entries rebuild
        batch = WriteBatch(raw_mode=True)
        for entry in self._db.keys():  # noqa: SIM118 (an Rdict is not iterable)
            batch.delete(entry)
        batch.delete(_INPUT_OFFSET, self._meta)
        batch.delete(_CHANGELOG_OFFSET, self._meta)
        self._db.write(batch)
        self._processed = 0
        self._changelog_offset = None

    # Inspection and life cycle
    def raw_items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every persisted entry as stored (entry key, value envelope), in key order."""
        self._check_open()
        # Raw mode: keys and values are bytes.
        yield from self._db.items()

    def entries_named(self, name: str) -> Iterator[tuple[bytes, Any]]:
        """Every persisted entry called ``name``, as (record key, value), in key order."""
        for raw, _ in self.raw_items():
            try:
                key, entry_name = split_entry_key(raw)
            except Exception:  # the checkpoint marker and other non-entry keys
                continue
            if entry_name == name:
                yield key, self.get(key, name)

    def estimated_entries(self) -> int:
        """RocksDB's estimate of the entries persisted, read without a scan (for metrics)."""
        if self.closed:
            return 0
        return int(self._db.property_int_value("rocksdb.estimate-num-keys") or 0)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._dirty.clear()
        self._discard_behind()
        del self._meta  # release the handle, or the database stays locked
        self._db.close()

    def destroy(self) -> None:
        """Close the store and delete its files (state rebuilds from the changelog)."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

    def _check_open(self) -> None:
        if self.closed:
            raise StateError(
                f"store {self.describe()} is closed (its partition was revoked); "
                "get the current store from the StateManager"
            )
