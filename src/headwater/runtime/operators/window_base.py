"""What every window operator shares: ``group_by(...).window(...).agg(...)``, vectorised.

For a batch: rows already applied before a crash are dropped; each aggregation's input
becomes a column; the storage strategy of the window kind takes it from there (one operator
class per strategy:
:class:`~headwater.runtime.operators.window_memory.InMemoryWindows` for tumbling, hopping and
session windows, :class:`~headwater.runtime.operators.window_sliding.SlidingWindows`,
:class:`~headwater.runtime.operators.window_count.CountWindows`). Partial values per window are
computed by Polars (one row per record and window, exploded) and merged with the key's earlier ones:
sums add, minimums take the smaller. In the store, a key's entry, ``win``, holds its open
windows.

Time windows check each row against its partition's watermark as it was before the batch
(a row all of whose windows have closed is late and goes to the late side output) and close
when the watermark passes their end plus the allowed lateness: the executor calls
:meth:`WindowAggregate.fire` after every batch and whenever time advances (the timed-operator
contract). Closed windows are emitted (``emit="close"``) and purged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import polars as pl

from headwater.runtime.loop.batch import KEY, ROW, TS, meta_columns, value_columns
from headwater.runtime.operators.aggregators import PythonAggregator, window_aggregator
from headwater.runtime.operators.keyed import (
    KEY_COLUMN,
    PARTITION,
    TimedCache,
    keyed_frame,
    skip_applied,
)
from headwater.runtime.operators.steps import BatchContext, Operator
from headwater.runtime.operators.timed import Fired, TimedOperator

if TYPE_CHECKING:
    from headwater.dataframe.aggregations import Aggregation
    from headwater.dataframe.graph import Node
    from headwater.dataframe.windows import Window
    from headwater.state.store import PartitionStore

log = logging.getLogger(__name__)

ENTRY = "win"  # a key's open windows
EMIT_MODES = ("close", "update")
# Working columns of the window operators.
START, END = "_hw_win_start", "_hw_win_end"
MAXTS, LASTROW, COUNT = "_hw_win_maxts", "_hw_win_row", "_hw_win_n"
RECORD, SESSION = "_hw_win_rid", "_hw_win_sid"
SEQ = "_hw_win_seq"  # in-memory windows: in the order they opened, which ties close in
WATERMARK = "_hw_win_wm"
INPUT, FIELD = "_hw_in.", "_hw_f."
_P, _K = PARTITION, KEY_COLUMN


class LateRecordError(ValueError):
    """A record whose windows had all closed when it was read."""


class LateRecords(Operator):
    """The root of a window's late side output: the late records, as they were read."""

    kind = "late"
    side = True

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        return frame


