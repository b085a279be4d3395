"""Live data for people: where a tail starts, a safe record filter, a rate cap, SSE and export.

Filters are JMESPath expressions (https://jmespath.org), evaluated against each decoded record
``{topic, partition, offset, timestamp, key, value}``; a record is kept when the result is true in
JMESPath's sense (not false, null, or an empty string, list or object). JMESPath is a query
language with its own parser: nothing the client sends is executed as Python.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jmespath
import orjson
from jmespath.exceptions import JMESPathError

from headwater.kafka.tail import FromOffset, FromTimestamp, LastRecords, Start, TailRecord
from headwater.platform.errors import PlatformError

FILTER_HELP = (
    "a JMESPath expression over {topic, partition, offset, timestamp, key, value}, e.g. "
    "value.amount > `100` && key == 'ann' (numbers in backticks, strings in single quotes)"
)
START_HELP = "latest, beginning, offset:<n> or timestamp:<epoch ms>"
_POSITION = re.compile(r"^(offset|timestamp):(\d{1,19})$")
MAX_POSITION = 2**63 - 1  # offsets and timestamps are 64-bit in Kafka
Filter = Callable[[dict[str, Any]], bool]


def parse_start(text: str, field: str = "from") -> Start:
    """A tail's start from ``latest``, ``beginning``, ``offset:N`` or ``timestamp:MS``."""
    if text == "beginning":
        return "beginning"
    if text == "latest":
        # Explicit end offsets, not OFFSET_END: a record produced once the tail is ready is read.
        return LastRecords(0)
    match = _POSITION.match(text)
    if match is None or int(match[2]) > MAX_POSITION:
        message = f"{field}={text!r} is not a position; use {START_HELP}"
        raise PlatformError(message, [{"field": field, "message": message}])
    number = int(match[2])
    return FromOffset(number) if match[1] == "offset" else FromTimestamp(number)


@dataclass(frozen=True)
class End:
    """Where an export stops: the end of each partition, or after an offset or a time."""

    offset: int | None = None
    timestamp: int | None = None

    def passed(self, record: TailRecord) -> bool:
        if self.offset is not None and record.offset > self.offset:
            return True
        return (
            self.timestamp is not None
            and record.timestamp is not None
            and record.timestamp > self.timestamp
        )


def parse_end(text: str | None) -> End:
    if text in (None, "", "end"):
        return End()
    assert text is not None
    match = _POSITION.match(text)
    if match is None:
        message = f"to={text!r} is not a position; use end, offset:<n> or timestamp:<epoch ms>"
        raise PlatformError(message, [{"field": "to", "message": message}])
    number = int(match[2])
    return End(offset=number) if match[1] == "offset" else End(timestamp=number)


def _true(result: Any) -> bool:
    """JMESPath truthiness: 0 is true, empty strings, lists and objects are not."""
    return not (result is None or result is False or result in ("", [], {}))


def compile_filter(expression: str | None) -> Filter | None:
    """A predicate over record dicts; a 400 naming ``filter`` if the expression is invalid."""
    if expression is None or not expression.strip():
        return None
    try:
        compiled = jmespath.compile(expression)
    except JMESPathError as exc:
        message = f"filter is not a valid expression ({exc}); write {FILTER_HELP}"
        raise PlatformError(message, [{"field": "filter", "message": message}]) from None

    def keep(record: dict[str, Any]) -> bool:
        try:
            return _true(compiled.search(record))
        except JMESPathError:
            return False  # e.g. a function given the wrong type by this record: not a match

    return keep


@dataclass
class RateCap:
    """At most ``per_second`` events a second; the rest are counted, to be reported."""

    per_second: int
    _window: float = 0.0
    _sent: int = 0
    _skipping: int = 0  # skipped in the current window
    _pending: int = 0  # skipped in windows that have ended, not yet reported

    def admit(self, now: float) -> bool:
        self._roll(now)
        if self._sent < self.per_second:
            self._sent += 1
            return True
        self._skipping += 1
        return False

    def take_skipped(self, now: float) -> int:
        """Records skipped in windows that have ended; resets the count."""
        self._roll(now)
        skipped, self._pending = self._pending, 0
        return skipped

    def _roll(self, now: float) -> None:
        if now - self._window >= 1.0:
            self._window, self._sent = now, 0
            self._pending, self._skipping = self._pending + self._skipping, 0


def sse(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One Server-Sent Event; data is one line of JSON."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: ".encode() + _json(data) + b"\n\n"


def _json(data: Any) -> bytes:
    return orjson.dumps(data, default=str)


CSV_COLUMNS = ("topic", "partition", "offset", "timestamp", "key", "value", "headers")


def csv_header() -> bytes:
    return _csv_line(list(CSV_COLUMNS))


def csv_row(record: dict[str, Any]) -> bytes:
    """Keys and values that are not text are written as JSON."""
    values = [record.get(c) for c in CSV_COLUMNS]
    cells = [v if isinstance(v, str | int) or v is None else _json(v) for v in values]
    return _csv_line([c.decode() if isinstance(c, bytes) else c for c in cells])


def _csv_line(cells: list[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue().encode()


def jsonl_row(record: dict[str, Any]) -> bytes:
    return _json(record) + b"\n"
