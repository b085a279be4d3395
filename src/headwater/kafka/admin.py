"""Topic administration: list, create (explicitly, with partitions and configs) and delete."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType  # type: ignore[attr-defined]

from headwater.errors import BrokerError, ConfigError, TopicExistsError
from headwater.kafka.settings import KafkaSettings
from headwater.topic import Topic

# Errors with which a cluster refuses a topic's settings, as opposed to failing to answer.
_REFUSALS = frozenset(
    {
        "INVALID_PARTITIONS",
        "INVALID_REPLICATION_FACTOR",
        "INVALID_CONFIG",
        "INVALID_REQUEST",
        "INVALID_TOPIC_EXCEPTION",
        "POLICY_VIOLATION",
    }
)


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


class TopicAdmin:
    """A thin, typed layer over librdkafka's AdminClient with clear errors. ``logger`` takes
    librdkafka's log lines (by default they go to stderr)."""

    def __init__(
        self, settings: KafkaSettings, timeout: float = 10.0, logger: logging.Logger | None = None
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        overrides = {} if logger is None else {"logger": logger}
        self._client = AdminClient(settings.client_config(**overrides))

    def list_topics(self, include_internal: bool = False) -> dict[str, TopicInfo]:
        try:
            metadata = self._client.list_topics(timeout=self.timeout)
        except KafkaException as exc:
            raise BrokerError(
                f"cannot reach the Kafka cluster at {self.settings.bootstrap_servers}: "
                f"{exc.args[0].str() if exc.args else exc}; is the broker running?"
            ) from exc
        finally:
            self._client.poll(0)  # hands librdkafka's log lines to ``logger``, if given
        return {
            name: TopicInfo(name, len(meta.partitions))
            for name, meta in metadata.topics.items()
            if include_internal or not name.startswith("__")
        }

    def create(self, topics: list[Topic], exist_ok: bool = True) -> list[str]:
        """Create ``topics`` and wait until each is visible with all its partitions.

        Returns the names that were created (existing ones are skipped when ``exist_ok``).
        """
        existing = self.list_topics(include_internal=True)
        if not exist_ok:
            taken = [t.name for t in topics if t.name in existing]
            if taken:
                raise TopicExistsError(f"topics already exist: {', '.join(taken)}")
        todo = [t for t in topics if t.name not in existing]
        if not todo:
            return []
        futures = self._client.create_topics(
            [NewTopic(t.name, t.partitions, t.replication, config=dict(t.config)) for t in todo],
            operation_timeout=self.timeout,
        )
        for name, future in futures.items():
            try:
                future.result(timeout=self.timeout)
            except KafkaException as exc:
                error = exc.args[0]
                if exist_ok and error.name() == "TOPIC_ALREADY_EXISTS":
                    continue
                if error.name() in _REFUSALS:
                    raise ConfigError(f"the cluster refused topic {name!r}: {error.str()}") from exc
                raise BrokerError(f"could not create topic {name!r}: {error.str()}") from exc
        self._wait_for({t.name: t.partitions for t in todo}, present=True)
        return [t.name for t in todo]

    def delete(self, names: list[str]) -> None:
        existing = self.list_topics(include_internal=True)
        unknown = [n for n in names if n not in existing]
        if unknown:
            raise ConfigError(f"no such topics: {', '.join(unknown)}")
        futures = self._client.delete_topics(names, operation_timeout=self.timeout)
        for name, future in futures.items():
            try:
                future.result(timeout=self.timeout)
            except KafkaException as exc:
                raise BrokerError(f"could not delete topic {name!r}: {exc.args[0].str()}") from exc
        self._wait_for({n: 0 for n in names}, present=False)

    def describe_config(self, name: str) -> dict[str, Any]:
        config = self.describe_configs([name])[name]
        if isinstance(config, KafkaException):
            raise config
        return config

    def describe_configs(self, names: list[str]) -> dict[str, dict[str, Any] | KafkaException]:
        """The configuration of several topics in one request; per topic, its settings or
        the error that kept it from being read."""
        if not names:
            return {}
        resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
        futures = self._client.describe_configs(resources)
        out: dict[str, dict[str, Any] | KafkaException] = {}
        for resource, future in futures.items():
            try:
                result = future.result(timeout=self.timeout)
            except KafkaException as exc:
                out[resource.name] = exc
                continue
            out[resource.name] = {key: entry.value for key, entry in result.items()}
        return out

    def _wait_for(self, topics: dict[str, int], present: bool) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            metadata = self._client.list_topics(timeout=self.timeout).topics
            if present:
                done = all(
                    n in metadata and len(metadata[n].partitions) >= p for n, p in topics.items()
                )
            else:
                done = not any(n in metadata for n in topics)
            if done:
                return
            if time.monotonic() > deadline:
                state = "appear" if present else "disappear"
                raise BrokerError(f"topics {sorted(topics)} did not {state} within {self.timeout}s")
            time.sleep(0.05)
