"""A topic's settings a user edits: its configuration (retention, cleanup policy...) and its
partition count.

Configuration changes go through IncrementalAlterConfigs: only the named keys change, the
others keep their values (the older AlterConfigs would reset every key not sent). A broker may
refuse (some Kafka-protocol brokers do not implement it): the error says so and changes nothing.
Partitions only grow; growing them moves keys: records of one key written before and after
land in different partitions, so per-key order and keyed state break across the change.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    ResourceType,
)

from headwater.errors import BrokerError, ConfigError
from headwater.kafka.settings import KafkaSettings

KEYED_DATA_WARNING = (
    "more partitions send each key to a different partition from now on: records of one key "
    "written before and after are no longer in one partition, so their order and any state "
    "kept per key (windows, joins, aggregates) split across partitions"
)
# Kafka's error names for a request the broker understood and refused.
_REFUSALS = frozenset(
    {
        "INVALID_CONFIG",
        "INVALID_REQUEST",
        "INVALID_PARTITIONS",
        "POLICY_VIOLATION",
        "UNSUPPORTED_VERSION",
        "CLUSTER_AUTHORIZATION_FAILED",
        "TOPIC_AUTHORIZATION_FAILED",
        "UNKNOWN_TOPIC_OR_PART",
        "_UNSUPPORTED_FEATURE",  # the broker lacks the request (Tansu: CreatePartitions)
    }
)


@dataclass(frozen=True)
class ConfigValue:
    value: str | None
    default: bool  # not set on the topic: the broker's value (its default or its own setting)
    read_only: bool
    sensitive: bool


class TopicSettings:
    """Reads and changes one cluster's topic configurations and partition counts."""

    def __init__(self, settings: KafkaSettings, timeout: float = 15.0) -> None:
        self.timeout = timeout
        self._client = AdminClient(settings.client_config())

    def config(self, topic: str) -> dict[str, ConfigValue]:
        """Every configuration entry the broker reports for ``topic``."""
        resource = ConfigResource(ResourceType.TOPIC, topic)
        future = self._client.describe_configs([resource])[resource]
        try:
            entries = future.result(timeout=self.timeout)
        except KafkaException as exc:
            raise _error(f"could not read the configuration of topic {topic!r}", exc) from exc
        return {
            key: ConfigValue(
                value=entry.value,
                default=_source(entry) != ConfigSource.DYNAMIC_TOPIC_CONFIG.value,
                read_only=bool(entry.is_read_only),
                sensitive=bool(entry.is_sensitive),
            )
            for key, entry in sorted(entries.items())
        }

    def alter(self, topic: str, changes: dict[str, str | None]) -> None:
        """Set each key to its value, or back to the broker's default for None; others stay."""
        entries = [
            ConfigEntry(
                key,
                "" if value is None else value,
                incremental_operation=AlterConfigOpType.DELETE
                if value is None
                else AlterConfigOpType.SET,
            )
            for key, value in changes.items()
        ]
        resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
        futures = self._client.incremental_alter_configs([resource])
        try:
            for future in futures.values():
                future.result(timeout=self.timeout)
        except KafkaException as exc:
            raise _error(f"could not change the configuration of topic {topic!r}", exc) from exc

    def grow_partitions(self, topic: str, total: int) -> None:
        """Give ``topic`` ``total`` partitions (more than it has: partitions never shrink)."""
        futures = self._client.create_partitions(
            [NewPartitions(topic, total)], operation_timeout=self.timeout
        )
        try:
            for future in futures.values():
                future.result(timeout=self.timeout)
        except KafkaException as exc:
            raise _error(f"could not grow topic {topic!r} to {total} partitions", exc) from exc


def _source(entry: ConfigEntry) -> int:
    """The entry's source as the protocol's number (the client gives an enum or its value)."""
    source: object = entry.source
    number = source.value if isinstance(source, ConfigSource) else source
    return int(str(number))


def _error(what: str, exc: KafkaException) -> BrokerError | ConfigError:
    error = exc.args[0]
    name = error.name() if hasattr(error, "name") else ""
    text = error.str() if hasattr(error, "str") else str(error)
    if name in _REFUSALS:
        return ConfigError(f"{what}: the cluster refused: {text}")
    return BrokerError(f"{what}: {text}")
