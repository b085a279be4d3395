"""Purging repartition topics: records every consumer of them has committed past are deleted.

Repartition topics keep records regardless of time (a replay of old data must not be swept
away before it is read again), so nothing else would ever shrink them. As Kafka Streams does,
every ``PURGE_INTERVAL`` seconds the app asks the cluster to delete the records below its
committed offsets of the repartition partitions it owns (``DeleteRecords``). Only the app
reads these topics, and only from its committed offsets on (a restart, a rebalance), so what
is deleted is never read again. The request runs in the admin client's background; a cluster
that refuses it (no DeleteRecords, no permission) is told once in the log, and the topics just
keep growing as they would without purging.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from headwater.kafka.settings import KafkaSettings

log = logging.getLogger(__name__)

PURGE_INTERVAL = 30.0  # seconds, as Kafka Streams' repartition.purge.interval.ms


class RepartitionPurger:
    """Deletes the committed part of the app's repartition topics, now and then."""

    def __init__(self, settings: KafkaSettings, topics: set[str]) -> None:
        self._topics = topics
        self._admin = AdminClient(settings.client_config()) if topics else None
        self._committed: dict[tuple[str, int], int] = {}
        self._last = time.monotonic()
        self._refused = False

    def committed(self, offsets: dict[tuple[str, int], int]) -> None:
        """Offsets a checkpoint committed; every ``PURGE_INTERVAL`` the records below go."""
        if self._admin is None or self._refused:
            return
        self._committed.update((k, o) for k, o in offsets.items() if k[0] in self._topics)
        now = time.monotonic()
        if now - self._last < PURGE_INTERVAL or not self._committed:
            return
        self._last = now
        below = [TopicPartition(t, p, o) for (t, p), o in self._committed.items()]
        self._committed = {}
        for future in self._admin.delete_records(below).values():
            future.add_done_callback(self._done)

    def _done(self, future: Future[object]) -> None:
        try:
            future.result()
        except KafkaException as exc:
            if not self._refused:
                self._refused = True
                log.warning(
                    "the cluster refused to delete purged records of a repartition topic (%s); "
                    "repartition topics will keep every record",
                    exc.args[0].str(),
                )
