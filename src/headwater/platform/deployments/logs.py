"""A deployment's log: every replica's output, kept in rotated files and a ring for live reads."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

MAX_BYTES = 5_000_000
BACKUPS = 3
RING_LINES = 5_000
MAX_LINE = 8_192  # characters of one line kept; the rest is cut (the ring stays bounded)


@dataclass(frozen=True)
class LogLine:
    seq: int  # increases by one per line: readers resume after the last one they saw
    time: datetime
    replica: int | None  # None: the supervisor's own line (start, exit, restart)
    text: str


class DeploymentLog:
    """Lines of one deployment: written to ``path`` (rotated at ``max_bytes``) and a ring."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        self._file.setFormatter(logging.Formatter("%(message)s"))
        self._ring: deque[LogLine] = deque(maxlen=RING_LINES)
        self._seq = 0
        self._changed = threading.Condition()

    def write(self, replica: int | None, text: str) -> None:
        if len(text) > MAX_LINE:
            text = f"{text[:MAX_LINE]} [... {len(text) - MAX_LINE} more characters cut]"
        now = datetime.now(UTC)
        source = "supervisor" if replica is None else f"replica-{replica}"
        record = logging.makeLogRecord({"msg": f"{now.isoformat()} [{source}] {text}"})
        self._file.handle(record)
        with self._changed:
            self._seq += 1
            self._ring.append(LogLine(self._seq, now, replica, text))
            self._changed.notify_all()

    def tail(self, lines: int) -> list[LogLine]:
        with self._changed:
            return list(self._ring)[-lines:] if lines > 0 else []

    def after(self, seq: int, timeout: float) -> list[LogLine]:
        """Lines newer than ``seq``, waiting up to ``timeout`` seconds for the first one."""
        with self._changed:
            self._changed.wait_for(lambda: self._seq > seq, timeout=timeout)
            return [line for line in self._ring if line.seq > seq]

    @property
    def last_seq(self) -> int:
        with self._changed:
            return self._seq

    def close(self) -> None:
        self._file.close()
