"""Model monitoring: what each deployment's model steps scored, sample by sample, per version.

Each replica serves its model steps' counters (see ``headwater.runtime.loop.model_metrics``):
records, batches, seconds spent scoring, and scores per tenth of [0, 1], per step, model and
version. The step sampler scrapes them with the step counters; here every sample becomes, per
model step and version that scored since the sample before, one point: records per second,
mean scoring time per batch, the interval's score histogram, and the drift of the version's
recent scores (the last ``DRIFT_WINDOW_SECONDS``) from its reference, as a population
stability index. A version's reference is its first ``REFERENCE_RECORDS`` scores seen here.
Points are kept for the last hour, in memory, like every other series of the platform.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from headwater.models.monitoring import SCORE_BINS, population_stability
from headwater.platform.metrics.store import KEEP_SECONDS

REFERENCE_RECORDS = 200
DRIFT_WINDOW_SECONDS = 60.0
_RECORDS = "headwater_model_records_total"
_BATCHES = "headwater_model_batches_total"
_SECONDS = "headwater_model_batch_seconds_total"
_SCORES = "headwater_model_scores_total"

# (step id, model as the pipeline names it, version: "" for a model from a file)
VersionKey = tuple[str, str, str]


@dataclass
class Totals:
    """One version's counters as a replica served them (or a difference of two)."""

    records: float = 0.0
    batches: float = 0.0
    seconds: float = 0.0
    bins: list[float] = field(default_factory=lambda: [0.0] * SCORE_BINS)

    def since(self, before: Totals | None) -> Totals:
        """What was counted after ``before``; all of it when the replica restarted since."""
        if before is None or self.records < before.records:
            return self
        return Totals(
            self.records - before.records,
            self.batches - before.batches,
            self.seconds - before.seconds,
            [a - b for a, b in zip(self.bins, before.bins, strict=True)],
        )

    def add(self, other: Totals) -> None:
        self.records += other.records
        self.batches += other.batches
        self.seconds += other.seconds
        self.bins = [a + b for a, b in zip(self.bins, other.bins, strict=True)]


@dataclass(frozen=True)
class ScorePoint:
    """One sample of one model step: what a version scored since the sample before."""

    at: float  # epoch seconds
    version: str
    records_per_second: float
    batch_ms: float | None  # mean scoring time of a batch
    bins: list[float]  # scores per tenth of [0, 1]: empty for a regressor
    drift: float | None  # population stability index against the version's reference


def add_model_sample(
    found: dict[VersionKey, Totals], name: str, labels: dict[str, str], value: float
) -> bool:
    """Read one sample of a replica's ``/metrics`` into ``found`` if it is a model counter."""
    if name not in (_RECORDS, _BATCHES, _SECONDS, _SCORES):
        return False
    key = (labels.get("step", ""), labels.get("model", ""), labels.get("version", ""))
    totals = found.setdefault(key, Totals())
    if name == _RECORDS:
        totals.records = value
    elif name == _BATCHES:
        totals.batches = value
    elif name == _SECONDS:
        totals.seconds = value
    elif labels.get("bin", "").isdigit() and int(labels["bin"]) < SCORE_BINS:
        totals.bins[int(labels["bin"])] = value
    return True


@dataclass
class _Version:
    reference: Totals = field(default_factory=Totals)
    recent: deque[tuple[float, list[float]]] = field(default_factory=deque)

    @property
    def has_reference(self) -> bool:
        return sum(self.reference.bins) >= REFERENCE_RECORDS


@dataclass
class _Deployment:
    last: dict[str, dict[VersionKey, Totals]] = field(default_factory=dict)  # per replica
    sampled_at: float | None = None
    points: dict[tuple[str, str], deque[ScorePoint]] = field(default_factory=dict)
    versions: dict[VersionKey, _Version] = field(default_factory=dict)


class ModelScores:
    """Each deployment's model steps, sample by sample; safe from any thread."""

    def __init__(self, keep: float = KEEP_SECONDS) -> None:
        self.keep = keep
        self._deployments: dict[int, _Deployment] = {}
        self._lock = threading.Lock()

    def observe(
        self,
        deployment: int,
        scraped: dict[str, dict[VersionKey, Totals] | None],
        now: float | None = None,
    ) -> None:
        """One sample: each live replica's model counters by address (None: no answer)."""
        now = time.time() if now is None else now
        with self._lock:
            state = self._deployments.setdefault(deployment, _Deployment())
            for address in set(state.last) - set(scraped):
                del state.last[address]
            counted: dict[VersionKey, Totals] = {}
            for address, totals in scraped.items():
                if totals is None:
                    continue
                before = state.last.get(address)
                state.last[address] = totals
                if before is None:
                    continue  # first seen: what it counted so far happened before this sample
                for key, value in totals.items():
                    counted.setdefault(key, Totals()).add(value.since(before.get(key)))
            span = None if state.sampled_at is None else now - state.sampled_at
            state.sampled_at = now
            for key, delta in counted.items():
                if delta.records > 0 and span is not None and span > 0:
                    self._point(state, key, delta, span, now)

    def _point(
        self, state: _Deployment, key: VersionKey, delta: Totals, span: float, now: float
    ) -> None:
        step, model, version = key
        history = state.versions.setdefault(key, _Version())
        scored = sum(delta.bins) > 0
        drift = None
        if scored:
            if not history.has_reference:
                history.reference.add(delta)
            history.recent.append((now, delta.bins))
            while history.recent and history.recent[0][0] < now - DRIFT_WINDOW_SECONDS:
                history.recent.popleft()
            if history.has_reference:
                window = [sum(b[i] for _, b in history.recent) for i in range(SCORE_BINS)]
                drift = population_stability(history.reference.bins, window)
        point = ScorePoint(
            at=now,
            version=version,
            records_per_second=delta.records / span,
            batch_ms=1000 * delta.seconds / delta.batches if delta.batches > 0 else None,
            bins=delta.bins if scored else [],
            drift=drift,
        )
        points = state.points.setdefault((step, model), deque())
        points.append(point)
        while points and points[0].at < now - self.keep:
            points.popleft()

    def keep_only(self, deployments: set[int]) -> None:
        """Forget the counters of deployments with no live replica (their points stay)."""
        with self._lock:
            for deployment in set(self._deployments) - deployments:
                state = self._deployments[deployment]
                state.last.clear()
                state.sampled_at = None

    def points(self, deployment: int) -> dict[tuple[str, str], list[ScorePoint]]:
        """Per (step, model) of ``deployment``: its points, oldest first."""
        cutoff = time.time() - self.keep
        with self._lock:
            state = self._deployments.get(deployment)
            if state is None:
                return {}
            return {
                key: [p for p in points if p.at >= cutoff] for key, points in state.points.items()
            }
