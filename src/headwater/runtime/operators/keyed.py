"""What every keyed stateful operator shares: each row's input partition and state key, the
rows already applied before a crash, and in-memory state built from a partition's store.

A keyed operator keeps its state per input partition, in the store of that partition. Rows
are grouped by ``PARTITION`` and ``KEY`` (working columns added by :func:`keyed_frame`);
rows below their store's processed offset were applied before a crash and are dropped
(:func:`skip_applied`).

An operator may keep, per partition, state in memory that is faster for it than the store's
entries (open windows, an index of the keys due). Such state is a :class:`PartitionCache`:
it is attached to the store it was built from and follows one rule of validity, whatever it
holds: it stands for that store while the store is open and nothing discarded it (an abort,
a rolled-back pass it was built in, a changelog replay, a close). Otherwise it is rebuilt
from the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from headwater.runtime.loop.batch import KEY, ROW
from headwater.runtime.operators.steps import BatchContext, Operator, state_key
from headwater.runtime.time.watermark import MAX_TIME, MIN_TIME, persist_watermark, stored_watermark
from headwater.state.encoding import encode_key

if TYPE_CHECKING:
    from headwater.state.store import PartitionStore

# Working columns of a keyed operator: each row's input partition and state key.
PARTITION = "_hw_agg_partition"
KEY_COLUMN = "_hw_agg_key"
# Key types a store takes as they are; any other (a struct of several columns) goes as JSON.
PLAIN_KEYS = (pl.String, pl.Binary, pl.Int64, pl.Int32, pl.Int16, pl.Int8, pl.UInt32, pl.UInt16)


class KeyedOperator(Operator):
    """An operator with state per record key, in the store ``store`` of each input partition."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.stores = (store,)

    def partition_stores(self, frame: pl.DataFrame, ctx: BatchContext) -> dict[int, PartitionStore]:
        """The store of every input partition of a keyed frame's rows."""
        return {p: ctx.store(self.store, p) for p in frame[PARTITION].unique().to_list()}


class PartitionCache:
    """In-memory state built from one partition's store, attached to it as write-behind state
    (see :class:`~headwater.state.store.WriteBehind`); subclasses add what they keep."""

    def __init__(self, store: PartitionStore) -> None:
        self.store = store
        self.valid = True
        store.attach(self)

    def current(self, store: PartitionStore) -> bool:
        """The one rule: whether this state still stands for ``store`` (the store it was built
        from, still open, and nothing discarded this state since)."""
        return self.valid and self.store is store and not store.closed

    # WriteBehind
    def flush(self, store: PartitionStore) -> None:
        """Nothing to write by default: the store's entries are already the truth."""

    def snapshot(self) -> object:
        return None

    def restore(self, snapshot: object) -> None:
        """Nothing to restore by default."""

    def discard(self) -> None:
        self.valid = False


class TimedCache(PartitionCache):
    """A partition cache of a timed operator: it also keeps the watermark the operator last
    acted at (as of the store when built), and writes it to the store at every checkpoint
    where it moved, so after a restart the operator never acts as if time went back (a record
    late before the restart is late after it, even when no window had closed)."""

    def __init__(self, store: PartitionStore) -> None:
        super().__init__(store)
        self.watermark = self._written = stored_watermark(store, MIN_TIME)

    def moves(self, watermark: int) -> bool:
        """Whether acting at ``watermark`` would move the one kept."""
        return min(watermark, MAX_TIME) > self.watermark

    def advance(self, watermark: int) -> bool:
        """The operator acts at ``watermark``; whether that moved it (persisted at the next
        checkpoint)."""
        watermark = min(watermark, MAX_TIME)
        if watermark <= self.watermark:
            return False
        self.watermark = watermark
        return True

    def flush(self, store: PartitionStore) -> None:
        if self.watermark > self._written:
            self._written = persist_watermark(store, self.watermark)

    def snapshot(self) -> object:
        return self.watermark

    def restore(self, snapshot: object) -> None:
        assert isinstance(snapshot, int)
        self.watermark = snapshot


def keyed_frame(frame: pl.DataFrame, ctx: BatchContext, label: str) -> pl.DataFrame:
    """The frame with each row's input partition and state key; rows without a key fail."""
    rows = frame[ROW]
    partitions = pl.Series(PARTITION, ctx.source.partitions, dtype=pl.Int64).gather(rows)
    frame = frame.with_columns(partitions)
    keys = frame[KEY]
    if keys.null_count():
        nulls = keys.is_null()
        ctx.fail(
            frame.filter(nulls)[ROW].to_list(),
            ValueError(
                f"{label} needs a record key and this record has none; "
                "group_by() gives records their group as key"
            ),
            label,
        )
        frame = frame.filter(~nulls)
        keys = frame[KEY]
    if keys.dtype not in PLAIN_KEYS:
        keys = pl.Series([encode_key(state_key(k)) for k in keys.to_list()], dtype=pl.Binary)
    return frame.with_columns(keys.alias(KEY_COLUMN))


def skip_applied(
    frame: pl.DataFrame, ctx: BatchContext, stores: dict[int, PartitionStore]
) -> pl.DataFrame:
    """Drop rows below their store's processed offset: applied before a crash, and their
    outputs flushed before that offset was persisted."""
    processed = {p: store.processed_offset for p, store in stores.items()}
    if not any(processed.values()):
        return frame
    offsets = pl.Series(ctx.source.offsets, dtype=pl.Int64).gather(frame[ROW])
    floor = frame[PARTITION].replace_strict(processed, return_dtype=pl.Int64)
    return frame.filter(offsets >= floor)
