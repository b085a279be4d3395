"""The open windows of one input partition, columnar and in memory, written behind to its store.

A window operator merges each batch into a Polars frame (one row per key and open window)
instead of reading and writing one store entry per key and batch. The frame is attached to
the partition's store as write-behind state (:class:`~headwater.state.store.WriteBehind`): at
a checkpoint the keys that changed since the last one are written as the store's entries
(one per key, or deleted when the key has no open window left), so the changelog, recovery and
exactly-once work on entries as before. Savepoints keep the frame as it was (frames are
immutable, so that costs nothing); an abort, or a store reopened, drops it, and the operator
rebuilds it from the store's entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from headwater.runtime.operators.keyed import TimedCache
from headwater.runtime.time.watermark import MAX_TIME

if TYPE_CHECKING:
    from headwater.state.store import PartitionStore

# Rows of a frame of windows -> key -> that key's store entry.
ToEntries = Callable[[pl.DataFrame], dict[Any, dict[str, Any]]]


class OpenWindows(TimedCache):
    """One partition's open windows: ``frame`` has a row per key and window, ``end_column``
    their ends, ``key_column`` the state key. As a timed cache it also keeps the watermark
    its windows last closed at."""

    def __init__(
        self,
        store: PartitionStore,
        frame: pl.DataFrame,
        entry: str,
        to_entries: ToEntries,
        key_column: str,
        end_column: str,
    ) -> None:
        super().__init__(store)
        self.entry = entry
        self._to_entries = to_entries
        self._key, self._end = key_column, end_column
        self._changed: list[pl.Series] = []  # keys changed since the last flush
        self.frame = frame
        self.earliest = self._earliest()

    def replace(self, frame: pl.DataFrame, changed: pl.Series) -> None:
        """The open windows are now ``frame``; the keys in ``changed`` are to be written."""
        self.frame = frame
        if len(changed):
            self._changed.append(changed)
        self.earliest = self._earliest()

    def rows_of(self, keys: pl.Series) -> pl.DataFrame:
        """The windows of the given keys."""
        if self.frame.height == 0:
            return self.frame
        frame = self.frame
        if frame.schema[self._key] != keys.dtype:
            frame = frame.with_columns(pl.col(self._key).cast(keys.dtype, strict=False))
        return frame.filter(pl.col(self._key).is_in(keys.implode()))

    def without(self, keys: pl.Series) -> pl.DataFrame:
        """The windows of every key but the given ones."""
        if self.frame.height == 0:
            return self.frame
        return self.frame.filter(
            ~pl.col(self._key).is_in(
                keys.cast(self.frame.schema[self._key], strict=False).implode()
            )
        )

    def _earliest(self) -> int:
        if self.frame.height == 0:
            return MAX_TIME
        earliest = self.frame[self._end].min()
        return MAX_TIME if earliest is None else int(earliest)  # type: ignore[arg-type]

    # WriteBehind
    def flush(self, store: PartitionStore) -> None:
        super().flush(store)
        if not self._changed:
            return
        keys = list(dict.fromkeys(k for changed in self._changed for k in changed.to_list()))
        self._changed.clear()
        rows = self.rows_of(pl.Series(keys, dtype=self.frame.schema.get(self._key)))
        entries = self._to_entries(rows) if rows.height else {}
        store.set_many(entries.items(), self.entry)
        for key in keys:
            if key not in entries:
                store.delete(key, self.entry)  # no open window left: purged

    def snapshot(self) -> object:
        return self.frame, len(self._changed), super().snapshot()

    def restore(self, snapshot: object) -> None:
        frame, changed, watermark = cast(tuple[pl.DataFrame, int, object], snapshot)
        super().restore(watermark)
        self.frame = frame
        del self._changed[changed:]
        self.earliest = self._earliest()

    def discard(self) -> None:
        super().discard()
        self.frame = pl.DataFrame()
        self._changed.clear()
        self.earliest = MAX_TIME
