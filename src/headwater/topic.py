"""A topic as the app sees it: its name, how keys and values are encoded, and how to create it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from headwater.errors import ConfigError
from headwater.serde.codecs import Serde, resolve_serde


@dataclass(frozen=True)
class Topic:
    """An input or output topic.

    ``timestamp`` names a value field holding the event time (epoch milliseconds or an ISO-8601
    string); without it the Kafka record timestamp is the event time. ``partitions``,
    ``replication`` and ``config`` are used when Headwater creates the topic.
    """

    name: str
    key: str | Serde = "str"
    value: str | Serde = "json"
    timestamp: str | None = None
    partitions: int = 1
    replication: int = 1
    config: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError("topic name must be a non-empty string")
        if len(self.name) > 249 or not all(c.isalnum() or c in "._-" for c in self.name):
            raise ConfigError(
                f"topic name {self.name!r} is not valid in Kafka: use at most 249 letters, "
                "digits, '.', '_' or '-'"
            )
        if not isinstance(self.partitions, int) or self.partitions < 1:
            raise ConfigError(f"topic {self.name!r}: partitions must be an integer >= 1")
        if not isinstance(self.replication, int) or self.replication < 1:
            raise ConfigError(f"topic {self.name!r}: replication must be an integer >= 1")
        resolve_serde(self.key, f"topic {self.name!r} key")
        resolve_serde(self.value, f"topic {self.name!r} value")

    @property
    def key_serde(self) -> Serde:
        return resolve_serde(self.key, "key")

    @property
    def value_serde(self) -> Serde:
        return resolve_serde(self.value, "value")

    def describe(self) -> dict[str, Any]:
        return {
            "topic": self.name,
            "key": self.key_serde.name,
            "value": self.value_serde.name,
            "timestamp": self.timestamp,
        }
