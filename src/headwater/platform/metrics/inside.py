"""Inside each deployment's app: its loop's busy ratio, its checkpoints and its steps' event
time, state, late records and dead letters, from its replicas' metrics.

The step sampler hands every scrape here (``observe``). Counters become what the replicas
counted since the sample before, summed over replicas (a replica seen for the first time counts
from then on; one whose counter went down restarted, and counts its whole value):

- busy ratio: the loop's busy seconds over its busy and idle seconds, all replicas together;
  a step's busy ratio is the step's own seconds over the same total (the Flink web UI's
  "busy" and "backpressured", read from the loop that polls: a slow step fills it);
- a checkpoint point whenever checkpoints completed or failed: how many, their mean duration,
  the partition offsets and changelog records they wrote, the failures.

Where these are kept, and why memory: the points go into the platform's :class:`MetricsStore`,
an hour per deployment in memory, as the topic rates and lags already are. A sample every five
seconds is a few numbers per deployment, which a restart of the platform may lose without harm
(the replicas keep counting, and the charts refill within the hour), while writing them to the
database would put a row per deployment every five seconds on the metadata store for nothing
anyone must keep. Per step only the latest figures are kept (watermark, state, late records and
dead letters are levels or totals, not series to chart).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from headwater.platform.metrics.replica import ReplicaMetrics
from headwater.platform.metrics.store import MetricsStore, Point

BUSY = "busy_ratio"
CHECKPOINTS = "checkpoints"
CHECKPOINT_SECONDS = "checkpoint_seconds"
CHECKPOINT_OFFSETS = "checkpoint_offsets"
CHECKPOINT_CHANGELOG = "checkpoint_changelog_records"
CHECKPOINT_FAILURES = "checkpoint_failures"
_APP_COUNTERS = (
    "busy_seconds",
    "idle_seconds",
    "checkpoints",
    "checkpoint_seconds",
    "checkpoint_offsets",
    "checkpoint_changelog_records",
    "checkpoint_failures",
)


@dataclass(frozen=True)
class StepInside:
    """A step's latest figures, over every replica that answered."""

    busy_ratio: float | None  # of the loop's time, since the sample before
    watermark: int | None  # epoch ms, the least over replicas
    watermark_lag_seconds: float | None  # how far the watermark trails the wall clock
    state_entries: int | None
    late_records: int | None  # counted by the replicas now running
    dead_letters: int


@dataclass(frozen=True)
class CheckpointPoint:
    at: float  # epoch seconds of the sample
    checkpoints: int
    mean_seconds: float | None  # None: none completed, only failures
    offsets: int
    changelog_records: int
    failures: int


@dataclass
class _Deployment:
    last: dict[str, ReplicaMetrics] = field(default_factory=dict)  # address -> last scrape
    steps: dict[str, StepInside] = field(default_factory=dict)
    busy_ratio: float | None = None


def _increase(now: float, before: float) -> float:
    """What a counter grew by; one that went down started again (its replica restarted)."""
    return now - before if now >= before else now


