"""librdkafka's log lines of the server's own Kafka clients, through Python logging, with
repeats aggregated.

By default librdkafka writes every failed connection attempt to stderr. With a cluster that does
not answer, each client the server opens (the metrics sampler's, every 5 s; each topic listing)
reports one about every 50 ms: some 20 lines a second for as long as the cluster is down. The
server's clients send their lines to ``KAFKA_LOG`` instead, where a line that repeats (the same
broker, the same error) is logged the first time, then at most once a minute, saying how many
like it were left out in between.

librdkafka hands its lines over when a client is polled: every client given ``KAFKA_LOG`` polls
after each of its calls.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

KAFKA_LOG = logging.getLogger("headwater.platform.kafka")
REPEAT_SECONDS = 60.0
MAX_SHAPES = 1000  # distinct lines remembered; the oldest is forgotten first
# What differs between two reports of the same problem: the client's name (its client.id, by
# default "rdkafka", then its kind and number) and the timing.
_VARYING = re.compile(r"\S+#[a-z]+-\d+|\(after \d+ms[^)]*\)")


class RepeatFilter(logging.Filter):
    """Passes a line the first time, then drops the same line for ``seconds``; the next one
    after that passes with the count of those dropped."""

    def __init__(
        self,
        seconds: float = REPEAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        shapes: int = MAX_SHAPES,
    ) -> None:
        super().__init__()
        self._seconds = seconds
        self._clock = clock
        self._shapes = shapes
        self._lock = threading.Lock()
        self._seen: dict[tuple[int, str], tuple[float, int]] = {}  # shape -> (passed at, dropped)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        shape = (record.levelno, _VARYING.sub("", message))
        now = self._clock()
        with self._lock:
            seen = self._seen.pop(shape, None)
            if seen is not None and now - seen[0] < self._seconds:
                self._seen[shape] = (seen[0], seen[1] + 1)
                return False
            self._seen[shape] = (now, 0)  # re-inserted: the dict's order is the last pass
            while len(self._seen) > self._shapes:
                del self._seen[next(iter(self._seen))]
        if seen is not None and seen[1]:
            record.msg = "%s (and %d more like it in the last %d s)"
            record.args = (message, seen[1], round(now - seen[0]))
        return True


KAFKA_LOG.addFilter(RepeatFilter())
