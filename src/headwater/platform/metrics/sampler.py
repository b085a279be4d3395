"""Samples every cluster's topics every few seconds: size, message rate and consumer lag, per
topic and, for each group, per partition."""

from __future__ import annotations

import logging
import time

from confluent_kafka import KafkaException

from headwater.errors import BrokerError
from headwater.platform.domain.clusters import ClusterService
from headwater.platform.metrics.periodic import PeriodicSampler
from headwater.platform.metrics.store import MetricsStore
from headwater.platform.topics import ClusterView, TopicRates

SAMPLE_SECONDS = 5.0
log = logging.getLogger(__name__)


class TopicSampler(PeriodicSampler):
    """A daemon thread feeding ``store`` (and the topic listing's ``rates``) until stopped."""

    def __init__(
        self,
        clusters: ClusterService,
        store: MetricsStore,
        rates: TopicRates,
        interval: float = SAMPLE_SECONDS,
    ) -> None:
        super().__init__(interval, "headwater-metrics")
        self.clusters = clusters
        self.store = store
        self.rates = rates
        # Committed-offset samples per (group, topic): how fast each group consumes a topic.
        self.consumed = TopicRates()
        self._failing: set[str] = set()  # clusters whose last sample failed: logged once

    def sample(self) -> None:
        """One sample of every cluster; a cluster that does not answer is skipped."""
        for name, settings in self.clusters.connections():
            if self.stopping:
                return
            try:
                self._sample_cluster(name, ClusterView(settings))
            except (BrokerError, KafkaException) as exc:  # unreachable, or invalid settings
                if name not in self._failing:
                    log.warning("metrics: cluster %s did not answer: %s", name, exc)
                self._failing.add(name)
            else:
                self._failing.discard(name)

    def _sample_cluster(self, cluster: str, view: ClusterView) -> None:
        partitions = {t: n for t, n in view.partitions().items() if not t.startswith("__")}
        offsets = view.offsets(partitions)
        at, now = time.time(), time.monotonic()
        ends: dict[tuple[str, int], int] = {}
        for topic, parts in offsets.items():
            produced = sum(p.high for p in parts)
            self.store.record_topic(
                cluster, topic, "messages", sum(p.high - p.low for p in parts), at=at
            )
            rate = self.rates.observe(cluster, topic, produced, now)
            if rate is not None:
                self.store.record_topic(cluster, topic, "rate", rate, at=at)
            ends.update({(topic, p.partition): p.high for p in parts})
        for group, committed in view.group_offsets().items():
            lags: dict[str, int] = {}
            positions: dict[str, int] = {}
            for (topic, partition), offset in committed.items():
                if (topic, partition) in ends:
                    # Watermarks can trail the log end on some brokers: never a negative lag.
                    lag = max(0, ends[(topic, partition)] - offset)
                    where = (("topic", topic), ("partition", str(partition)))
                    self.store.record_group(cluster, group, "lag", lag, where, at=at)
                    lags[topic] = lags.get(topic, 0) + lag
                    positions[topic] = positions.get(topic, 0) + offset
            for topic, lag in lags.items():
                labels = (("group", group),)
                self.store.record_topic(cluster, topic, "lag", lag, labels, at=at)
                # The rates' key is only a name: a NUL cannot occur in group or topic names.
                rate = self.consumed.observe(cluster, f"{group}\0{topic}", positions[topic], now)
                if rate is not None:
                    self.store.record_topic(cluster, topic, "consumed", rate, labels, at=at)
