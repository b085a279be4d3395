"""Kafka clusters the platform connects to: plain options in clear, secret options encrypted."""

from __future__ import annotations

import json
from typing import Any

from headwater.kafka.settings import KafkaSettings
from headwater.platform.db.models import Cluster
from headwater.platform.secrets import SecretBox

# librdkafka options whose values are credentials: refused among plain options.
SECRET_OPTION_MARKERS = ("password", "secret", "jaas", "key.pem", "oauthbearer.config", "token")


def looks_secret(option: str) -> bool:
    return any(marker in option.lower() for marker in SECRET_OPTION_MARKERS)


def plain_options(cluster: Cluster) -> dict[str, Any]:
    options: dict[str, Any] = json.loads(cluster.options_json or "{}")
    return options


def secret_options(cluster: Cluster, box: SecretBox) -> dict[str, str]:
    if not cluster.secret_options:
        return {}
    values: dict[str, str] = json.loads(box.decrypt(cluster.secret_options))
    return values


def store_secret_options(cluster: Cluster, values: dict[str, str], box: SecretBox) -> None:
    cluster.secret_options = box.encrypt(json.dumps(values)) if values else ""


def kafka_settings(cluster: Cluster, box: SecretBox) -> KafkaSettings:
    """The cluster's client settings, secrets decrypted: for connecting, never for responses."""
    return KafkaSettings(
        cluster.bootstrap_servers, {**plain_options(cluster), **secret_options(cluster, box)}
    )
