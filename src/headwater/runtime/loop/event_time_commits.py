"""Input partitions' event time in their offset commits (see :mod:`headwater.runtime.time.resume`):
what the checkpoint commits with each input offset, and what assigned partitions resume from."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, KafkaException, TopicPartition

if TYPE_CHECKING:
    from headwater.runtime.loop.executor import Executor

log = logging.getLogger("headwater.runner")
READ_TIMEOUT = 10.0  # seconds to read the committed offsets of newly assigned partitions


class EventTimeCommits:
    """The checkpoint's :class:`~headwater.runtime.commit.checkpoint.OffsetMetadata`, over the
    executor of each input topic (filled in once the executors exist)."""

    def __init__(self, executors: Mapping[str, Executor]) -> None:
        self._executors = executors

    def offer(self, topic: str, partition: int) -> str | None:
        executor = self._executors.get(topic)
        return executor.offer(topic, partition) if executor is not None else None

    def committed(self, partitions: Iterable[tuple[str, int]]) -> None:
        for topic, partition in partitions:
            executor = self._executors.get(topic)
            if executor is not None:
                executor.committed(topic, partition)

    def read(
        self, consumer: Consumer, partitions: list[TopicPartition]
    ) -> dict[tuple[str, int], str | None]:
        """The metadata of the last commits of ``partitions`` whose pipelines track event time."""
        timed = [
            TopicPartition(tp.topic, tp.partition)
            for tp in partitions
            if tp.topic in self._executors and self._executors[tp.topic].tracks_event_time(tp.topic)
        ]
        if not timed:
            return {}
        try:
            found = consumer.committed(timed, timeout=READ_TIMEOUT)
        except KafkaException as exc:
            log.warning(
                "could not read the event time committed for %d partitions (%s): their "
                "watermarks start again from their next records",
                len(timed),
                exc.args[0].str(),
            )
            return {}
        return {(tp.topic, tp.partition): tp.metadata for tp in found if tp.error is None}
