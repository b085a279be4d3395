"""``/metrics`` in Prometheus' text format: the newest sample of every series kept in memory,
plus counts and durations of the HTTP requests served."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater.platform.metrics.store import MetricsStore

TOPIC_METRICS = {
    "messages": ("headwater_topic_messages", "Records stored in the topic (high - low watermarks)"),
    "rate": ("headwater_topic_records_per_second", "Records produced per second, last minute"),
    "lag": ("headwater_consumer_group_lag", "Records of the topic a consumer group has not read"),
}


class _StoreCollector(Collector):
    def __init__(self, store: MetricsStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        for cluster, topic, name, labels, value in self.store.latest_topics():
            metric, help_text = TOPIC_METRICS.get(
                name, (f"headwater_topic_{name}", f"Topic metric {name}")
            )
            label_names = ["cluster", "topic", *(k for k, _ in labels)]
            family = families.setdefault(
                metric, GaugeMetricFamily(metric, help_text, labels=label_names)
            )
            family.add_metric([cluster, topic, *(v for _, v in labels)], value)
        yield from families.values()
        partition_lag = GaugeMetricFamily(
            "headwater_consumer_group_partition_lag",
            "Records of one partition a consumer group has not read",
            labels=["cluster", "group", "topic", "partition"],
        )
        for cluster, group, name, labels, value in self.store.latest_groups():
            where = dict(labels)
            if name == "lag":
                partition_lag.add_metric(
                    [cluster, group, where.get("topic", ""), where.get("partition", "")], value
                )
        yield partition_lag
        deployments = GaugeMetricFamily(
            "headwater_deployment_metric",
            "Figures reported by deployments, by name",
            labels=["deployment", "metric", "labels"],
        )
        for deployment, name, labels, value in self.store.latest_deployments():
            extra = ",".join(f"{k}={v}" for k, v in labels)
            deployments.add_metric([deployment, name, extra], value)
        yield deployments


class PlatformMetrics:
    """One server's metrics: the in-memory series and a Prometheus registry over them."""

    def __init__(self, store: MetricsStore | None = None) -> None:
        self.store = store or MetricsStore()
        # A registry per server, not the global one: tests run several servers in a process.
        self.registry = CollectorRegistry()
        self.registry.register(_StoreCollector(self.store))
        self.requests = Counter(
            "headwater_http_requests",
            "HTTP requests served, by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.durations = Histogram(
            "headwater_http_request_duration_seconds",
            "Time to the end of the response (streams count until they close)",
            ["method", "route"],
            registry=self.registry,
        )

    def record(
        self,
        deployment: str | int,
        name: str,
        value: float,
        labels: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """A deployment's figure, kept for an hour and exported on ``/metrics``."""
        self.store.record(deployment, name, value, labels)


class RequestMetrics:
    """ASGI middleware counting requests by route template (never the raw path: unbounded)."""

    def __init__(self, app: ASGIApp, metrics: PlatformMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.durations.labels(method, template).observe(time.perf_counter() - started)
