"""Window kinds for ``group_by(...).window(...)``: time windows and count windows.

>>> from headwater import windows
>>> windows.tumbling("1m")
tumbling(60000 ms)
>>> windows.hopping("1m", step="15s").span_ms
60000
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from headwater.errors import ConfigError
from headwater.plan.durations import duration_ms

__all__ = [
    "Window",
    "WindowKind",
    "hopping",
    "hopping_count",
    "session",
    "sliding",
    "tumbling",
    "tumbling_count",
]


class WindowKind(StrEnum):
    """How records are cut into windows (its value names the window's store)."""

    TUMBLING = "tumbling"
    HOPPING = "hopping"
    SLIDING = "sliding"
    SESSION = "session"
    TUMBLING_COUNT = "tumbling_count"
    HOPPING_COUNT = "hopping_count"

    @property
    def by_count(self) -> bool:
        """Whether windows are counted in records (closed by their records, not by time)."""
        return self in (WindowKind.TUMBLING_COUNT, WindowKind.HOPPING_COUNT)


@dataclass(frozen=True)
class Window:
    """A window definition. ``size`` and ``step`` are milliseconds for time windows and records
    for count windows; ``gap`` is a session's inactivity gap in milliseconds."""

    kind: WindowKind
    size: int = 0
    step: int = 0
    gap: int = 0

    def __post_init__(self) -> None:
        # A plan read back from JSON names the kind as text.
        object.__setattr__(self, "kind", WindowKind(self.kind))

    @property
    def by_count(self) -> bool:
        return self.kind.by_count

    @property
    def span_ms(self) -> int:
        """How far before its end a time window's records may lie."""
        return self.gap if self.kind is WindowKind.SESSION else self.size

    def describe(self) -> str:
        if self.kind is WindowKind.SESSION:
            return f"session(gap {self.gap} ms)"
        unit = "records" if self.by_count else "ms"
        if self.kind in (WindowKind.HOPPING, WindowKind.HOPPING_COUNT):
            return f"{self.kind}({self.size} {unit}, step {self.step} {unit})"
        return f"{self.kind}({self.size} {unit})"

    def __repr__(self) -> str:
        return self.describe()


def tumbling(size: Any) -> Window:
    """Fixed, non-overlapping windows ``[start, start + size)``, aligned to the epoch."""
    return Window(WindowKind.TUMBLING, size=duration_ms(size, "tumbling(size)", zero=False))


def hopping(size: Any, step: Any) -> Window:
    """Windows of ``size`` starting every ``step`` (aligned to the epoch): a record is in
    every window that covers it, ``size / step`` of them when ``step`` divides ``size``."""
    size_ms = duration_ms(size, "hopping(size)", zero=False)
    step_ms = duration_ms(step, "hopping(step)", zero=False)
    if step_ms > size_ms:
        raise ConfigError(
            f"hopping(size={size!r}, step={step!r}): step must not exceed size "
            "(records between windows would belong to none)"
        )
    return Window(WindowKind.HOPPING, size=size_ms, step=step_ms)


def sliding(size: Any) -> Window:
    """As Kafka Streams' sliding windows: each record opens the window ``[ts - size, ts]``
    (both ends included) holding every record of its key in that time range."""
    return Window(WindowKind.SLIDING, size=duration_ms(size, "sliding(size)", zero=False))


def session(gap: Any) -> Window:
    """Sessions: a key's records closer than ``gap`` to each other share a window, which
    runs from its first record to its last record plus ``gap``; sessions that come to
    overlap (an out-of-order record bridging two) merge."""
    return Window(WindowKind.SESSION, gap=duration_ms(gap, "session(gap)", zero=False))


def tumbling_count(size: int) -> Window:
    """Every ``size`` records of a key, in the order they are read: records ``[0, size)``,
    ``[size, 2 * size)``..."""
    return Window(WindowKind.TUMBLING_COUNT, size=_count(size, "tumbling_count(size)"))


def hopping_count(size: int, step: int) -> Window:
    """Windows of ``size`` records of a key starting every ``step`` records."""
    size_n = _count(size, "hopping_count(size)")
    step_n = _count(step, "hopping_count(step)")
    if step_n > size_n:
        raise ConfigError(f"hopping_count(size={size}, step={step}): step must not exceed size")
    return Window(WindowKind.HOPPING_COUNT, size=size_n, step=step_n)


def _count(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{field}={value!r}: give a number of records, an int >= 1")
    return value
