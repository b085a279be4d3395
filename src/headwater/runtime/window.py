"""Windowed aggregation per key, vectorised: ``group_by(...).window(...).agg(...)``.

For a batch: rows already applied before a crash are dropped; each row is checked against its
partition's watermark as it was before the batch (a row all of whose windows have closed is
late and goes to the late side output); Polars assigns rows to windows (one row per row and
window, exploded) and computes each window's partial values per key; the partials of the
batch's keys' open windows are merged in (a Polars group-by of the partial rows: sums add,
minimums take the smaller, sessions that now overlap merge). In the store, a key's entry,
``win``, holds its open windows.

Tumbling, hopping and session windows keep their partition's open windows in memory as one
Polars frame (:class:`~headwater.runtime.window_state.OpenWindows`), written behind to the
store at checkpoints; sliding and count windows read and write the entries of the batch's keys.

Time windows close when the watermark passes their end plus the allowed lateness: the executor
calls :meth:`WindowAggregate.fire` after every batch and whenever time advances. In-memory
windows close with one filter on their ends; for sliding windows an in-memory index (key ->
earliest end, rebuilt from the store when a partition is first used) finds the keys due
without scanning the store. Closed windows are emitted (``emit="close"``) and purged. Sliding
windows keep their records (a later record opens a window reaching back over earlier ones);
count windows close when they hold ``size`` records.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.dataframe.aggregations import ApplyWindow
from headwater.runtime.aggregate import _KEY, _PARTITION, keyed_frame, skip_applied
from headwater.runtime.batch import KEY, ROW, TS, meta_columns, value_columns
from headwater.runtime.operators import BatchContext, Operator
from headwater.runtime.watermark import MAX_TIME, persist_watermark, stored_watermark
from headwater.runtime.window_state import OpenWindows

if TYPE_CHECKING:
    from headwater.dataframe.aggregations import Aggregation
    from headwater.dataframe.windows import Window
    from headwater.runtime.graph import Node
    from headwater.state.store import PartitionStore

log = logging.getLogger(__name__)

ENTRY = "win"  # a key's open windows
_P, _K = _PARTITION, _KEY
_START, _END = "_hw_win_start", "_hw_win_end"
_MAXTS, _LASTROW, _N = "_hw_win_maxts", "_hw_win_row", "_hw_win_n"
_RID, _SID = "_hw_win_rid", "_hw_win_sid"
_SEQ = "_hw_win_seq"  # in-memory windows: in the order they opened, which ties close in
_IN, _F = "_hw_in.", "_hw_f."
EMIT_MODES = ("close", "update")


class LateRecordError(ValueError):
    """A record whose windows had all closed when it was read."""


class LateRecords(Operator):
    """The root of a window's late side output: the late records, as they were read."""

    kind = "late"
    side = True  # fed by its window, not by the window's results

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        return frame


