"""Local mode: run an app's plan in-process over given records, with no broker.

Values are encoded with the topic's serializer and then decoded by the same code as in a live
run, so a local test exercises decoding, dead-lettering and every operator exactly as the broker
path does. Outputs are captured instead of produced.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import polars as pl

from headwater.errors import ConfigError
from headwater.runtime.compile import compile_plan, connected_inputs
from headwater.runtime.graph import Node
from headwater.runtime.loop.batch import KEY, TS, Headers, Source, values_of
from headwater.runtime.loop.emitter import KafkaEmitter
from headwater.runtime.loop.executor import Executor
from headwater.runtime.loop.global_tables import GlobalTables
from headwater.runtime.operators.repartition import murmur2_partition
from headwater.runtime.time.watermark import MARKER_HEADER
from headwater.serde.frames import encode_keys, encode_values
from headwater.state.store import PartitionStore
from headwater.topic import Topic

if TYPE_CHECKING:
    from headwater.plan import Plan
    from headwater.runtime.loop.settings import RunSettings

LocalInput = tuple[Any, Sequence[Any] | None, Sequence[int] | None]


@dataclass
class LocalResult:
    """What a local run produced: per output topic a DataFrame, plus the dead letters."""

    outputs: dict[str, pd.DataFrame]
    dead_letters: pd.DataFrame
    tapped: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class _Marker:
    """A watermark marker written to one partition of a repartition topic."""

    partition: int
    payload: bytes


class _Capture:
    def __init__(self, internal: Iterable[str] = ()) -> None:
        self.outputs: dict[str, list[pl.DataFrame]] = {}
        self.dead: list[dict[str, Any]] = []
        self._tracebacks: dict[int, tuple[BaseException, str]] = {}
        # Records (and markers) for internal (repartition) topics, fed back into the app's
        # own pipelines.
        self.internal: dict[str, list[tuple[pl.DataFrame, Source] | _Marker]] = {
            n: [] for n in internal
        }

    def partition_count(self, topic: Topic) -> int:
        # Local inputs are read as one partition; repartition topics have their own count.
        return topic.partitions if topic.name in self.internal else 1

    def marker(self, topic: Topic, partition: int, payload: bytes) -> None:
        if topic.name in self.internal:
            self.internal[topic.name].append(_Marker(partition, payload))

    def emit(
        self,
        topic: Topic,
        frame: pl.DataFrame,
        source: Source,
        splice: tuple[str, ...] | None = None,
    ) -> list[tuple[int, Exception]]:
        # Local runs capture frames: their plans are compiled without pushdown (no splice).
        if topic.name in self.internal:
            self.internal[topic.name].append((frame, source))
        else:
            self.outputs.setdefault(topic.name, []).append(frame)
        return []

    def dead_letter(
        self, source: Source, rows: list[int], error: BaseException, operator: str
    ) -> None:
        for row in rows:
            origin = source.origin(row)
            self.dead.append(
                {
                    "topic": origin.topic,
                    "partition": origin.partition,
                    "offset": origin.offset,
                    "operator": operator,
                    "error_type": type(error).__name__,
                    "reason": str(error),
                    "key": source.raw_keys[row],
                    "value": source.raw_values[row],
                    "traceback": self._traceback(error),
                }
            )

    def _traceback(self, error: BaseException) -> str:
        """Where the error was raised: rows failing together share one error, formatted once."""
        known = self._tracebacks.get(id(error))
        if known is None or known[0] is not error:
            known = self._tracebacks[id(error)] = (
                error,
                "".join(traceback.format_exception(error)),
            )
        return known[1]


def to_output_frame(frames: list[pl.DataFrame]) -> pd.DataFrame:
    """Value columns plus ``_key`` and ``_timestamp``, as pandas, in processing order."""
    frames = [f for f in frames if f.height] or frames[:1]  # empty ones add no columns
    if not frames:
        return pd.DataFrame()
    shaped = [
        values_of(f).with_columns(f[KEY].alias("_key"), f[TS].alias("_timestamp")) for f in frames
    ]
    return pl.concat(shaped, how="diagonal_relaxed").to_pandas()


def _records(data: Any) -> list[Any]:
    if isinstance(data, pd.DataFrame):
        return list(data.to_dict(orient="records"))
    if isinstance(data, pl.DataFrame):
        return data.to_dicts()
    if isinstance(data, Iterable) and not isinstance(data, str | bytes | dict):
        return list(data)
    raise ConfigError("test data must be a list of values or a pandas / Polars DataFrame")


def make_source(
    topic: Topic,
    data: Any,
    keys: Sequence[Any] | None = None,
    timestamps: Sequence[int] | None = None,
) -> Source:
    """Encode ``data`` as the broker would hold it: a Source of raw bytes on partition 0."""
    values = _records(data)
    n = len(values)
    if keys is not None and len(keys) != n:
        raise ConfigError(f"keys has {len(keys)} items but there are {n} records")
    if timestamps is not None and len(timestamps) != n:
        raise ConfigError(f"timestamps has {len(timestamps)} items but there are {n} records")
    vs, ks = topic.value_serde, topic.key_serde
    now = int(time.time() * 1000)
    return Source(
        topic=topic.name,
        partitions=[0] * n,
        offsets=list(range(n)),
        raw_keys=[
            k if k is None or isinstance(k, bytes) else ks.dumps(k) for k in (keys or [None] * n)
        ],
        raw_values=[v if isinstance(v, bytes) or v is None else vs.dumps(v) for v in values],
        timestamps=list(timestamps) if timestamps is not None else [now] * n,
    )


class _TemporaryStores:
    """State stores for one local run, in a temporary directory removed afterwards."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="headwater-state-")
        self._open: dict[tuple[str, str, int], PartitionStore] = {}
        self.directory = self._dir.name

    def __call__(self, name: str, topic: str, partition: int) -> PartitionStore:
        store = self._open.get((name, topic, partition))
        if store is None:
            path = Path(self._dir.name) / name / f"{topic}-{partition}"
            store = self._open[(name, topic, partition)] = PartitionStore(
                path, name, topic, partition
            )
        return store

    def close(self) -> None:
        for store in self._open.values():
            store.close()
        self._dir.cleanup()


