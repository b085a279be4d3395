"""Event time of one pipeline: the executor's link between records, watermarks and windows.

:class:`PipelineTime` observes the event times of records reaching a ``group_by`` that feeds
windows (or a window on the input itself), keeps the watermark tracker of the pipeline's input
partitions, reads the watermark markers of a repartition input (they are taken out of the batch
before decoding), and says which markers to write and which watermark each partition's windows
close at. The executor calls it after every batch and whenever time advances (the runner's
tick), so windows close even when no record arrives. Keyed timers can hook in at the same
place: they need a watermark per partition and the time-advanced call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from headwater.runtime.loop.batch import ROW, TS, Source
from headwater.runtime.operators.steps import SourceOp
from headwater.runtime.operators.timed import TimedOperator
from headwater.runtime.time import resume
from headwater.runtime.time.join_time import domain_nodes, joins_below
from headwater.runtime.time.watermark import (
    MARKER_HEADER,
    MAX_TIME,
    MIN_TIME,
    MarkerTable,
    WatermarkConfig,
    WatermarkTracker,
)

if TYPE_CHECKING:
    from headwater.runtime.graph import Node
    from headwater.topic import Topic

RESEND_MARKERS = 2.0  # seconds


class PipelineTime:
    def __init__(self, root: Node) -> None:
        source = root.operator
        config = (source.watermarks if isinstance(source, SourceOp) else None) or WatermarkConfig()
        self.tracker = WatermarkTracker(config)
        self.markers = MarkerTable() if root.operator.reads_markers else None
        # Up to the joins this pipeline feeds: what follows a join keeps its own time.
        nodes = domain_nodes(root)
        joins = joins_below(root)
        # Steps that write watermark markers along with their records, and the topics.
        carriers = [(n, n.operator.marker_topic) for n in nodes]
        self.marker_topics: list[Topic] = [t for _, t in carriers if t is not None]
        # Timed operators (windows, keyed process functions): fired as time advances.
        self.operators: list[tuple[Node, TimedOperator]] = [
            (n, n.operator) for n in nodes if isinstance(n.operator, TimedOperator)
        ]
        self.timed = [(n, op) for n, op in self.operators if op.timed]
        # Nodes whose input records move the tracker: a repartitioned window's watermark comes
        # from markers instead.
        self.observers = {id(n) for n, t in carriers if t is not None}
        if self.markers is None:
            # A join's watermark is the minimum of its inputs': each observes its records
            # as they reach the join.
            self.observers |= {id(n) for n, _ in self.operators} | {id(j) for j in joins}
        self.enabled = bool(self.marker_topics or self.operators or joins)
        self.live: set[int] = set()  # partitions this instance processes
        self._sent: dict[int, tuple[int, bool]] = {}
        self._resent = 0.0
        self._current = MIN_TIME
        self._final: int | None = None  # the watermark the input ended at
        # Per partition, the event time offered with an offset being committed, and the one
        # the last successful commit holds (what a rewind goes back to).
        self._offered: dict[int, int] = {}
        self._committed: dict[int, int] = {}

    def strip_markers(self, source: Source) -> tuple[Source, list[tuple[int, bytes]]]:
        """The batch without its watermark markers, and the markers (partition, payload)."""
        self.live.update(source.partitions)
        if not source.headers:
            return source, []
        marks: list[tuple[int, bytes]] = []
        keep: list[int] = []
        for i, headers in enumerate(source.headers):
            if headers and any(name == MARKER_HEADER for name, _ in headers):
                marks.append((source.partitions[i], source.raw_values[i] or b"{}"))
            else:
                keep.append(i)
        if not marks:
            return source, []
        stripped = Source(
            topic=source.topic,
            partitions=[source.partitions[i] for i in keep],
            offsets=[source.offsets[i] for i in keep],
            raw_keys=[source.raw_keys[i] for i in keep],
            raw_values=[source.raw_values[i] for i in keep],
            timestamps=[source.timestamps[i] for i in keep],
            headers=[source.headers[i] for i in keep],
        )
        return stripped, marks

    def apply_markers(self, marks: list[tuple[int, bytes]]) -> None:
        if self.markers is not None:
            for partition, payload in marks:
                self.markers.update(partition, payload)

    def observe(self, frame: pl.DataFrame, source: Source, now: float) -> None:
        if frame.height == 0 or not source.partitions:
            return
        partitions = pl.Series(source.partitions, dtype=pl.Int64).gather(frame[ROW])
        self.tracker.observe(partitions, frame[TS], now)

    def watermark(self, partition: int) -> int:
        """The watermark windows of ``partition`` close at (as of the last advance)."""
        if self._final is not None:
            return self._final
        if self.markers is not None:
            return self.markers.watermark(partition)
        return self._current

    def advance(self, now: float) -> dict[int, tuple[int, bool]]:
        """Move the watermarks on; returns the input partitions whose marker changed."""
        marks = self.tracker.partition_watermarks(now)
        self._current = self.tracker.watermark(now)
        changed = {p: m for p, m in marks.items() if self._sent.get(p) != m}
        if now - self._resent >= RESEND_MARKERS:
            # Now and then every marker again: a downstream partition that moved to another
            # instance learns the watermarks that have not changed since.
            changed, self._resent = marks, now
        self._sent.update(changed)
        return changed if self.marker_topics else {}

    def finish(self, at: int = MAX_TIME) -> None:
        """The input ended (a local or bounded run): watermarks go to ``at``, by default the
        end of time."""
        self.tracker.finish(at)
        self._final = at

    def assign(self, partition: int, now: float, metadata: str | None = None) -> None:
        """Wait for ``partition``, from the event time its last commit's ``metadata`` holds."""
        resume_at = resume.decode(metadata)
        if resume_at is not None:
            self._committed[partition] = resume_at
        self.tracker.assign(partition, now, resume_at)

    def ready(self, partition: int) -> None:
        """``partition`` can be processed (its stores are recovered): its windows and timers
        fire as time advances even if it never reads another record (state a restart
        brought back)."""
        self.live.add(partition)

    def offer(self, partition: int) -> str | None:
        """The metadata to commit with ``partition``'s offset: its event time, if any."""
        latest = self.tracker.latest(partition)
        if latest is None:
            return None
        self._offered[partition] = latest
        return resume.encode(latest)

    def committed(self, partition: int) -> None:
        """The commit of what :meth:`offer` gave for ``partition`` succeeded."""
        offered = self._offered.pop(partition, None)
        if offered is not None:
            self._committed[partition] = offered

    def rewind(self, partition: int, now: float) -> None:
        """The partition is read again from its last commit (an aborted transaction): its
        event time goes back with it, or the records read again would be behind a watermark
        they themselves had moved (taken for late ones), and every marker is written again
        (those of the aborted transaction are void)."""
        self._offered.pop(partition, None)
        self.tracker.rewind(partition, now, self._committed.get(partition))
        self._current = self.tracker.watermark(now)
        self._sent.clear()
        if self.markers is not None:
            self.markers.forget(partition)
        for _, operator in self.operators:
            operator.forget(partition)

    def forget(self, partition: int) -> None:
        self.tracker.forget(partition)
        self._offered.pop(partition, None)
        self._committed.pop(partition, None)
        self.live.discard(partition)
        self._sent.pop(partition, None)
        if self.markers is not None:
            self.markers.forget(partition)
        for _, operator in self.operators:
            operator.forget(partition)