class WindowAggregate(Operator):
    """``group_by(...).window(window, ...).agg(**aggs)``: aggregates per key and window."""

    kind = "window"

    def __init__(
        self,
        group_columns: list[str],
        window: Window,
        aggs: dict[str, Aggregation],
        store: str,
        emit: str,
        lateness_ms: int,
        early_every: float | None = None,
    ) -> None:
        self.group_columns = group_columns
        self.window = window
        self.aggs = aggs
        self.store = store
        self.stores = (store,)
        self.emit = emit
        self.lateness = lateness_ms
        self.late_node: Node | None = None  # the late() side output, if any
        self.late_records = 0  # metric: records found late
        self.early_every = early_every  # seconds between early results, or None
        self._early_at = time.monotonic()
        # Partition -> keys whose windows changed since the last early results.
        self._changed: dict[int, set[Any]] = {}
        # Per aggregation, its fields and their working columns.
        self._fields = {
            name: {f: f"{_F}{name}.{f}" for f in agg.partial(pl.col("_"), pl.col(TS))}
            for name, agg in aggs.items()
        }
        # Partition -> (its store, the store's aborts then, key -> when it is due), and the
        # earliest of those.
        self._index: dict[int, tuple[PartitionStore, int, dict[Any, int]]] = {}
        self._earliest: dict[int, int] = {}
        # Tumbling, hopping and session windows: partition -> its open windows, in memory.
        self.in_memory = window.kind in ("tumbling", "hopping", "session")
        self._open: dict[int, OpenWindows] = {}
        self._opened = 0  # windows opened in memory so far: numbers them in order

    # Description
    def params(self) -> dict[str, Any]:
        return {
            "by": self.group_columns,
            "window": self.window.describe(),
            "aggregations": {name: agg.describe() for name, agg in self.aggs.items()},
            "emit": self.emit,
            "allowed_lateness_ms": self.lateness,
            "early_every_s": self.early_every,
            "store": self.store,
        }

    @property
    def label(self) -> str:
        aggs = ", ".join(f"{n}={a.describe()}" for n, a in self.aggs.items())
        return f"window {self.window.describe()} {aggs}"

    @property
    def timed(self) -> bool:
        """Whether windows close with event time (not count windows)."""
        return not self.window.by_count

    # A batch
    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        frame = keyed_frame(frame, ctx, self.label)
        if frame.height == 0:
            return _empty(frame)
        stores = {p: ctx.store(self.store, p) for p in frame[_P].unique().to_list()}
        frame = skip_applied(frame, ctx, stores)
        if frame.height == 0:
            return _empty(frame)
        original = [c for c in frame.columns if c not in (_P, _K)]
        frame = self._inputs(frame)
        if self.window.by_count:
            return self._process_count(frame, ctx, stores)
        marks = {p: self._watermark(p, store, ctx) for p, store in stores.items()}
        frame = frame.with_columns(
            pl.col(_P).replace_strict(marks, return_dtype=pl.Int64).alias("_hw_win_wm")
        )
        if self.window.kind == "sliding":
            late = pl.col(TS) + 1 + self.lateness <= pl.col("_hw_win_wm")
            on_time, late_rows = frame.filter(~late), frame.filter(late)
        else:
            on_time, late_rows = self._assign(frame)
        if late_rows.height:
            self._late(late_rows.select(original), ctx)
        if on_time.height == 0:
            return _empty(frame)
        if self.window.kind == "sliding":
            for p, store in stores.items():
                self._index_of(p, store)  # built before this batch's writes
            self._add_sliding(on_time, stores)
            return _empty(frame)
        merged = self._merge(self._partials(on_time), stores)
        self._save(merged, stores)
        if self.emit != "update":
            return _empty(frame)
        touched = merged.filter(pl.col(_LASTROW).is_not_null())
        return self._reported(self._results(touched), ctx)

    def _reported(
        self, results: tuple[pl.DataFrame, list[tuple[int, Exception]]], ctx: BatchContext
    ) -> pl.DataFrame:
        """Results of a batch, the windows whose result failed reported (by a record of
        theirs) and left out."""
        frame, failures = results
        if not failures:
            return frame
        rows = frame[ROW].to_list()
        for position, error in failures:
            ctx.fail([rows[position]], error, self.label)
        bad = [p for p, _ in failures]
        return frame.filter(~pl.int_range(pl.len()).is_in(bad))

    def _inputs(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Each aggregation's input as a column ``_hw_in.<name>`` (null where a field is
        missing); ``apply_window`` gets the record's values as a struct."""
        values = value_columns(frame)
        columns = []
        for name, agg in self.aggs.items():
            if isinstance(agg, ApplyWindow):
                columns.append(
                    pl.struct(
                        [
                            c
                            for c in values
                            if c not in self.group_columns and not c.startswith("_hw_")
                        ]
                    )
                )
            elif agg.expr is not None:
                columns.append(agg.expr)
            else:
                continue
            columns[-1] = columns[-1].alias(_IN + name)
        missing = {
            n
            for e in columns
            for n in e.meta.root_names()
            if n not in frame.columns and not n.startswith("_hw_")
        }
        if missing:
            frame = frame.with_columns([pl.lit(None).alias(n) for n in missing])
        frame = frame.with_columns(columns).drop(list(missing))
        untyped = [c for c in frame.columns if c.startswith(_IN) and frame.schema[c] == pl.Null]
        if untyped:
            frame = frame.with_columns(pl.col(untyped).cast(pl.Int64))
        return frame

    def _watermark(self, partition: int, store: PartitionStore, ctx: BatchContext) -> int:
        """The partition's watermark: the pipeline's, never below the one persisted."""
        return stored_watermark(store, ctx.watermark(partition))

    def _assign(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Rows per (record, window) of the windows still open, and the late records."""
        window, ts = self.window, pl.col(TS)
        frame = frame.with_columns(pl.int_range(pl.len()).alias(_RID))
        if window.kind == "session":
            start, end = ts, ts + window.gap
        elif window.kind == "tumbling":
            start = (ts // window.size) * window.size
            end = start + window.size
        else:  # hopping: every window starting at a multiple of step that covers ts
            base = (ts // window.step) * window.step
            count = -(-window.size // window.step)
            start = pl.concat_list([base - i * window.step for i in range(count)])
            end = None
        pairs = frame.with_columns(start.alias(_START))
        if end is None:
            pairs = pairs.explode(_START).with_columns((pl.col(_START) + window.size).alias(_END))
            pairs = pairs.filter(pl.col(_END) > ts)
        else:
            pairs = pairs.with_columns(end.alias(_END))
        open_ = pl.col(_END) + self.lateness > pl.col("_hw_win_wm")
        kept = pairs.filter(open_)
        late = frame.filter(~pl.col(_RID).is_in(kept[_RID].unique().implode()))
        return kept, late

    def _late(self, late: pl.DataFrame, ctx: BatchContext) -> None:
        self.late_records += late.height
        log.info(
            "%s: %d late records (%d so far)%s",
            self.label,
            late.height,
            self.late_records,
            "" if self.late_node is not None else "; they go to the dead letters",
        )
        if self.late_node is not None:
            ctx.side(self.late_node, late)
            return
        ctx.fail(
            late[ROW].unique(maintain_order=True).to_list(),
            LateRecordError(
                f"{self.label}: late record, every window it belongs to had closed (its event "
                "time is behind the watermark by more than the allowed lateness); route late "
                "records with .late(), or allow more lateness"
            ),
            self.label,
        )

    # Partial aggregates
    def _partial_exprs(self) -> list[pl.Expr]:
        ts = pl.col(TS)
        exprs = [
            pl.col(KEY).first(),
            *[pl.col(g).first() for g in self.group_columns],
            pl.col(ROW).max().alias(_LASTROW),
            ts.max().alias(_MAXTS),
            pl.len().cast(pl.Int64).alias(_N),
        ]
        for name, agg in self.aggs.items():
            value = ts if agg.expr is None else pl.col(_IN + name)
            for field, expr in agg.partial(value, ts).items():
                exprs.append(expr.alias(self._fields[name][field]))
        return exprs

    def _combine_exprs(self) -> list[pl.Expr]:
        exprs = [
            pl.col(_LASTROW).max(),
            pl.col(_MAXTS).max(),
            pl.col(_N).sum(),
        ]
        for name, agg in self.aggs.items():
            fields = {f: pl.col(c) for f, c in self._fields[name].items()}
            for field, column in self._fields[name].items():
                exprs.append(agg.combine(field, fields).alias(column))
        return exprs

    def _finish(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Python aggregations turn their lists of values or states into one stored state."""
        for name, agg in self.aggs.items():
            for field, column in self._fields[name].items():
                fn = agg.finish_partial(field)
                if fn is not None:
                    values = [fn(v) for v in frame[column].to_list()]
                    frame = frame.with_columns(pl.Series(column, values, dtype=pl.String))
        return frame

    def _partials(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """The batch's partial values per partition, key and window."""
        if self.window.kind == "session":
            gap = self.window.gap
            pairs = pairs.sort([_P, _K, TS], maintain_order=True)
            new = (pl.col(TS) - pl.col(TS).shift(1)).over([_P, _K]) >= gap
            pairs = pairs.with_columns(new.fill_null(True).cum_sum().over([_P, _K]).alias(_SID))
            out = pairs.group_by([_P, _K, _SID], maintain_order=True).agg(
                pl.col(TS).min().alias(_START),
                (pl.col(TS).max() + gap).alias(_END),
                *self._partial_exprs(),
            )
            return self._finish(out.drop(_SID))
        grouped = pairs.group_by([_P, _K, _START, _END], maintain_order=True)
        return self._finish(grouped.agg(self._partial_exprs()))

    def _field_columns(self) -> list[str]:
        return [c for fields in self._fields.values() for c in fields.values()]

    def _merge(self, batch: pl.DataFrame, stores: dict[int, PartitionStore]) -> pl.DataFrame:
        """Every open window of the batch's keys, the batch's partials merged in."""
        ident = batch.group_by([_P, _K], maintain_order=True).agg(
            pl.col(KEY).first(), *[pl.col(g).first() for g in self.group_columns]
        )
        columns = [_P, _K, _START, _END, _LASTROW, _MAXTS, _N, *self._field_columns()]
        previous = self._stored_windows(ident, stores)
        rows = batch.select(columns)
        if previous.height:
            rows = pl.concat([previous, rows], how="diagonal_relaxed")
        if _SEQ not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=pl.Int64).alias(_SEQ))
        opened = [pl.col(_SEQ).min()]  # a window keeps its place; new ones get theirs on save
        if self.window.kind == "session":
            rows = rows.sort([_P, _K, _START], maintain_order=True)
            reach = pl.col(_END).cum_max().shift(1).over([_P, _K])
            new = (pl.col(_START) >= reach).fill_null(True).cum_sum().over([_P, _K])
            merged = (
                rows.with_columns(new.alias(_SID))
                .group_by([_P, _K, _SID], maintain_order=True)
                .agg(pl.col(_START).min(), pl.col(_END).max(), *self._combine_exprs(), *opened)
                .drop(_SID)
            )
        else:
            merged = rows.group_by([_P, _K, _START, _END], maintain_order=True).agg(
                *self._combine_exprs(), *opened
            )
        return self._finish(merged).join(ident, on=[_P, _K], how="left", maintain_order="left")

    def _stored_windows(
        self, ident: pl.DataFrame, stores: dict[int, PartitionStore]
    ) -> pl.DataFrame:
        """The open windows of the batch's keys before the batch."""
        parts = []
        for (partition,), keyed in ident.group_by(_P, maintain_order=True):
            rows = self._open_of(int(partition), stores[int(partition)]).rows_of(keyed[_K])
            if rows.height:
                parts.append(rows)
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()

    def _save(self, merged: pl.DataFrame, stores: dict[int, PartitionStore]) -> None:
        """The batch's keys' open windows replace theirs in memory."""
        opened = pl.col(_SEQ).is_null()
        numbers = self._opened + opened.cum_sum() - 1
        count = int(merged[_SEQ].null_count())
        merged = merged.with_columns(
            pl.lit(None, dtype=pl.Int64).alias(_LASTROW),
            pl.when(opened).then(numbers).otherwise(pl.col(_SEQ)).alias(_SEQ),
        )
        self._opened += count
        for (partition,), windows in merged.group_by(_P, maintain_order=True):
            p = int(partition)
            open_ = self._open_of(p, stores[p])
            keys = windows[_K].unique(maintain_order=True)
            rest = open_.without(keys)
            frame = pl.concat([rest, windows], how="diagonal_relaxed") if rest.height else windows
            open_.replace(frame, keys)
            if self.early_every is not None:
                self._changed.setdefault(p, set()).update(keys.to_list())

    def _open_of(self, partition: int, store: PartitionStore) -> OpenWindows:
        """The partition's open windows in memory, built from its store when the partition is
        new to this instance, its store was reopened, or its changes were aborted."""
        known = self._open.get(partition)
        if known is not None and known.current(store):
            return known
        rows = [
            row
            for key, entry in _stored_entries(store)
            for row in _window_rows(partition, key, entry)
        ]
        frame = pl.DataFrame()
        if rows:
            frame = pl.DataFrame(rows, infer_schema_length=None, strict=False)
            frame = frame.with_columns((self._opened + pl.int_range(pl.len())).alias(_SEQ))
            self._opened += frame.height
        open_ = OpenWindows(
            store,
            frame,
            ENTRY,
            lambda windows: self._entries(windows, {}).get(partition, {}),
            _K,
            _END,
        )
        store.attach(open_)
        self._open[partition] = open_
        return open_

    def _entries(
        self, windows: pl.DataFrame, entries: dict[int, dict[Any, dict[str, Any]]]
    ) -> dict[int, dict[Any, dict[str, Any]]]:
        """Per partition and key, the entry holding the given windows (added to ``entries``)."""
        fields = self._field_columns()
        names = [c.removeprefix(_F) for c in fields]
        columns = [_P, _K, KEY, _START, _END, _MAXTS, _N, *fields, *self.group_columns]
        split = len(fields)
        # Plain tuples, read by position: this runs for every open window at a checkpoint.
        for p, k, key, start, end, maxts, n, *values in windows.select(columns).iter_rows():
            keyed = entries.setdefault(p, {})
            entry = keyed.get(k)
            if entry is None:
                groups = dict(zip(self.group_columns, values[split:], strict=True))
                entry = keyed[k] = {"key": key, "groups": groups, "windows": []}
            entry["windows"].append(
                [start, end, maxts, n, dict(zip(names, values[:split], strict=True))]
            )
        return entries

    # Closing windows
    def _index_of(self, partition: int, store: PartitionStore) -> dict[Any, int]:
        """Key -> when its earliest window is due, for one partition's store (rebuilt from
        the store when the partition is new to this instance, its store was reopened, or its
        changes were aborted: closings the abort undid must happen again)."""
        known = self._index.get(partition)
        if known is not None and known[0] is store and known[1] == store.aborts:
            return known[2]
        index = {key: _due(entry, self.window.kind) for key, entry in _stored_entries(store)}
        self._index[partition] = (store, store.aborts, index)
        self._earliest[partition] = min(index.values(), default=MAX_TIME)
        return index

    def early_due(self, now: float) -> bool:
        """Whether early results are due (``early_every`` seconds since the last)."""
        if self.early_every is None or now - self._early_at < self.early_every:
            return False
        self._early_at = now
        return True

    def early(
        self, partition: int, ctx: BatchContext
    ) -> tuple[pl.DataFrame, list[tuple[int, Exception]]] | None:
        """The results so far of the partition's open windows that changed since the last
        early results (nothing is closed or changed)."""
        keys = list(self._changed.pop(partition, ()))
        if not keys:
            return None
        store = ctx.store(self.store, partition)
        if self.in_memory:
            frame = self._open_of(partition, store).rows_of(pl.Series(keys))
        else:
            rows: list[dict[str, Any]] = []
            for key, entry in zip(keys, store.get_many(keys, ENTRY), strict=True):
                if entry:
                    rows.extend(_window_rows(partition, key, entry))
            frame = pl.DataFrame(rows, infer_schema_length=None, strict=False)
        if frame.height == 0:
            return None
        frame = frame.sort(_END, maintain_order=True).with_columns(
            pl.int_range(pl.len()).alias(_LASTROW)
        )
        return self._results(frame)

    def forget(self, partition: int) -> None:
        self._changed.pop(partition, None)
        self._index.pop(partition, None)
        self._earliest.pop(partition, None)
        self._open.pop(partition, None)

    def fire(
        self, partition: int, watermark: int, ctx: BatchContext
    ) -> tuple[pl.DataFrame, list[tuple[int, Exception]]] | None:
        """Close the partition's windows the watermark has passed (plus the allowed
        lateness); returns their results (none with ``emit="update"``) and the results that
        failed, by position, or None when nothing closed."""
        limit = watermark - self.lateness
        if self.in_memory:
            return self._fire_in_memory(partition, watermark, limit, ctx)
        known = self._index.get(partition)
        fresh = known is not None and known[0].aborts == known[1] and not known[0].closed
        if fresh and self._earliest.get(partition, MAX_TIME) > limit:
            return None  # the usual case: nothing due, found without looking at the keys
        store = ctx.store(self.store, partition)
        index = self._index_of(partition, store)
        due = [k for k, end in index.items() if end <= limit]
        if not due:
            return None
        closed: list[dict[str, Any]] = []
        keep: list[tuple[Any, dict[str, Any]]] = []
        drop: list[Any] = []
        sliding = self.window.kind == "sliding"
        for key, entry in zip(due, store.get_many(due, ENTRY), strict=True):
            if not entry:
                index.pop(key, None)
                continue
            if sliding:
                ends, rest = _close_sliding(entry, limit, self.window.size)
                closed.extend(_sliding_rows(partition, key, entry, ends, self.window.size))
            else:
                done, rest = _close(entry, limit)
                closed.extend(_window_rows(partition, key, {**entry, "windows": done}))
            if rest is None:
                drop.append(key)
                index.pop(key, None)
            else:
                keep.append((key, rest))
                index[key] = _due(rest, self.window.kind)
        for key in drop:
            store.delete(key, ENTRY)
        store.set_many(keep, ENTRY)
        self._earliest[partition] = min(index.values(), default=MAX_TIME)
        frame = pl.DataFrame(closed, infer_schema_length=None, strict=False)
        if sliding and closed:
            frame = self._finish(
                frame.group_by([_P, _K, _START, _END], maintain_order=True).agg(
                    self._partial_exprs()
                )
            )
        return self._closed(store, watermark, frame)

    def _fire_in_memory(
        self, partition: int, watermark: int, limit: int, ctx: BatchContext
    ) -> tuple[pl.DataFrame, list[tuple[int, Exception]]] | None:
        known = self._open.get(partition)
        if known is not None and known.current(known.store) and known.earliest > limit:
            return None  # the usual case: nothing due, found without looking at the windows
        store = ctx.store(self.store, partition)  # before any change: the savepoint
        open_ = self._open_of(partition, store)
        if open_.frame.height == 0 or open_.earliest > limit:
            return None
        due = pl.col(_END) <= limit
        closed = open_.frame.filter(due)
        open_.replace(open_.frame.filter(~due), closed[_K].unique(maintain_order=True))
        return self._closed(store, watermark, closed)

    def _closed(
        self, store: PartitionStore, watermark: int, closed: pl.DataFrame
    ) -> tuple[pl.DataFrame, list[tuple[int, Exception]]]:
        """Windows that closed: the watermark is persisted, their results returned (none
        with ``emit="update"``)."""
        persist_watermark(store, watermark)
        if closed.height == 0 or self.emit == "update":
            return pl.DataFrame(), []
        order = [_END, _SEQ] if _SEQ in closed.columns else [_END]
        frame = closed.sort(order, maintain_order=True).with_columns(
            pl.int_range(pl.len()).alias(_LASTROW)
        )
        return self._results(frame)

    def _results(self, windows: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple[int, Exception]]]:
        """Output records: group columns, window start and end, one column per aggregate;
        keyed by the group, timed at the window's latest record."""
        outputs: list[pl.Expr] = []
        python: list[str] = []
        for name, agg in self.aggs.items():
            expr = agg.output({f: pl.col(c) for f, c in self._fields[name].items()})
            if expr is None:
                python.append(name)
            else:
                outputs.append(expr.alias(name))
        end = pl.col(_END)
        frame = windows.select(
            pl.col(_LASTROW).alias(ROW),
            pl.col(KEY),
            pl.col(_MAXTS).alias(TS),
            *[pl.col(g) for g in self.group_columns],
            pl.col(_START).alias("window_start"),
            end.alias("window_end"),
            *outputs,
            *[pl.col(c) for n in python for c in self._fields[n].values()],
        )
        failures: list[tuple[int, Exception]] = []
        for name in python:
            agg = self.aggs[name]
            column = self._fields[name]["state"]
            values: list[Any] = []
            for position, state in enumerate(frame[column].to_list()):
                try:
                    values.append(agg.output_rows([{"state": state}])[0])
                except Exception as exc:
                    failures.append((position, exc))
                    values.append(None)
            frame = frame.with_columns(pl.Series(name, values, strict=False)).drop(column)
        names = [*self.group_columns, "window_start", "window_end", *self.aggs]
        return frame.select([ROW, KEY, TS, *names]), failures

    # Sliding windows: records are kept, windows are computed when they close
    def _add_sliding(self, rows: pl.DataFrame, stores: dict[int, PartitionStore]) -> None:
        inputs = [c for c in rows.columns if c.startswith(_IN)]
        for (partition,), part in rows.group_by(_P, maintain_order=True):
            store = stores[int(partition)]
            index = self._index_of(int(partition), store)
            grouped = part.group_by(_K, maintain_order=True).agg(
                pl.col(KEY).first(),
                *[pl.col(g).first() for g in self.group_columns],
                pl.struct([TS, *inputs]).alias("_hw_records"),
            )
            keys = grouped[_K].to_list()
            updates = []
            for row, entry in zip(
                grouped.iter_rows(named=True), store.get_many(keys, ENTRY), strict=True
            ):
                entry = entry or {
                    "key": row[KEY],
                    "groups": {g: row[g] for g in self.group_columns},
                    "records": [],
                    "ends": [],
                }
                new = row["_hw_records"]
                entry["records"] = sorted(
                    entry["records"] + [[r[TS], {c: r[c] for c in inputs}] for r in new],
                    key=lambda r: r[0],
                )
                entry["ends"] = sorted(set(entry["ends"]) | {r[TS] for r in new})
                updates.append((row[_K], entry))
                index[row[_K]] = _due(entry, "sliding")
                self._earliest[int(partition)] = min(self._earliest[int(partition)], index[row[_K]])
            store.set_many(updates, ENTRY)

    # Count windows: closed by their records, not by time
    def _process_count(
        self, frame: pl.DataFrame, ctx: BatchContext, stores: dict[int, PartitionStore]
    ) -> pl.DataFrame:
        ident = frame.group_by([_P, _K], maintain_order=True).agg(
            pl.col(KEY).first(), *[pl.col(g).first() for g in self.group_columns]
        )
        seen: dict[tuple[int, Any], int] = {}
        previous: list[dict[str, Any]] = []
        for (partition,), keyed in ident.group_by(_P, maintain_order=True):
            keys = keyed[_K].to_list()
            for key, entry in zip(keys, stores[int(partition)].get_many(keys, ENTRY), strict=True):
                if entry:
                    seen[(int(partition), key)] = entry["seen"]
                    previous.extend(_window_rows(int(partition), key, entry))
        offset = pl.Series(
            [seen.get((p, k), 0) for p, k in frame.select(_P, _K).iter_rows()], dtype=pl.Int64
        )
        index = offset + frame.select(pl.int_range(pl.len()).over([_P, _K])).to_series()
        frame = frame.with_columns(index.alias("_hw_win_i"))
        size, step, i = self.window.size, self.window.step or self.window.size, pl.col("_hw_win_i")
        base = (i // step) * step
        starts = pl.concat_list([base - n * step for n in range(-(-size // step))])
        pairs = (
            frame.with_columns(starts.alias(_START))
            .explode(_START)
            .filter((pl.col(_START) >= 0) & (pl.col(_START) + size > i))
            .with_columns((pl.col(_START) + size).alias(_END))
        )
        batch = self._finish(
            pairs.group_by([_P, _K, _START, _END], maintain_order=True).agg(self._partial_exprs())
        )
        columns = [_P, _K, _START, _END, _LASTROW, _MAXTS, _N, *self._field_columns()]
        rows = batch.select(columns)
        if previous:
            stored = pl.DataFrame(previous, infer_schema_length=None, strict=False)
            stored = stored.with_columns(pl.col(_K).cast(ident.schema[_K]))
            rows = pl.concat([stored, rows], how="diagonal_relaxed")
        merged = self._finish(
            rows.group_by([_P, _K, _START, _END], maintain_order=True).agg(self._combine_exprs())
        ).join(ident, on=[_P, _K], how="left", maintain_order="left")
        full = pl.col(_N) >= size
        # Every key of the batch gets its entry: open windows and the records seen so far.
        entries: dict[int, dict[Any, dict[str, Any]]] = {}
        counts = frame.group_by([_P, _K], maintain_order=True).agg(
            pl.col(KEY).first(),
            *[pl.col(g).first() for g in self.group_columns],
            (pl.col("_hw_win_i").max() + 1).alias("_hw_win_seen"),
        )
        for row in counts.iter_rows(named=True):
            entries.setdefault(row[_P], {})[row[_K]] = {
                "key": row[KEY],
                "groups": {g: row[g] for g in self.group_columns},
                "windows": [],
                "seen": row["_hw_win_seen"],
            }
        for partition, by_key in self._entries(merged.filter(~full), entries).items():
            stores[partition].set_many(by_key.items(), ENTRY)
        emitted = merged if self.emit == "update" else merged.filter(full)
        emitted = emitted.filter(pl.col(_LASTROW).is_not_null())
        return self._reported(self._results(emitted), ctx)


def _empty(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(meta_columns(frame)).clear()


def _plain_key(key: bytes, entry: dict[str, Any]) -> Any:
    """The state key as the operator's key column holds it (text when it was text)."""
    original = entry.get("key")
    if isinstance(original, str) and original.encode() == key:
        return original
    plain_int = isinstance(original, int) and not isinstance(original, bool)
    if plain_int and str(original).encode() == key:
        return original
    return key


def _stored_entries(store: PartitionStore) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Every key's persisted entry of open windows, keyed as the operator's key column is."""
    for key, entry in store.entries_named(ENTRY):
        if entry:
            yield _plain_key(key, entry), entry


def _window_rows(partition: int, key: Any, entry: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    groups = entry.get("groups") or {}
    for start, end, maxts, n, fields in entry.get("windows", []):
        rows.append(
            {
                _P: partition,
                _K: key,
                KEY: entry.get("key"),
                **groups,
                _START: start,
                _END: end,
                _LASTROW: None,
                _MAXTS: maxts,
                _N: n,
                **{_F + name: value for name, value in fields.items()},
            }
        )
    return rows


def _due(entry: dict[str, Any], kind: str) -> int:
    """When the entry's earliest window may close (compared with watermark - lateness)."""
    if kind == "sliding":
        return min(entry["ends"]) + 1 if entry["ends"] else MAX_TIME
    return min((w[1] for w in entry["windows"]), default=MAX_TIME)


def _close(entry: dict[str, Any], limit: int) -> tuple[list[list[Any]], dict[str, Any] | None]:
    done = [w for w in entry["windows"] if w[1] <= limit]
    rest = [w for w in entry["windows"] if w[1] > limit]
    return done, ({**entry, "windows": rest} if rest else None)


def _close_sliding(
    entry: dict[str, Any], limit: int, size: int
) -> tuple[list[int], dict[str, Any] | None]:
    """The window ends that closed, and the entry left: records older than any window still
    to come are purged (a new window ends at or after the watermark minus the lateness)."""
    done = [e for e in entry["ends"] if e + 1 <= limit]
    ends = [e for e in entry["ends"] if e + 1 > limit]
    horizon = min([*ends, limit]) - size
    records = [r for r in entry["records"] if r[0] >= horizon]
    if not ends and not records:
        return done, None
    return done, {**entry, "ends": ends, "records": records}


def _sliding_rows(
    partition: int, key: Any, entry: dict[str, Any], ends: list[int], size: int
) -> list[dict[str, Any]]:
    """One row per (closed window, record in it), to aggregate like a batch."""
    rows = []
    groups = entry.get("groups") or {}
    for end in ends:
        for ts, values in entry["records"]:
            if end - size <= ts <= end:
                rows.append(
                    {
                        _P: partition,
                        _K: key,
                        KEY: entry.get("key"),
                        **groups,
                        _START: end - size,
                        _END: end,
                        TS: ts,
                        ROW: None,
                        **values,
                    }
                )
    return rows