class AppInside:
    """The figures of every deployment's app; safe from any thread."""

    def __init__(self, store: MetricsStore) -> None:
        self.store = store
        self._deployments: dict[int, _Deployment] = {}
        self._lock = threading.Lock()

    def observe(
        self, deployment: int, scraped: dict[str, ReplicaMetrics | None], at: float
    ) -> None:
        """One sample: each live replica's scrape by address (None: no answer this time);
        ``at`` in epoch seconds."""
        with self._lock:
            state = self._deployments.setdefault(deployment, _Deployment())
            for address in set(state.last) - set(scraped):
                del state.last[address]
            answered = {a: m for a, m in scraped.items() if m is not None}
            grew = dict.fromkeys(_APP_COUNTERS, 0.0)
            step_busy: dict[str, float] = {}
            for address, metrics in answered.items():
                before = state.last.get(address)
                state.last[address] = metrics
                if before is None:
                    continue  # first seen: what it counted so far happened before
                for name in _APP_COUNTERS:
                    grew[name] += _increase(getattr(metrics, name), getattr(before, name))
                for step, figures in metrics.steps.items():
                    was = before.steps.get(step)
                    busy = _increase(figures.busy_seconds, was.busy_seconds if was else 0.0)
                    step_busy[step] = step_busy.get(step, 0.0) + busy
            loop_seconds = grew["busy_seconds"] + grew["idle_seconds"]
            if loop_seconds > 0:
                state.busy_ratio = min(1.0, grew["busy_seconds"] / loop_seconds)
                self.store.record(deployment, BUSY, state.busy_ratio, at=at)
            if grew["checkpoints"] or grew["checkpoint_failures"]:
                self._checkpoint(deployment, grew, at)
            state.steps = _steps(answered, step_busy, loop_seconds, at)

    def _checkpoint(self, deployment: int, grew: dict[str, float], at: float) -> None:
        record = self.store.record
        record(deployment, CHECKPOINTS, grew["checkpoints"], at=at)
        if grew["checkpoints"]:
            mean = grew["checkpoint_seconds"] / grew["checkpoints"]
            record(deployment, CHECKPOINT_SECONDS, mean, at=at)
        record(deployment, CHECKPOINT_OFFSETS, grew["checkpoint_offsets"], at=at)
        record(deployment, CHECKPOINT_CHANGELOG, grew["checkpoint_changelog_records"], at=at)
        record(deployment, CHECKPOINT_FAILURES, grew["checkpoint_failures"], at=at)

    def keep_only(self, deployments: set[int]) -> None:
        """Forget the latest figures of deployments with no live replica (their series stay
        in the store for the hour)."""
        with self._lock:
            for deployment in set(self._deployments) - deployments:
                del self._deployments[deployment]

    def steps(self, deployment: int) -> dict[str, StepInside]:
        with self._lock:
            state = self._deployments.get(deployment)
            return dict(state.steps) if state is not None else {}

    def busy_ratio(self, deployment: int) -> float | None:
        """The latest busy ratio of the deployment's loop, while it has live replicas."""
        with self._lock:
            state = self._deployments.get(deployment)
            return state.busy_ratio if state is not None else None

    def busy_history(self, deployment: int) -> list[Point]:
        return self.store.deployment(deployment).get((BUSY, ()), [])

    def checkpoints(self, deployment: int) -> list[CheckpointPoint]:
        """The checkpoint history of the last hour, oldest first."""
        series = self.store.deployment(deployment)

        def by_time(name: str) -> dict[float, float]:
            return dict(series.get((name, ()), []))

        counts, seconds = by_time(CHECKPOINTS), by_time(CHECKPOINT_SECONDS)
        offsets, changelog = by_time(CHECKPOINT_OFFSETS), by_time(CHECKPOINT_CHANGELOG)
        failures = by_time(CHECKPOINT_FAILURES)
        return [
            CheckpointPoint(
                at=at,
                checkpoints=int(count),
                mean_seconds=seconds.get(at),
                offsets=int(offsets.get(at, 0)),
                changelog_records=int(changelog.get(at, 0)),
                failures=int(failures.get(at, 0)),
            )
            for at, count in sorted(counts.items())
        ]


def _steps(
    answered: dict[str, ReplicaMetrics],
    step_busy: dict[str, float],
    loop_seconds: float,
    at: float,
) -> dict[str, StepInside]:
    names = {step for metrics in answered.values() for step in metrics.steps}
    found: dict[str, StepInside] = {}
    for step in sorted(names):
        figures = [m.steps[step] for m in answered.values() if step in m.steps]
        marks = [f.watermark for f in figures if f.watermark is not None]
        # A replica that has not seen event time yet holds the step's watermark back.
        watermark = int(min(marks)) if marks and len(marks) == len(figures) else None
        entries = [f.state_entries for f in figures if f.state_entries is not None]
        late = [f.late_records for f in figures if f.late_records is not None]
        found[step] = StepInside(
            busy_ratio=min(1.0, step_busy.get(step, 0.0) / loop_seconds) if loop_seconds else None,
            watermark=watermark,
            watermark_lag_seconds=max(0.0, at - watermark / 1000)
            if watermark is not None
            else None,
            state_entries=int(sum(entries)) if entries else None,
            late_records=int(sum(late)) if late else None,
            dead_letters=int(sum(f.dead_letters for f in figures)),
        )
    return found
