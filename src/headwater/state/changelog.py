"""Changelog topics: their names, their creation, their records, and reading one key back.

A store's changelog is a compacted topic with one partition per input partition: partition p
holds the history of the store for input partition p, so a store is rebuilt by replaying one
changelog partition. Each checkpoint writes every changed entry once, then a checkpoint marker
whose value is the input offset the checkpoint processed up to.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, NamedTuple

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from headwater.errors import BrokerError, ConfigError, MissingTopicError, StateError
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings
from headwater.state.encoding import (
    CHECKPOINT_KEY,
    StateKey,
    decode_value,
    encode_key,
    key_prefix,
    split_entry_key,
)
from headwater.topic import Topic

_STORE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
CHANGELOG_CONFIG = {"cleanup.policy": "compact"}


class ChangelogRecord(NamedTuple):
    """One record for the checkpoint to produce (in the transaction, under exactly-once)."""

    topic: str
    partition: int
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]]


def check_store_name(store_name: str) -> str:
    if not isinstance(store_name, str) or not _STORE_NAME.match(store_name):
        raise ConfigError(
            f"store name {store_name!r} is invalid: use 1-100 letters, digits, '.', '_' or '-' "
            "(it names the changelog topic and the store's directory)"
        )
    return store_name


def changelog_topic(app_name: str, store_name: str) -> str:
    return f"{app_name}-{check_store_name(store_name)}-changelog"


def create_changelogs(admin: TopicAdmin, changelogs: dict[str, str]) -> list[str]:
    """Create each changelog (name -> input topic) compacted, with its input's partition count.

    Returns the names created. An existing changelog with another partition count is an error:
    its partitions would no longer match the input's.
    """
    existing = admin.list_topics()
    topics = []
    for name, input_topic in changelogs.items():
        if input_topic not in existing:
            raise MissingTopicError(
                f"input topic {input_topic!r} of changelog {name!r} does not exist; create it "
                f"first, e.g. `headwater topics create {input_topic} --partitions 3`"
            )
        partitions = existing[input_topic].partitions
        if name in existing and existing[name].partitions != partitions:
            raise StateError(
                f"changelog topic {name!r} has {existing[name].partitions} partitions but input "
                f"topic {input_topic!r} has {partitions}; delete the changelog topic and the "
                "state directory so the store starts again, or restore the input's partitions"
            )
        topics.append(Topic(name, partitions=partitions, config=dict(CHANGELOG_CONFIG)))
    return admin.create(topics)


def read_key(
    app_name: str,
    store_name: str,
    key: StateKey,
    *,
    settings: KafkaSettings | str | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """The current value of every name set for ``key`` in a store, read from its changelog.

    It reads the changelog topic to its end with its own consumer (no group, no commit), so the
    running app is not touched. Entries are as last checkpointed; expiry (TTL) is not applied.

    >>> read_key("orders-app", "totals", "alice", settings="localhost:9092")  # doctest: +SKIP
    {'sum': 120.5, 'count': 3}
    """
    settings = KafkaSettings.coerce(settings)
    topic = changelog_topic(app_name, store_name)
    prefix = key_prefix(encode_key(key))
    consumer = Consumer(
        settings.client_config(
            **{
                # librdkafka wants a group id even for assign(); it is never joined or committed.
                "group.id": f"headwater-state-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                # The end of a partition shows as an empty fetch: do not long-poll it.
                "fetch.wait.max.ms": 50,
            }
        )
    )
    found: dict[str, bytes] = {}
    try:
        try:
            metadata = consumer.list_topics(timeout=10)
        except KafkaException as exc:
            raise BrokerError(
                f"cannot reach the Kafka cluster at {settings.bootstrap_servers}: {exc}"
            ) from exc
        if topic not in metadata.topics:
            raise MissingTopicError(
                f"changelog topic {topic!r} does not exist: check the app name {app_name!r} "
                f"and store name {store_name!r} (`headwater topics list` shows the topics)"
            )
        partitions = sorted(metadata.topics[topic].partitions)
        # Offset 0 saves a ListOffsets round trip; auto.offset.reset covers a later log start.
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        remaining = set(partitions)
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                raise BrokerError(f"reading {topic!r} did not reach its end within {timeout}s")
            for message in consumer.consume(10_000, 0.2):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        remaining.discard(message.partition())
                    elif error.fatal():
                        raise BrokerError(f"reading {topic!r} failed: {error.str()}")
                    continue
                entry = message.key()
                if entry is None or not entry.startswith(prefix) or entry == CHECKPOINT_KEY:
                    continue
                # The length in the prefix makes startswith exact: no other key matches.
                _, name = split_entry_key(entry)
                value = message.value()
                if value is None:
                    found.pop(name, None)
                else:
                    found[name] = value
    finally:
        consumer.close()
    return {name: decode_value(data)[0] for name, data in sorted(found.items())}
