"""Topics of a cluster as the platform shows them: sizes, configs, rates and consumer lag."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    OffsetSpec,
    ResourceType,
)

from headwater.errors import BrokerError
from headwater.kafka.settings import KafkaSettings
from headwater.platform.kafka_log import KAFKA_LOG

# What a partition answers while its leader is still taking it over: just after creation, a
# one-node Kafka needs about 7 ms a partition (7 s for a topic of 1,000 partitions).
_NOT_READY = frozenset(
    {"NOT_LEADER_FOR_PARTITION", "LEADER_NOT_AVAILABLE", "UNKNOWN_TOPIC_OR_PART"}
)
_NOT_READY_SECONDS = 30.0

# Configs shown in listings; the broker may omit ones left at their defaults.
HIGHLIGHTS = ("retention.ms", "cleanup.policy")
# Headwater's own state topics (changelogs, repartitions) and Kafka's (``__consumer_offsets``).
INTERNAL_SUFFIXES = ("-changelog", "-repartition")
RATE_WINDOW_SECONDS = 60.0


def is_internal(name: str) -> bool:
    return name.startswith("__") or name.endswith(INTERNAL_SUFFIXES)


@dataclass
class TopicRates:
    """Messages per second per topic, from high-watermark samples taken when topics are read.

    The rate spans the samples of the last ``window`` seconds (the oldest kept one to now); a
    topic read only once so far has no rate yet.
    """

    window: float = RATE_WINDOW_SECONDS
    _samples: dict[tuple[str, str], deque[tuple[float, int]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, cluster: str, topic: str, produced: int, now: float) -> float | None:
        with self._lock:
            samples = self._samples.setdefault((cluster, topic), deque())
            samples.append((now, produced))
            # Keep one sample at or before the window's start, so the rate spans the window.
            while len(samples) > 2 and samples[1][0] <= now - self.window:
                samples.popleft()
            first_time, first_count = samples[0]
            if now - first_time <= 0:
                return None
            # A deleted and recreated topic restarts its offsets: never a negative rate.
            return max(0, produced - first_count) / (now - first_time)

    def forget(self, cluster: str, topic: str) -> None:
        with self._lock:
            self._samples.pop((cluster, topic), None)


@dataclass(frozen=True)
class PartitionOffsets:
    partition: int
    low: int
    high: int


@dataclass(frozen=True)
class GroupMember:
    member_id: str
    client_id: str
    host: str
    assignment: tuple[tuple[str, int], ...]  # (topic, partition), sorted


@dataclass(frozen=True)
class GroupDescription:
    group: str
    state: str  # stable, preparing_rebalance, empty, dead... as the broker says, lowercase
    members: tuple[GroupMember, ...]


@dataclass(frozen=True)
class GroupLag:
    group: str
    offsets: dict[int, int]  # partition -> committed offset


class ClusterView:
    """Read-only questions to one cluster, answered in few broker round trips. librdkafka's
    log lines go to the platform's log, repeats aggregated (see ``kafka_log``)."""

    def __init__(self, settings: KafkaSettings, timeout: float = 5.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._client = AdminClient(settings.client_config(logger=KAFKA_LOG))

    def _hand_over_logs(self) -> None:
        self._client.poll(0)  # librdkafka passes its log lines on when polled

    def _broker_error(self, what: str, exc: Exception) -> BrokerError:
        detail = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else str(exc)
        return BrokerError(
            f"cannot {what} on the Kafka cluster at {self.settings.bootstrap_servers}: {detail}; "
            "is the broker running and are the cluster's settings right?"
        )

    def partitions(self) -> dict[str, int]:
        """Partition counts of every topic, internal ones included."""
        try:
            metadata = self._client.list_topics(timeout=self.timeout)
        except KafkaException as exc:
            raise self._broker_error("list topics", exc) from exc
        finally:
            self._hand_over_logs()
        return {name: len(meta.partitions) for name, meta in metadata.topics.items()}

    def replications(self) -> dict[str, int]:
        try:
            topics = self._client.list_topics(timeout=self.timeout).topics
        except KafkaException as exc:
            raise self._broker_error("list topics", exc) from exc
        finally:
            self._hand_over_logs()
        return {
            name: max((len(p.replicas) for p in meta.partitions.values()), default=0)
            for name, meta in topics.items()
        }

    def configs(self, names: list[str]) -> dict[str, dict[str, str] | None]:
        """Each topic's config highlights; None where the broker did not answer."""
        if not names:
            return {}
        resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
        out: dict[str, dict[str, str] | None] = {}
        futures = self._client.describe_configs(resources, request_timeout=self.timeout)
        for resource, future in futures.items():
            try:
                entries = future.result(timeout=self.timeout)
            except KafkaException:
                out[resource.name] = None
                continue
            out[resource.name] = {
                key: entry.value
                for key, entry in entries.items()
                if key in HIGHLIGHTS and entry.value is not None
            }
        self._hand_over_logs()
        return out

    def offsets(self, partitions: dict[str, int]) -> dict[str, list[PartitionOffsets]]:
        """Low and high watermarks of every partition (approximate on some brokers: see docs)."""
        wanted = [TopicPartition(t, p) for t, count in partitions.items() for p in range(count)]
        if not wanted:
            return {}
        ends: dict[tuple[str, int], list[int]] = {}
        specs = (OffsetSpec.earliest(), OffsetSpec.latest())  # type: ignore[no-untyped-call]
        for spec in specs:
            for tp, offset in self._list_offsets(wanted, spec).items():
                ends.setdefault((tp.topic, tp.partition), []).append(max(0, offset))
        out: dict[str, list[PartitionOffsets]] = {t: [] for t in partitions}
        for (topic, partition), (low, high) in sorted(ends.items()):
            out[topic].append(PartitionOffsets(partition, low, max(low, high)))
        return out

    def _list_offsets(self, wanted: list[TopicPartition], spec: Any) -> dict[TopicPartition, int]:
        """One offset per partition; retried while a partition is not ready, as right after a
        topic is created, when its leader may not serve it yet."""
        deadline = time.monotonic() + max(self.timeout, _NOT_READY_SECONDS)
        while True:
            try:
                futures = self._client.list_offsets(
                    {tp: spec for tp in wanted}, request_timeout=self.timeout
                )
                return {
                    tp: future.result(timeout=self.timeout).offset for tp, future in futures.items()
                }
            except KafkaException as exc:
                error = exc.args[0]
                not_ready = error.retriable() or error.name() in _NOT_READY
                if not not_ready or time.monotonic() > deadline:
                    raise self._broker_error("read offsets", exc) from exc
            finally:
                self._hand_over_logs()
            time.sleep(0.1)

    def groups_reading(self, topic: str) -> list[GroupLag]:
        """Consumer groups with committed offsets on ``topic``; raises if the broker cannot say."""
        found = []
        for group, offsets in self.group_offsets().items():
            mine = {p: offset for (t, p), offset in offsets.items() if t == topic}
            if mine:
                found.append(GroupLag(group, mine))
        return found

    def describe_groups(self, groups: list[str]) -> dict[str, GroupDescription]:
        """Members of each group and the partitions assigned to each member."""
        if not groups:
            return {}
        try:
            futures = self._client.describe_consumer_groups(groups, request_timeout=self.timeout)
            found = {}
            for group, future in futures.items():
                try:
                    result = future.result(timeout=self.timeout)
                except KafkaException as exc:
                    # The broker's own answer about this group (Apache Kafka 4 answers an
                    # unknown one with NOT_COORDINATOR; a new one's coordinator may still
                    # load): no description. Client-side errors (`_TRANSPORT`...) are raised.
                    if not exc.args[0].name().startswith("_"):
                        continue
                    raise
                members = tuple(
                    GroupMember(
                        member_id=m.member_id,
                        client_id=m.client_id,
                        host=m.host,
                        assignment=tuple(
                            sorted(
                                (tp.topic, tp.partition)
                                for tp in (m.assignment.topic_partitions if m.assignment else [])
                            )
                        ),
                    )
                    for m in result.members or []
                )
                state = getattr(result.state, "name", str(result.state)).lower()
                found[group] = GroupDescription(group, state, members)
        except KafkaException as exc:
            raise self._broker_error("describe consumer groups", exc) from exc
        except TimeoutError as exc:
            raise BrokerError("the cluster did not describe consumer groups in time") from exc
        finally:
            self._hand_over_logs()
        return found

    def group_offsets(self) -> dict[str, dict[tuple[str, int], int]]:
        """Every consumer group's committed offsets, by (topic, partition), sorted by group."""
        try:
            listing = self._client.list_consumer_groups(request_timeout=self.timeout).result(
                timeout=self.timeout
            )
            # One request per group (the protocol's limit here), all sent before any answer is
            # awaited: a cluster with hundreds of groups costs one round trip, not hundreds.
            pending = {
                group: self._client.list_consumer_group_offsets(
                    [ConsumerGroupTopicPartitions(group)], request_timeout=self.timeout
                )[group]
                for group in sorted(g.group_id for g in listing.valid)
            }
            found: dict[str, dict[tuple[str, int], int]] = {}
            for group, future in pending.items():
                result = future.result(timeout=self.timeout)
                found[group] = {
                    (tp.topic, tp.partition): tp.offset
                    for tp in result.topic_partitions or []
                    if tp.offset >= 0
                }
        except KafkaException as exc:
            raise self._broker_error("list consumer groups", exc) from exc
        finally:
            self._hand_over_logs()
        return found


def summary(
    view: ClusterView, rates: TopicRates, cluster: str, names: list[str] | None = None
) -> list[dict[str, Any]]:
    """Listing rows for ``names`` (all topics when None), sorted by name."""
    replications = view.replications()
    partitions = view.partitions()
    if names is not None:
        partitions = {n: partitions[n] for n in names if n in partitions}
    offsets = view.offsets(partitions)
    configs = view.configs(sorted(partitions))
    now = time.monotonic()
    rows = []
    for name in sorted(partitions):
        parts = offsets.get(name, [])
        produced = sum(p.high for p in parts)
        rows.append(
            {
                "name": name,
                "partitions": partitions[name],
                "replication": replications.get(name, 0),
                "config": configs.get(name),
                "messages": sum(p.high - p.low for p in parts),
                "rate": rates.observe(cluster, name, produced, now),
                "internal": is_internal(name),
                "_offsets": parts,
            }
        )
    return rows