class WindowAggregate(TimedOperator):
    """``group_by(...).window(window, ...).agg(**aggs)``: aggregates per key and window.

    Subclasses keep the windows (:meth:`_aggregate`) and close them (:meth:`fire`)."""

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
        super().__init__(store)
        self.group_columns = group_columns
        self.window = window
        self.aggs = aggs
        self.emit = emit
        self.lateness = lateness_ms
        self.late_node: Node | None = None  # the late() side output, if any
        self.late_records = 0  # metric: records found late
        self.early_every = early_every  # seconds between early results, or None
        self._early_at = time.monotonic()
        self._aggregators = {name: window_aggregator(agg) for name, agg in aggs.items()}
        # Per aggregation, its fields and their working columns.
        self._fields = {
            name: {f: f"{FIELD}{name}.{f}" for f in agg.partial(pl.col("_"), pl.col(TS))}
            for name, agg in self._aggregators.items()
        }

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

    # A batch
    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        frame = keyed_frame(frame, ctx, self.label)
        if frame.height == 0:
            return empty(frame)
        stores = self.partition_stores(frame, ctx)
        frame = skip_applied(frame, ctx, stores)
        if frame.height == 0:
            return empty(frame)
        original = [c for c in frame.columns if c not in (_P, _K)]
        return self._aggregate(self._inputs(frame), original, ctx, stores)

    def _aggregate(
        self,
        frame: pl.DataFrame,
        original: list[str],
        ctx: BatchContext,
        stores: dict[int, PartitionStore],
    ) -> pl.DataFrame:
        """The batch's rows (``original``: their own columns) into the windows; returns the
        results to send now (``emit="update"``, or count windows that filled)."""
        raise NotImplementedError

    # Time (the timed-operator contract): fire() closes the windows the watermark has passed
    # (plus the allowed lateness), returning their results (none with emit="update").
    def early_due(self, now: float) -> bool:
        """Whether early results are due (``early_every`` seconds since the last)."""
        if self.early_every is None or now - self._early_at < self.early_every:
            return False
        self._early_at = now
        return True

    def _cache_of(self, partition: int, store: PartitionStore) -> TimedCache:
        """The partition's state in memory, with the watermark its windows last closed at."""
        raise NotImplementedError

    def _with_watermarks(
        self, frame: pl.DataFrame, ctx: BatchContext, stores: dict[int, PartitionStore]
    ) -> pl.DataFrame:
        """Each row with its partition's watermark: the pipeline's, never below the one its
        windows last closed at (persisted, so a restart keeps it)."""
        marks = {
            p: max(self._cache_of(p, store).watermark, ctx.watermark(p))
            for p, store in stores.items()
        }
        return frame.with_columns(
            pl.col(_P).replace_strict(marks, return_dtype=pl.Int64).alias(WATERMARK)
        )

    def _closed(self, cache: TimedCache, watermark: int, closed: pl.DataFrame) -> Fired:
        """Windows that closed at ``watermark``: it is kept (persisted at the next
        checkpoint), their results returned (none with ``emit="update"``)."""
        cache.advance(watermark)
        if closed.height == 0 or self.emit == "update":
            return pl.DataFrame(), []
        order = [END, SEQ] if SEQ in closed.columns else [END]
        frame = closed.sort(order, maintain_order=True).with_columns(
            pl.int_range(pl.len()).alias(LASTROW)
        )
        return self._results(frame)

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
        for name, agg in self._aggregators.items():
            if agg.whole_record:
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
            columns[-1] = columns[-1].alias(INPUT + name)
        missing = {
            n
            for e in columns
            for n in e.meta.root_names()
            if n not in frame.columns and not n.startswith("_hw_")
        }
        if missing:
            frame = frame.with_columns([pl.lit(None).alias(n) for n in missing])
        frame = frame.with_columns(columns).drop(list(missing))
        untyped = [c for c in frame.columns if c.startswith(INPUT) and frame.schema[c] == pl.Null]
        if untyped:
            frame = frame.with_columns(pl.col(untyped).cast(pl.Int64))
        return frame

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
            pl.col(ROW).max().alias(LASTROW),
            ts.max().alias(MAXTS),
            pl.len().cast(pl.Int64).alias(COUNT),
        ]
        for name, agg in self._aggregators.items():
            value = ts if agg.expr is None else pl.col(INPUT + name)
            for field, expr in agg.partial(value, ts).items():
                exprs.append(expr.alias(self._fields[name][field]))
        return exprs

    def _combine_exprs(self) -> list[pl.Expr]:
        exprs = [
            pl.col(LASTROW).max(),
            pl.col(MAXTS).max(),
            pl.col(COUNT).sum(),
        ]
        for name, agg in self._aggregators.items():
            fields = {f: pl.col(c) for f, c in self._fields[name].items()}
            for field, column in self._fields[name].items():
                exprs.append(agg.combine(field, fields).alias(column))
        return exprs

    def _finish(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Python aggregations turn their lists of values or states into one stored state."""
        for name, agg in self._aggregators.items():
            if isinstance(agg, PythonAggregator):
                column = self._fields[name]["state"]
                values = [agg.settle(v) for v in frame[column].to_list()]
                frame = frame.with_columns(pl.Series(column, values, dtype=pl.String))
        return frame

    def _field_columns(self) -> list[str]:
        return [c for fields in self._fields.values() for c in fields.values()]

    def _entries(
        self, windows: pl.DataFrame, entries: dict[int, dict[Any, dict[str, Any]]]
    ) -> dict[int, dict[Any, dict[str, Any]]]:
        """Per partition and key, the entry holding the given windows (added to ``entries``)."""
        fields = self._field_columns()
        names = [c.removeprefix(FIELD) for c in fields]
        columns = [_P, _K, KEY, START, END, MAXTS, COUNT, *fields, *self.group_columns]
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

    def _results(self, windows: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple[int, Exception]]]:
        """Output records: group columns, window start and end, one column per aggregate;
        keyed by the group, timed at the window's latest record."""
        outputs: list[pl.Expr] = []
        python: dict[str, PythonAggregator] = {}
        for name, agg in self._aggregators.items():
            if isinstance(agg, PythonAggregator):
                python[name] = agg
            else:
                fields = {f: pl.col(c) for f, c in self._fields[name].items()}
                outputs.append(agg.output(fields).alias(name))
        end = pl.col(END)
        frame = windows.select(
            pl.col(LASTROW).alias(ROW),
            pl.col(KEY),
            pl.col(MAXTS).alias(TS),
            *[pl.col(g) for g in self.group_columns],
            pl.col(START).alias("window_start"),
            end.alias("window_end"),
            *outputs,
            *[pl.col(c) for n in python for c in self._fields[n].values()],
        )
        failures: list[tuple[int, Exception]] = []
        for name, agg in python.items():
            column = self._fields[name]["state"]
            values: list[Any] = []
            for position, state in enumerate(frame[column].to_list()):
                try:
                    values.append(agg.result(state))
                except Exception as exc:
                    failures.append((position, exc))
                    values.append(None)
            frame = frame.with_columns(pl.Series(name, values, strict=False)).drop(column)
        names = [*self.group_columns, "window_start", "window_end", *self.aggs]
        return frame.select([ROW, KEY, TS, *names]), failures


def empty(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(meta_columns(frame)).clear()


def plain_key(key: bytes, entry: dict[str, Any]) -> Any:
    """The state key as the operator's key column holds it (text when it was text)."""
    original = entry.get("key")
    if isinstance(original, str) and original.encode() == key:
        return original
    plain_int = isinstance(original, int) and not isinstance(original, bool)
    if plain_int and str(original).encode() == key:
        return original
    return key


def stored_entries(store: PartitionStore) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Every key's persisted entry of open windows, keyed as the operator's key column is."""
    for key, entry in store.entries_named(ENTRY):
        if entry:
            yield plain_key(key, entry), entry


def window_rows(partition: int, key: Any, entry: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    groups = entry.get("groups") or {}
    for start, end, maxts, n, fields in entry.get("windows", []):
        rows.append(
            {
                _P: partition,
                _K: key,
                KEY: entry.get("key"),
                **groups,
                START: start,
                END: end,
                LASTROW: None,
                MAXTS: maxts,
                COUNT: n,
                **{FIELD + name: value for name, value in fields.items()},
            }
        )
    return rows
