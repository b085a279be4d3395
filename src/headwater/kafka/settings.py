"""Connection settings for a Kafka cluster, shared by the consumer, producer and admin client."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BOOTSTRAP = "localhost:9092"
BROKER_ENV = "HEADWATER_BROKER"
# librdkafka options as a JSON object, e.g. SASL settings a platform deployment runs with.
OPTIONS_ENV = "HEADWATER_KAFKA_OPTIONS"


@dataclass(frozen=True)
class KafkaSettings:
    """Where the cluster is and how to authenticate.

    ``options`` are passed to librdkafka unchanged, so SASL and SSL work as documented there:
    ``KafkaSettings("b:9093", {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", ...})``.
    """

    bootstrap_servers: str = field(
        default_factory=lambda: os.environ.get(BROKER_ENV, DEFAULT_BOOTSTRAP)
    )
    options: dict[str, Any] = field(default_factory=lambda: _options_from_env())

    def __post_init__(self) -> None:
        if not self.bootstrap_servers or not isinstance(self.bootstrap_servers, str):
            raise_config("broker", "give bootstrap servers as 'host:port[,host:port]'")
        if "bootstrap.servers" in self.options:
            raise_config("options", "set bootstrap servers with the broker argument, not options")

    def client_config(self, **overrides: Any) -> dict[str, Any]:
        """A librdkafka config: bootstrap servers, the pass-through options, then ``overrides``."""
        return {"bootstrap.servers": self.bootstrap_servers, **self.options, **overrides}

    @classmethod
    def coerce(cls, value: str | KafkaSettings | None) -> KafkaSettings:
        if value is None:
            return cls()
        if isinstance(value, KafkaSettings):
            return value
        if isinstance(value, str):
            return cls(value)
        raise_config("broker", "pass 'host:port' or a KafkaSettings")


def _options_from_env() -> dict[str, Any]:
    text = os.environ.get(OPTIONS_ENV)
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise_config(OPTIONS_ENV, 'set it to a JSON object, e.g. {"security.protocol": "SSL"}')
    options: dict[str, Any] = parsed
    return options


def raise_config(name: str, fix: str) -> Any:
    from headwater.errors import ConfigError

    raise ConfigError(f"invalid {name}: {fix}")