def run_local(
    plan: Plan,
    settings: RunSettings,
    inputs: dict[str, LocalInput],
    tap: str | None = None,
    roots: dict[str, Node] | None = None,
) -> LocalResult:
    """Run ``plan`` over ``inputs`` (topic -> values, keys, timestamps); ``tap`` names a step
    whose output is returned as ``tapped``. ``roots``: the plan already compiled (whose
    operators' metrics the caller reads afterwards)."""
    stores = _TemporaryStores()
    roots = roots or compile_plan(plan)
    tables = GlobalTables(plan.global_table_topics, plan.app, Path(stores.directory))
    try:
        # Tables first, whole: a live run loads them before any stream record too.
        for name, topic in plan.global_table_topics.items():
            if topic.name in inputs:
                data, keys, timestamps = inputs[topic.name]
                tables.apply_local(name, make_source(topic, data, keys, timestamps))
        tables.bind(roots.values())
        streams = {t: data for t, data in inputs.items() if t not in plan.global_tables.values()}
        return _run_local(plan, settings, roots, streams, tap, stores)
    finally:
        tables.close()
        stores.close()


def _run_local(
    plan: Plan,
    settings: RunSettings,
    roots: dict[str, Node],
    inputs: dict[str, LocalInput],
    tap: str | None,
    stores: _TemporaryStores,
) -> LocalResult:
    capture = _Capture(plan.internal_topics)
    tapped: list[pl.DataFrame] = []

    def on_output(node: Node, frame: pl.DataFrame) -> None:
        if node.id == tap:
            tapped.append(frame)

    # One executor per input topic, or per group of topics a join connects (as live).
    executors: dict[str, Executor] = {}
    for group in connected_inputs(roots):
        topics = [plan.topics[name] for name in group]
        executor = Executor(
            [roots[name] for name in group], topics, capture, settings.on_error, on_output, stores
        )
        executors.update(dict.fromkeys(group, executor))
    for name in inputs:
        if name not in roots:
            raise ConfigError(f"the app has no pipeline reading topic {name!r}")
    used: dict[int, Executor] = {}
    for executor in _unique(executors[name] for name in inputs):
        given = [name for name in executor.topics if name in inputs]
        sources = [make_source(plan.topics[name], *inputs[name]) for name in given]
        _feed(executor, sources, settings.max_batch_records)
        if any(name in plan.internal_topics for name in executor.topics):
            used[id(executor)] = executor  # it ends once its repartition topics are read
        else:
            executor.finish()  # the input ends here: every window closes
    _run_internal(plan, settings, executors, capture, used)
    return LocalResult(
        outputs={t: to_output_frame(fs) for t, fs in capture.outputs.items()},
        dead_letters=pd.DataFrame(capture.dead),
        tapped=to_output_frame(tapped),
    )


