"""Live data for people: where a tail starts, a safe record filter, a rate cap, SSE and export.

Filters are JMESPath expressions (https://jmespath.org), evaluated against each decoded record
``{topic, partition, offset, timestamp, key, value}``; a record is kept when the result is true in
JMESPath's sense (not false, null, or an empty string, list or object). JMESPath is a query
language with its own parser: nothing the client sends is executed as Python.

A filter's work is bounded, since any viewer may send one: its length and nesting are limited,
and so is how much its multi-selects (``[a, b]``, ``{a: x, b: y}``) can multiply a record (the
product of their sizes), so no intermediate value grows past a small multiple of the record.
Each record's evaluation also has a budget of steps and of time; a filter that exceeds it
ends the tail with an error saying so.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jmespath
import orjson
from jmespath.exceptions import JMESPathError
from jmespath.visitor import TreeInterpreter

from headwater.kafka.tail import FromOffset, FromTimestamp, LastRecords, Start, TailRecord
from headwater.platform.errors import PlatformError

FILTER_HELP = (
    "a JMESPath expression over {topic, partition, offset, timestamp, key, value}, e.g. "
    "value.amount > `100` && key == 'ann' (numbers in backticks, strings in single quotes)"
)
START_HELP = "latest, beginning, offset:<n> or timestamp:<epoch ms>"
MAX_FILTER_CHARS = 500
MAX_FILTER_DEPTH = 24  # levels of the parsed expression
MAX_FILTER_FANOUT = 16  # product of the sizes of its multi-select lists and objects
FILTER_STEPS = 20_000  # expression nodes evaluated per record
FILTER_SECONDS = 0.2  # per record
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


class FilterTooCostly(PlatformError):
    """A filter that needed more work on one record than its budget."""


class _BudgetedInterpreter(TreeInterpreter):  # type: ignore[misc]
    """JMESPath's interpreter, counting the nodes it evaluates for one record."""

    def __init__(self) -> None:
        super().__init__()
        self._steps = 0
        self._deadline = time.monotonic() + FILTER_SECONDS

    def visit(self, node: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        self._steps += 1
        if self._steps > FILTER_STEPS or (
            self._steps % 256 == 0 and time.monotonic() > self._deadline
        ):
            message = (
                f"the filter needed more than {FILTER_STEPS} steps or {FILTER_SECONDS:g} s for "
                "one record; simplify it (fewer projections and multi-selects)"
            )
            raise FilterTooCostly(message, [{"field": "filter", "message": message}])
        return super().visit(node, *args, **kwargs)


def _shape(node: dict[str, Any], depth: int = 1) -> tuple[int, int]:
    """The depth of a parsed expression and the product of its multi-selects' sizes."""
    deepest, fanout = depth, 1
    if node.get("type") in ("multi_select_list", "multi_select_dict"):
        fanout = max(1, len(node.get("children", [])))
    for child in node.get("children", []):
        if isinstance(child, dict):
            child_depth, child_fanout = _shape(child, depth + 1)
            deepest, fanout = max(deepest, child_depth), fanout * child_fanout
    return deepest, fanout


def _refuse_filter(reason: str) -> PlatformError:
    message = f"filter {reason}; write {FILTER_HELP}"
    return PlatformError(message, [{"field": "filter", "message": message}])


def compile_filter(expression: str | None) -> Filter | None:
    """A predicate over record dicts; a 400 naming ``filter`` if the expression is invalid or
    could cost more than a filter may."""
    if expression is None or not expression.strip():
        return None
    if len(expression) > MAX_FILTER_CHARS:
        raise _refuse_filter(f"is longer than {MAX_FILTER_CHARS} characters")
    try:
        compiled = jmespath.compile(expression)
    except JMESPathError as exc:
        raise _refuse_filter(f"is not a valid expression ({exc})") from None
    except RecursionError:
        raise _refuse_filter("nests too deeply") from None
    depth, fanout = _shape(compiled.parsed)
    if depth > MAX_FILTER_DEPTH:
        raise _refuse_filter(f"nests {depth} levels deep, more than {MAX_FILTER_DEPTH}")
    if fanout > MAX_FILTER_FANOUT:
        raise _refuse_filter(
            f"multiplies each record {fanout} times through its multi-selects, more than "
            f"{MAX_FILTER_FANOUT}"
        )
    parsed = compiled.parsed

    def keep(record: dict[str, Any]) -> bool:
        try:
            return _true(_BudgetedInterpreter().visit(parsed, record))
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
