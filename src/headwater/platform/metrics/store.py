"""Time series kept in memory for charts: one ring per (subject, metric), the last hour."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

KEEP_SECONDS = 3600.0
Point = tuple[float, float]  # (epoch seconds, value)
# A series' labels beyond its subject, e.g. (("group", "billing"),) for a group's lag.
Labels = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, Labels]


@dataclass
class MetricsStore:
    """Series per topic (``(cluster, topic)``), per consumer group (``(cluster, group)``) and
    per deployment, each trimmed to ``keep`` seconds. Safe to use from any thread."""

    keep: float = KEEP_SECONDS
    _topics: dict[tuple[str, str], dict[SeriesKey, deque[Point]]] = field(default_factory=dict)
    _groups: dict[tuple[str, str], dict[SeriesKey, deque[Point]]] = field(default_factory=dict)
    _deployments: dict[str, dict[SeriesKey, deque[Point]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self,
        deployment: str | int,
        name: str,
        value: float,
        labels: Labels = (),
        at: float | None = None,
    ) -> None:
        """A figure of a deployment (records/s, lag, restarts...): its newest point."""
        self._record(self._deployments, str(deployment), (name, labels), value, at)

    def record_topic(
        self,
        cluster: str,
        topic: str,
        name: str,
        value: float,
        labels: Labels = (),
        at: float | None = None,
    ) -> None:
        self._record(self._topics, (cluster, topic), (name, labels), value, at)

    def record_group(
        self,
        cluster: str,
        group: str,
        name: str,
        value: float,
        labels: Labels = (),
        at: float | None = None,
    ) -> None:
        """A figure of a consumer group, e.g. its lag on one partition."""
        self._record(self._groups, (cluster, group), (name, labels), value, at)

    def _record(
        self,
        bucket: dict[Any, dict[SeriesKey, deque[Point]]],
        owner: Any,
        key: SeriesKey,
        value: float,
        at: float | None,
    ) -> None:
        with self._lock:
            self._add(bucket.setdefault(owner, {}), key, value, at)

    def group(self, cluster: str, group: str) -> dict[SeriesKey, list[Point]]:
        with self._lock:
            return self._copy(self._groups.get((cluster, group), {}))

    def topic(self, cluster: str, topic: str) -> dict[SeriesKey, list[Point]]:
        with self._lock:
            return self._copy(self._topics.get((cluster, topic), {}))

    def deployment(self, deployment: str | int) -> dict[SeriesKey, list[Point]]:
        with self._lock:
            return self._copy(self._deployments.get(str(deployment), {}))

    def latest_topics(self, since: float = 0.0) -> list[tuple[str, str, str, Labels, float]]:
        """(cluster, topic, metric, labels, newest value) of every topic series whose newest
        point is at or after ``since`` (epoch seconds)."""
        with self._lock:
            return [
                (cluster, topic, name, labels, points[-1][1])
                for (cluster, topic), series in sorted(self._topics.items())
                for (name, labels), points in sorted(series.items())
                if points and points[-1][0] >= since
            ]

    def latest_groups(self) -> list[tuple[str, str, str, Labels, float]]:
        """(cluster, group, metric, labels, newest value) of every group series sampled within
        ``keep`` seconds: a group that is gone stops being reported an hour later."""
        cutoff = time.time() - self.keep
        with self._lock:
            return [
                (cluster, group, name, labels, points[-1][1])
                for (cluster, group), series in sorted(self._groups.items())
                for (name, labels), points in sorted(series.items())
                if points and points[-1][0] >= cutoff
            ]

    def latest_deployments(self) -> list[tuple[str, str, Labels, float]]:
        with self._lock:
            return [
                (deployment, name, labels, points[-1][1])
                for deployment, series in sorted(self._deployments.items())
                for (name, labels), points in sorted(series.items())
                if points
            ]

    def _add(
        self, series: dict[SeriesKey, deque[Point]], key: SeriesKey, value: float, at: float | None
    ) -> None:
        now = time.time() if at is None else at
        points = series.setdefault(key, deque())
        points.append((now, float(value)))
        while points and points[0][0] < now - self.keep:
            points.popleft()

    def _copy(self, series: dict[SeriesKey, deque[Point]]) -> dict[SeriesKey, list[Point]]:
        cutoff = time.time() - self.keep
        return {key: [p for p in points if p[0] >= cutoff] for key, points in series.items()}
