"""Operators: each turns one micro-batch frame into the next.

Vectorised operators (filter by expression, assign, select...) work on whole columns and raise
on failure; the executor then isolates the failing records. Row operators (``apply``,
``filter(fn)``, ``update``) call user code once per record and report a failing record to the
context themselves, so the other records of the batch go on.
"""

from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

import orjson
import polars as pl

from headwater.models.model import MODEL_VERSION, SCORE
from headwater.models.monitoring import ScoreMonitor
from headwater.runtime.loop.batch import (
    HEADERS,
    KEY,
    META,
    ROW,
    TS,
    Headers,
    Source,
    typed_series,
    value_columns,
    value_rows,
    values_of,
    with_values,
)
from headwater.serde.frames import frame_from_rows

if TYPE_CHECKING:
    from headwater.runtime.time.watermark import WatermarkConfig
    from headwater.state.store import PartitionStore
    from headwater.topic import Topic

BatchFormat = Literal["pandas", "polars", "arrow"]


class BatchContext(Protocol):
    """What an operator may do besides transforming its frame."""

    source: Source

    def fail(self, rows: list[int], error: BaseException, operator: str) -> None:
        """Report records (by ``_hw_row``) that made ``operator`` fail."""

    def emit(
        self, topic: Topic, frame: pl.DataFrame, splice: tuple[str, ...] | None = None
    ) -> None:
        """Send the frame's records to ``topic`` once the batch has gone through; ``splice``:
        the records are their input records plus these columns (see :class:`ToTopic`)."""

    def store(self, name: str, partition: int, topic: str | None = None) -> PartitionStore:
        """The state store ``name`` of this batch's topic (or ``topic``: the other input of a
        join) and ``partition``."""

    def watermark(self, partition: int) -> int:
        """The event-time watermark (epoch ms) of ``partition`` as of the previous batch."""

    def side(self, node: Any, frame: pl.DataFrame) -> None:
        """Run the side-output branch ``node`` (say, late records) over ``frame``."""

    def on_delivery(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the batch's pass completes: a pass discarded to rerun the batch
        record by record never runs it, so what it counts is counted once."""


class Operator(ABC):
    """One step of a pipeline: ``process`` turns a batch's frame into the next step's.

    ``kind``, ``params`` and ``label`` describe it in the topology. ``stores`` names the state
    stores it keeps per input partition; a ``side`` step is fed by its parent on the side (late
    records), not by its results. For event time, ``reads_markers`` says its input carries
    watermark markers (the root reading a repartition topic) and ``marker_topic`` is the topic
    it writes markers to along with its records, if any. Operators that act as time advances
    follow :class:`~headwater.runtime.operators.timed.TimedOperator`.
    """

    kind: str = "operator"
    stores: tuple[str, ...] = ()
    side = False
    reads_markers = False

    @abstractmethod
    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        """The batch after this step (rows keep their ``_hw_row``)."""

    @property
    def marker_topic(self) -> Topic | None:
        return None

    def params(self) -> dict[str, Any]:
        return {}

    @property
    def label(self) -> str:
        return self.kind


def describe_callable(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def with_missing(frame: pl.DataFrame, expr: pl.Expr) -> tuple[pl.DataFrame, list[str]]:
    """Add the columns ``expr`` reads but the batch lacks, as nulls: a missing field is null."""
    # root_names repeats a column the expression reads twice; adding it twice would fail.
    missing = [n for n in dict.fromkeys(expr.meta.root_names()) if n not in frame.columns]
    if missing:
        frame = frame.with_columns([pl.lit(None).alias(n) for n in missing])
    return frame, missing


class SourceOp(Operator):
    """The root of a pipeline: records decoded from one input topic."""

    kind = "source"

    def __init__(
        self, topic: Topic, watermarks: WatermarkConfig | None = None, table: bool = False
    ) -> None:
        self.topic = topic
        # How event time follows this input (``with_watermarks``); None: the defaults.
        self.watermarks = watermarks
        # A table's topic: a record without a value is a tombstone, kept (with no values)
        # for the table to delete its key, not a record that failed to decode.
        self.table = table
        # The only fields the pipeline reads (projection pushdown); None: every field.
        self.fields: frozenset[str] | None = None

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        return frame

    def params(self) -> dict[str, Any]:
        return {"topic": self.topic.name, **({"table": True} if self.table else {})}

    @property
    def label(self) -> str:
        return self.topic.name


class FilterExpr(Operator):
    kind = "filter"

    def __init__(self, expr: pl.Expr) -> None:
        self.expr = expr

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        widened, missing = with_missing(frame, self.expr)
        # A field null in every record is a Null-typed column, which filter rejects as predicate.
        return widened.filter(self.expr.fill_null(False)).drop(missing)

    def params(self) -> dict[str, Any]:
        return {"expression": str(self.expr)}


class Assign(Operator):
    kind = "assign"

    def __init__(self, columns: Mapping[str, pl.Expr]) -> None:
        reserved = [n for n in columns if n in META or n == HEADERS]
        if reserved:
            from headwater.errors import ConfigError

            raise ConfigError(f"column names {reserved} are reserved by Headwater; rename them")
        self.columns = dict(columns)

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        added: list[str] = []
        for expr in self.columns.values():
            frame, missing = with_missing(frame, expr)
            added += missing
        frame = frame.with_columns([e.alias(n) for n, e in self.columns.items()])
        return frame.drop([c for c in added if c not in self.columns])

    def params(self) -> dict[str, Any]:
        return {name: str(expr) for name, expr in self.columns.items()}

    @property
    def label(self) -> str:
        return "assign " + ", ".join(self.columns)


class Select(Operator):
    kind = "select"

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            frame = frame.with_columns([pl.lit(None).alias(n) for n in missing])
        return frame.select([*[c for c in frame.columns if c in META or c == HEADERS], *self.names])

    def params(self) -> dict[str, Any]:
        return {"columns": self.names}


class Drop(Operator):
    kind = "drop"

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        return frame.drop([n for n in self.names if n in frame.columns])

    def params(self) -> dict[str, Any]:
        return {"columns": self.names}


class Rename(Operator):
    kind = "rename"

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.mapping = dict(mapping)

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        present = {old: new for old, new in self.mapping.items() if old in frame.columns}
        return frame.rename(present)

    def params(self) -> dict[str, Any]:
        return {"columns": self.mapping}


class _RowFunction(Operator):
    """Shared by the row operators: calls ``fn`` per record, reports the ones that raise."""

    def __init__(self, fn: Callable[..., Any], metadata: bool, store: str | None = None) -> None:
        if not callable(fn):
            from headwater.errors import ConfigError

            raise ConfigError(f"{self.kind}() needs a function, got {type(fn).__name__}")
        self.fn = fn
        self.metadata = metadata
        self.store = store
        self.stores = (store,) if store else ()

    def params(self) -> dict[str, Any]:
        params = {"function": describe_callable(self.fn), "metadata": self.metadata}
        return {**params, "store": self.store} if self.store else params

    @property
    def label(self) -> str:
        return f"{self.kind}({describe_callable(self.fn)})"

    def calls(self, frame: pl.DataFrame, ctx: BatchContext) -> list[tuple[int, Any, Any]]:
        """Call ``fn`` on every record: (position, the value passed in, the result) per success."""
        values = value_rows(frame)
        rows: list[int] = frame[ROW].to_list()
        results: list[tuple[int, Any, Any]] = []
        fn = self.fn
        if self.store is not None:
            return self._stateful_calls(frame, values, rows, ctx, self.store)
        if self.metadata:
            keys = frame[KEY].to_list()
            stamps = frame[TS].to_list()
            headers = _headers_column(frame, ctx.source)
            for i, value in enumerate(values):
                try:
                    results.append((i, value, fn(value, keys[i], stamps[i], headers[i])))
                except Exception as exc:
                    ctx.fail([rows[i]], exc, self.label)
        else:
            for i, value in enumerate(values):
                try:
                    results.append((i, value, fn(value)))
                except Exception as exc:
                    ctx.fail([rows[i]], exc, self.label)
        return results

    def _stateful_calls(
        self,
        frame: pl.DataFrame,
        values: list[dict[str, Any]],
        rows: list[int],
        ctx: BatchContext,
        store_name: str,
    ) -> list[tuple[int, Any, Any]]:
        """Like :meth:`calls`, with the record key's ``State`` as the last argument.

        A record below its store's processed offset was applied before a crash, and its outputs
        were flushed before that offset was persisted: it is dropped here, not applied twice.
        """
        keys = frame[KEY].to_list()
        stamps = frame[TS].to_list()
        headers = _headers_column(frame, ctx.source) if self.metadata else None
        partitions, offsets = ctx.source.partitions, ctx.source.offsets
        results: list[tuple[int, Any, Any]] = []
        for i, value in enumerate(values):
            row = rows[i]
            store = ctx.store(store_name, partitions[row])
            if offsets[row] < store.processed_offset:
                continue
            try:
                state = store.state(state_key(keys[i]), stamps[i])
                if headers is not None:
                    result = self.fn(value, keys[i], stamps[i], headers[i], state)
                else:
                    result = self.fn(value, state)
                results.append((i, value, result))
            except Exception as exc:
                ctx.fail([row], exc, self.label)
        return results


def state_key(key: Any) -> str | bytes | int:
    """The key state is kept under: the record key, or its JSON text when it is structured."""
    if key is None:
        raise ValueError(
            "a stateful step needs a record key, and this record has none; "
            "give it one with set_key() or group_by()"
        )
    if isinstance(key, str | bytes | int) and not isinstance(key, bool):
        return key
    return orjson.dumps(key, option=orjson.OPT_SORT_KEYS)


def _headers_column(frame: pl.DataFrame, source: Source) -> list[Headers | None]:
    if HEADERS in frame.columns:
        return [
            None if h is None else [(e["key"], e["value"]) for e in h]
            for h in frame[HEADERS].to_list()
        ]
    if not source.headers:
        return [None] * frame.height
    return [source.headers[r] for r in frame[ROW].to_list()]


class Apply(_RowFunction):
    kind = "apply"

    def __init__(
        self, fn: Callable[..., Any], expand: bool, metadata: bool, store: str | None = None
    ) -> None:
        super().__init__(fn, metadata, store)
        self.expand = expand

    def params(self) -> dict[str, Any]:
        return {**super().params(), "expand": self.expand}

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        rows = frame[ROW].to_list()
        out: list[dict[str, Any]] = []
        keep: list[int] = []
        for i, _, result in self.calls(frame, ctx):
            items = result if self.expand else (result,)
            if self.expand and not isinstance(result, list | tuple):
                ctx.fail([rows[i]], _not_records(self.label, result, "a list of dicts"), self.label)
                continue
            bad = next((item for item in items if not isinstance(item, dict)), None)
            if bad is not None:
                ctx.fail([rows[i]], _not_records(self.label, bad, "a dict"), self.label)
                continue
            out.extend(items)
            keep.extend([i] * len(items))
        meta = frame.select(_meta_of(frame))[keep] if keep else frame.select(_meta_of(frame))[:0]
        return with_values(meta, frame_from_rows(out))


def _meta_of(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c in META or c == HEADERS]


def _not_records(label: str, got: Any, wanted: str) -> TypeError:
    return TypeError(
        f"{label} must return {wanted} (one field per column), got {type(got).__name__}: "
        f"{got!r:.80}; wrap a single value as {{'value': x}}"
    )


class FilterFunction(_RowFunction):
    kind = "filter"

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        mask = [False] * frame.height
        for i, _, keep in self.calls(frame, ctx):
            mask[i] = bool(keep)
        return frame.filter(pl.Series(mask, dtype=pl.Boolean))


class Update(_RowFunction):
    """Calls ``fn`` for its side effects; changes it makes to the record's dict are kept."""

    kind = "update"

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        calls = self.calls(frame, ctx)
        keep = [i for i, _, _ in calls]
        meta = frame.select(_meta_of(frame))[keep] if keep else frame.select(_meta_of(frame))[:0]
        return with_values(meta, frame_from_rows([value for _, value, _ in calls]))


class MapBatches(Operator):
    """``fn`` receives the whole batch as a pandas / Polars / Arrow frame and returns one."""

    kind = "map_batches"

    def __init__(self, fn: Callable[[Any], Any], format: BatchFormat) -> None:
        if format not in ("pandas", "polars", "arrow"):
            from headwater.errors import ConfigError

            raise ConfigError(f"map_batches format={format!r}: use 'pandas', 'polars' or 'arrow'")
        self.fn = fn
        self.format = format

    def params(self) -> dict[str, Any]:
        return {"function": describe_callable(self.fn), "format": self.format}

    @property
    def label(self) -> str:
        return f"map_batches({describe_callable(self.fn)})"

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        values = values_of(frame)
        meta = frame.select(_meta_of(frame))
        if self.format == "pandas":
            result = self.fn(values.to_pandas())
            return self._realign_pandas(meta, result)
        if self.format == "arrow":
            out = self.fn(values.to_arrow())
            result_frame = pl.from_arrow(out)
        else:
            result_frame = self.fn(values)
        if not isinstance(result_frame, pl.DataFrame):
            raise TypeError(f"{self.label} must return a {self.format} DataFrame")
        return with_values(_positional_meta(meta, result_frame.height), result_frame)

    def _realign_pandas(self, meta: pl.DataFrame, result: Any) -> pl.DataFrame:
        import pandas as pd

        if not isinstance(result, pd.DataFrame):
            raise TypeError(f"{self.label} must return a pandas DataFrame, got {type(result)}")
        index = result.index
        # Rows keep the metadata of the input row their index label points at (pandas keeps
        # the label through filters and sorts), so keys and timestamps survive.
        if index.dtype.kind in "iu" and (
            len(index) == 0 or (index.min() >= 0 and index.max() < meta.height)
        ):
            aligned = meta[index.to_list()]
        else:
            aligned = _positional_meta(meta, len(result))
        result_frame = pl.from_pandas(result.reset_index(drop=True))
        return with_values(aligned, result_frame)


def _positional_meta(meta: pl.DataFrame, height: int) -> pl.DataFrame:
    """Metadata for ``height`` result rows: row by row when heights match, else the last row's."""
    if height == meta.height:
        return meta
    if meta.height == 0:
        raise ValueError("map_batches added rows to an empty batch")
    return meta[[meta.height - 1] * height]


class SetKey(Operator):
    kind = "set_key"

    def __init__(self, key: pl.Expr | Callable[[dict[str, Any]], Any]) -> None:
        self.key = key

    def params(self) -> dict[str, Any]:
        k = self.key
        return {"key": str(k) if isinstance(k, pl.Expr) else describe_callable(k)}

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        if isinstance(self.key, pl.Expr):
            widened, missing = with_missing(frame, self.key)
            return widened.with_columns(self.key.alias(KEY)).drop(missing)
        return _set_by_function(frame, ctx, self.key, KEY, self.label)


class SetTimestamp(Operator):
    kind = "set_timestamp"

    def __init__(self, ts: pl.Expr | Callable[[dict[str, Any]], Any]) -> None:
        self.ts = ts

    def params(self) -> dict[str, Any]:
        t = self.ts
        return {"timestamp": str(t) if isinstance(t, pl.Expr) else describe_callable(t)}

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        if isinstance(self.ts, pl.Expr):
            widened, missing = with_missing(frame, self.ts)
            out = with_millis(widened.with_columns(self.ts.alias(TS)), TS).drop(missing)
        else:
            out = with_millis(_set_by_function(frame, ctx, self.ts, TS, self.label), TS)
        nulls = out.filter(pl.col(TS).is_null())
        if nulls.height:
            ctx.fail(nulls[ROW].to_list(), ValueError("the new timestamp is null"), self.label)
            out = out.filter(pl.col(TS).is_not_null())
        return out


# ISO-8601 shapes, tried in order; a value without an offset is taken as UTC.
_ISO_FORMATS = (
    ("%Y-%m-%dT%H:%M:%S%.f%#z", True),
    ("%Y-%m-%dT%H:%M:%S%.f", False),
    ("%Y-%m-%dT%H:%M%#z", True),
    ("%Y-%m-%dT%H:%M", False),
    ("%Y-%m-%d", False),
)


def to_millis(expr: pl.Expr) -> pl.Expr:
    """Event time as integer milliseconds from numbers (taken as ms) or ISO-8601 strings."""
    # Polars infers one format from the first value and rejects a trailing 'Z', so name them.
    text = expr.cast(pl.String).str.strip_chars().str.replace(" ", "T", literal=True)
    parsed = [
        text.str.to_datetime(fmt, strict=False, time_zone="UTC" if aware else None).dt.epoch("ms")
        for fmt, aware in _ISO_FORMATS
    ]
    return pl.coalesce(expr.cast(pl.Int64, strict=False), *parsed)


def with_millis(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``column`` converted to epoch milliseconds (datetimes and dates by their own unit)."""
    dtype = frame[column].dtype
    if isinstance(dtype, pl.Datetime) or dtype == pl.Date:
        return frame.with_columns(pl.col(column).dt.epoch("ms"))
    if dtype.is_integer():  # already milliseconds: no text to parse
        return frame.with_columns(pl.col(column).cast(pl.Int64))
    return frame.with_columns(to_millis(pl.col(column)))


class SetHeaders(Operator):
    kind = "set_headers"

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def params(self) -> dict[str, Any]:
        return {"function": describe_callable(self.fn)}

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        values = value_rows(frame)
        current = _headers_column(frame, ctx.source)
        rows = frame[ROW].to_list()
        new: list[list[dict[str, Any]] | None] = []
        keep: list[int] = []
        for i, value in enumerate(values):
            try:
                headers = self.fn(value, current[i])
                new.append(
                    None
                    if headers is None
                    else [{"key": str(k), "value": _header_bytes(v)} for k, v in headers]
                )
                keep.append(i)
            except Exception as exc:
                ctx.fail([rows[i]], exc, self.label)
        dtype = pl.List(pl.Struct({"key": pl.String, "value": pl.Binary}))
        return frame[keep].with_columns(pl.Series(HEADERS, new, dtype=dtype))


def _header_bytes(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _set_by_function(
    frame: pl.DataFrame, ctx: BatchContext, fn: Callable[..., Any], column: str, label: str
) -> pl.DataFrame:
    values = value_rows(frame)
    rows = frame[ROW].to_list()
    results: list[Any] = []
    keep: list[int] = []
    for i, value in enumerate(values):
        try:
            results.append(fn(value))
            keep.append(i)
        except Exception as exc:
            ctx.fail([rows[i]], exc, label)
    return frame[keep].with_columns(typed_series(column, results))


class ToTopic(Operator):
    """Produces every record to ``topic`` and passes the batch on unchanged.

    ``splice``, when the plan shows each record is its input record plus assigned columns:
    those columns, which the emitter writes into the input's bytes instead of encoding every
    field (see :mod:`headwater.plan.projection`)."""

    kind = "to_topic"

    def __init__(self, topic: Topic, key: pl.Expr | Callable[..., Any] | None) -> None:
        self.topic = topic
        self.key = key
        self.splice: tuple[str, ...] | None = None

    def params(self) -> dict[str, Any]:
        k = self.key
        key = None if k is None else str(k) if isinstance(k, pl.Expr) else describe_callable(k)
        return {"topic": self.topic.name, "key": key}

    @property
    def label(self) -> str:
        return f"to_topic({self.topic.name})"

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        out = frame
        if isinstance(self.key, pl.Expr):
            widened, missing = with_missing(frame, self.key)
            out = widened.with_columns(self.key.alias(KEY)).drop(missing)
        elif self.key is not None:
            out = _set_by_function(frame, ctx, self.key, KEY, self.label)
        ctx.emit(self.topic, out, self.splice)
        return frame


class Print(Operator):
    kind = "print"

    def __init__(self, metadata: bool) -> None:
        self.metadata = metadata

    def params(self) -> dict[str, Any]:
        return {"metadata": self.metadata}

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        cols = value_columns(frame)
        lines = []
        for row in frame.iter_rows(named=True):
            value = {c: row[c] for c in cols}
            if self.metadata:
                record = {"key": row[KEY], "timestamp": row[TS], "value": value}
                lines.append(orjson.dumps(record, default=str))
            else:
                lines.append(orjson.dumps(value, default=str))
        if lines:
            sys.stdout.write(b"\n".join(lines).decode() + "\n")
            sys.stdout.flush()
        return frame


class Predict(Operator):
    """Scores the whole batch with a model in one call and adds its output columns."""

    kind = "predict"

    def __init__(self, model: str, features: list[str], framework: str | None, prefix: str) -> None:
        from headwater.models import load_model
        from headwater.models.registry import ModelReference
        from headwater.models.swap import RegistryModel

        self.path = model
        reference = ModelReference.parse(model)
        # A registry model follows its alias: the live version is asked for before each batch.
        self.registry = None if reference is None else RegistryModel(reference)
        if self.registry is None:
            self.model = load_model(model, framework=framework, features=features)
        else:
            self.model = self.registry.model
        self.prefix = prefix
        self._checked: dict[str, pl.DataType] | None = None
        # Records, time and scores per version: what the replica exports for monitoring.
        self.monitor = ScoreMonitor()

    def params(self) -> dict[str, Any]:
        return {"model": self.path, "framework": self.model.framework, "prefix": self.prefix}

    @property
    def label(self) -> str:
        return f"predict({self.path})"

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        from headwater.models import check_features

        values = values_of(frame)
        version = None
        if self.registry is not None:
            version, model = self.registry.current()
            if model is not self.model:  # swapped between batches: check the new features
                self.model, self._checked = model, None
        if values.schema != self._checked:  # once per shape of batch, not per batch
            check_features(self.model.features, dict(values.schema), self.label)
            self._checked = dict(values.schema)
        started = time.perf_counter()
        scored = self.model.score(values)
        seconds = time.perf_counter() - started
        scores = scored[SCORE] if SCORE in scored.columns else None
        ctx.on_delivery(lambda: self.monitor.observe(version, frame.height, seconds, scores))
        columns: list[pl.Series | pl.Expr] = [
            scored[name].alias(self.prefix + name) for name in scored.columns
        ]
        if version is not None:
            columns.append(pl.lit(version, pl.Int64).alias(self.prefix + MODEL_VERSION))
        return frame.with_columns(columns)
