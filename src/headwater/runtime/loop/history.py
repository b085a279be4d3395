"""History mode: an app's pipelines over files, DataFrames or queries, without a broker.

A pipeline written against topics runs over history by naming, per input topic, a source to read
instead (:mod:`headwater.sources`). The same operators run, on the source's chunks as batches
(100,000 rows by default rather than a poll's worth), and the run ends as a bounded run does:
after the last chunk every window closes and every timer fires. Three things differ from a live
run, none of which changes a result:

- records are not encoded and decoded: a chunk's columns are the record values, its time column
  the event time, and the key is null until a ``group_by`` sets it;
- the input is one partition, so a ``group_by`` re-keys records in place instead of writing them
  to a repartition topic (every group is in the one partition already);
- outputs are collected per output topic as Polars DataFrames, or written to the sink named for
  the topic, whose ``commit`` (if it has one) runs after every input chunk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import polars as pl

from headwater.errors import ConfigError
from headwater.runtime.compile import compile_plan, connected_inputs
from headwater.runtime.loop.batch import KEY, ROW, TS, Source, value_columns, values_of
from headwater.runtime.loop.executor import Executor, _Attempt
from headwater.runtime.loop.lazy_records import Column, JsonRows, Nulls
from headwater.runtime.loop.local import _Capture, _TemporaryStores
from headwater.runtime.operators.sink_step import SinkTarget, sink_targets
from headwater.sources import FrameSource, HistorySource, event_time_ms

if TYPE_CHECKING:
    from headwater.plan import Plan
    from headwater.runtime.loop.settings import RunSettings
    from headwater.topic import Topic


class Sink(Protocol):
    """Where an output topic's records go instead (:mod:`headwater.sinks`)."""

    def write(self, frame: pl.DataFrame) -> Any: ...


@dataclass
class HistoryResult:
    """Per output topic without a sink, its records (value columns, ``_key`` and
    ``_timestamp``) in the order they were produced; and the dead letters."""

    outputs: dict[str, pl.DataFrame]
    dead_letters: pl.DataFrame


def run_history(
    plan: Plan,
    settings: RunSettings,
    inputs: Mapping[str, Any],
    sinks: Mapping[str, Sink] | None = None,
) -> HistoryResult:
    """Run ``plan`` over ``inputs`` (input topic -> a history source, or a pandas / Polars
    DataFrame holding the topic's ``timestamp`` field); outputs to ``sinks`` (output topic ->
    sink) go there."""
    sources = {name: _as_source(plan, name, data) for name, data in inputs.items()}
    missing = [t.name for t in plan.input_topics if t.name not in plan.internal_topics]
    missing = [name for name in missing if name not in sources]
    if missing:
        raise ConfigError(
            f"run_history: no source for input topic(s) {missing}; name what to read instead, "
            "e.g. {'orders': FileSource('orders/*.parquet', time='created_at')}"
        )
    if plan.global_tables:
        raise ConfigError(
            f"run_history: the app joins global tables ({', '.join(plan.global_tables)}), "
            "which runs over history cannot load yet; run it bounded through a broker "
            "instead (app.run(until='end'))"
        )
    sinks = dict(sinks or {})
    unknown = [t for t in sinks if t not in plan.outputs]
    if unknown:
        raise ConfigError(f"run_history: {unknown} are not output topics (those: {plan.outputs})")
    flat = single_partition(plan)
    roots = compile_plan(flat)
    capture = _HistoryCapture(sinks)
    capture.targets = sink_targets(n.operator for root in roots.values() for n in root.walk())
    stores = _TemporaryStores()
    try:
        # One executor per input, or per group of inputs a join connects (read in turns).
        for group in connected_inputs({name: roots[name] for name in sources}):
            executor = _FrameExecutor(
                [roots[name] for name in group],
                [flat.topics[name] for name in group],
                capture,
                settings.on_error,
                stores=stores,
            )
            _read_in_turns(executor, {name: sources[name] for name in group}, capture)
            executor.finish()  # the input ends here: every window closes, every timer fires
            capture.commit(f"history-{'+'.join(group)}-end")
    finally:
        stores.close()
    return HistoryResult(
        outputs={t: _output_frame(fs) for t, fs in capture.outputs.items()},
        dead_letters=pl.DataFrame(capture.dead) if capture.dead else pl.DataFrame(),
    )


def _read_in_turns(
    executor: Executor, sources: dict[str, HistorySource], capture: _HistoryCapture
) -> None:
    """Every chunk of ``sources`` through ``executor``, a chunk of each source in turn (the
    inputs of a join arrive interleaved, as from a broker)."""
    chunks = {name: iter(source.batches()) for name, source in sources.items()}
    offsets = dict.fromkeys(sources, 0)
    while chunks:
        for name in list(chunks):
            chunk = next(chunks[name], None)
            if chunk is None:
                del chunks[name]
                continue
            if chunk.height == 0:
                continue
            batch = FrameBatch.of(name, chunk, sources[name], offsets[name])
            offsets[name] += chunk.height
            executor.process(batch)
            capture.commit(f"history-{name}-{offsets[name]}")