def _unique(executors: Iterable[Executor]) -> list[Executor]:
    return list({id(e): e for e in executors}.values())


def _feed(executor: Executor, sources: list[Source], size: int) -> None:
    """Process ``sources`` (one per input topic) in batches of ``size``, taking turns: joined
    inputs arrive interleaved, as they would from a broker."""
    starts = [0] * len(sources)
    while any(start < len(source) for start, source in zip(starts, sources, strict=True)):
        for i, source in enumerate(sources):
            if starts[i] < len(source):
                executor.process(source.slice(starts[i], starts[i] + size))
                starts[i] += size


def _run_internal(
    plan: Plan,
    settings: RunSettings,
    executors: dict[str, Executor],
    capture: _Capture,
    used: dict[int, Executor],
) -> None:
    """Feed what was written to repartition topics into the pipelines reading them, as the
    broker would: partitioned by key (murmur2), in order per partition, in batches. Once
    nothing is left to read, each executor that read any ends its input (its windows close,
    which may write more)."""
    next_offset: dict[tuple[str, int], int] = {}
    finished: set[int] = set()
    while True:
        if any(capture.internal.values()):
            # Topics one executor reads (joined ones) are read together, taking turns.
            sources: dict[int, list[Source]] = {}
            for name, written in capture.internal.items():
                if not written:
                    continue
                capture.internal[name] = []
                executor = executors[name]
                used.setdefault(id(executor), executor)
                source = _as_written(plan.topics[name], written, next_offset)
                sources.setdefault(id(executor), []).append(source)
            for key, given in sources.items():
                _feed(used[key], given, settings.max_batch_records)
            continue
        pending = [e for key, e in used.items() if key not in finished]
        if not pending:
            return
        finished.add(id(pending[0]))
        pending[0].finish()


def _as_written(
    topic: Topic,
    written: list[tuple[pl.DataFrame, Source] | _Marker],
    next_offset: dict[tuple[str, int], int],
) -> Source:
    """The records produced to ``topic``, encoded and partitioned as the broker would hold them."""
    raw_keys: list[bytes | None] = []
    raw_values: list[bytes | None] = []
    timestamps: list[int] = []
    headers: list[Headers | None] = []
    partitions: list[int] = []
    for item in written:
        if isinstance(item, _Marker):
            raw_keys.append(None)
            raw_values.append(item.payload)
            timestamps.append(0)
            headers.append([(MARKER_HEADER, b"1")])
            partitions.append(item.partition)
            continue
        frame, origin = item
        keys = encode_keys(topic.key_serde, frame[KEY])
        raw_keys += keys
        raw_values += encode_values(topic.value_serde, values_of(frame))
        timestamps += frame[TS].to_list()
        headers += KafkaEmitter._headers(frame, origin) or [None] * frame.height
        partitions += [
            0 if key is None else murmur2_partition(key, topic.partitions) for key in keys
        ]
    offsets = []
    for partition in partitions:
        offset = next_offset.get((topic.name, partition), 0)
        next_offset[(topic.name, partition)] = offset + 1
        offsets.append(offset)
    return Source(
        topic=topic.name,
        partitions=partitions,
        offsets=offsets,
        raw_keys=raw_keys,
        raw_values=raw_values,
        timestamps=timestamps,
        headers=headers if any(headers) else [],
    )