def single_partition(plan: Plan) -> Plan:
    """``plan`` with every ``group_by`` re-keying in place: one partition holds every group,
    so the pipeline after a repartition topic continues where the ``group_by`` is."""
    steps = [
        dataclasses.replace(s, inputs=list(s.inputs), params=dict(s.params)) for s in plan.steps
    ]
    writers = {s.params.get("topic"): s for s in steps if s.kind == "group_by"}
    internal = [s for s in steps if s.kind == "source" and s.params.get("internal")]
    for source in internal:
        writer = writers[source.params["topic"]]
        writer.params["topic"] = None
        for step in steps:
            step.inputs = [writer.id if i == source.id else i for i in step.inputs]
    dropped = {s.id for s in internal}
    upstream = {name: _first_upstream(plan, name) for name in plan.internal_topics}
    return dataclasses.replace(
        plan,
        steps=[s for s in steps if s.id not in dropped],
        internal_topics={},
        stores={k: upstream.get(t, t) for k, t in plan.stores.items()},
    )


def _first_upstream(plan: Plan, topic: str) -> str:
    while topic in plan.internal_topics:
        topic = plan.internal_topics[topic]
    return topic


def _as_source(plan: Plan, name: str, data: Any) -> HistorySource:
    topic = plan.topics.get(name)
    if topic is None or name in plan.internal_topics or name not in plan.sources:
        raise ConfigError(
            f"run_history: the app reads no topic {name!r} (its inputs: "
            f"{[t.name for t in plan.input_topics if t.name not in plan.internal_topics]})"
        )
    if hasattr(data, "batches") and hasattr(data, "time_column"):
        return cast("HistorySource", data)
    if topic.timestamp is None:
        raise ConfigError(
            f"run_history: topic {name!r} declares no timestamp field, so a bare DataFrame has "
            f"no event time; pass FrameSource(frame, time='<column>')"
        )
    return FrameSource(data, time=topic.timestamp, name=f"frame for {name}")


class FrameBatch(Source):
    """A chunk of history as the executor's batch: its columns are already the values."""

    frame: pl.DataFrame

    @classmethod
    def of(cls, topic: str, chunk: pl.DataFrame, source: HistorySource, first: int) -> FrameBatch:
        n = chunk.height
        times = event_time_ms(chunk, source.time_column, source.name)
        frame = chunk.with_columns(
            pl.int_range(n, dtype=pl.Int64).alias(ROW),
            pl.lit(None, dtype=pl.String).alias(KEY),
            times.cast(pl.Int64).alias(TS),
        ).select(ROW, KEY, TS, *chunk.columns)
        return cls._make(topic, frame, first)

    @classmethod
    def _make(cls, topic: str, frame: pl.DataFrame, first: int) -> FrameBatch:
        n = frame.height
        batch = cls(
            topic=topic,
            partitions=[0] * n,
            offsets=cast("list[int]", range(first, first + n)),
            raw_keys=cast("list[bytes | None]", Nulls(n)),
            raw_values=cast("list[bytes | None]", JsonRows(frame.select(value_columns(frame)))),
            timestamps=cast("list[int]", Column(frame[TS])),
        )
        batch.frame = frame
        return batch

    def next_offsets(self) -> dict[int, int]:
        return {0: self.offsets[-1] + 1} if len(self) else {}

    def slice(self, start: int, stop: int) -> Source:
        if start == 0 and stop >= len(self):
            return self
        part = self.frame.slice(start, stop - start)
        part = part.with_columns(pl.int_range(part.height, dtype=pl.Int64).alias(ROW))
        return FrameBatch._make(self.topic, part, self.offsets[start])


class _FrameExecutor(Executor):
    """Takes a :class:`FrameBatch`'s frame as the decoded batch; a record without an event
    time goes to the dead letters, as in a live run."""

    def decode(self, source: Source, attempt: _Attempt) -> pl.DataFrame:
        if not isinstance(source, FrameBatch):
            return super().decode(source, attempt)
        frame = source.frame
        missing = frame[TS].is_null()
        if missing.any():
            for row in frame.filter(missing)[ROW].to_list():
                self.fail(
                    attempt,
                    source,
                    [row],
                    ValueError("the event-time column is missing or not a time"),
                    f"timestamp {self.topic.name}",
                )
            frame = frame.filter(~missing)
        return frame


class _HistoryCapture(_Capture):
    def __init__(self, sinks: dict[str, Sink]) -> None:
        super().__init__()
        self.sinks = sinks
        self.targets: list[SinkTarget] = []

    def emit(
        self,
        topic: Topic,
        frame: pl.DataFrame,
        source: Source,
        splice: tuple[str, ...] | None = None,
    ) -> list[tuple[int, Exception]]:
        sink = self.sinks.get(topic.name)
        if sink is None:
            return super().emit(topic, frame, source, splice)
        sink.write(values_of(frame))
        return []

    def commit(self, batch_id: str) -> None:
        for target in self.targets:  # the pipeline's own sink steps
            target.flush(lambda key: batch_id)
        for sink in self.sinks.values():
            commit = getattr(sink, "commit", None)
            if commit is not None:
                commit(batch_id)


def _output_frame(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [f for f in frames if f.height] or frames[:1]
    if not frames:
        return pl.DataFrame()
    shaped = [
        f.select(value_columns(f)).with_columns(f[KEY].alias("_key"), f[TS].alias("_timestamp"))
        for f in frames
    ]
    return pl.concat(shaped, how="diagonal_relaxed")
