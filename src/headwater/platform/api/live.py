"""Live data: tail a topic as Server-Sent Events, page through its history, or export a range
as CSV or JSON lines.

Reading is a viewer's right. Each tail runs its own consumer (no group, nothing committed) in a
thread, stopped when the client goes away; each page, its own consumer for the request.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from headwater.errors import BrokerError
from headwater.kafka.browse import Positions, TopicPages, format_cursor, parse_cursor
from headwater.kafka.settings import KafkaSettings
from headwater.kafka.tail import (
    FromOffset,
    FromTimestamp,
    Start,
    TailRecord,
    TopicTail,
)
from headwater.platform.api.dependencies import Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES, ErrorOut
from headwater.platform.api.schemas import described_pattern
from headwater.platform.api.topics import ClusterName, TopicPath
from headwater.platform.auth.roles import Role
from headwater.platform.errors import NotFound, PlatformError, Unavailable
from headwater.platform.kafka_log import KAFKA_LOG
from headwater.platform.live import (
    FILTER_HELP,
    MAX_FILTER_CHARS,
    START_HELP,
    Filter,
    RateCap,
    compile_filter,
    csv_header,
    csv_row,
    jsonl_row,
    parse_end,
    parse_start,
    sse,
)
from headwater.platform.topics import ClusterView

router = APIRouter(
    prefix="/api/topics",
    tags=["live data"],
    responses={
        **ERROR_RESPONSES,
        502: {"model": ErrorOut, "description": "The Kafka cluster did not answer"},
    },
)
HEARTBEAT_SECONDS = 1.0  # also how soon a gone client is noticed: writing to it fails
BUFFER = 1000  # decoded records waiting for a slow client before the consumer pauses
_END = object()

FromQuery = Annotated[str, Query(alias="from", description=START_HELP)]
FilterQuery = Annotated[str | None, Query(max_length=MAX_FILTER_CHARS, description=FILTER_HELP)]
PartitionQuery = Annotated[
    int | None, Query(ge=0, description="only this partition; all when omitted")
]


def _check_topic(settings: KafkaSettings, cluster: str, topic: str, partition: int | None) -> None:
    """404 before the stream starts: afterwards the status can no longer change."""
    try:
        partitions = ClusterView(settings).partitions()
    except BrokerError as exc:
        raise Unavailable(str(exc)) from exc
    if topic not in partitions:
        raise NotFound(f"no topic {topic!r} on cluster {cluster!r}; list topics to see them")
    if partition is not None and partition >= partitions[topic]:
        message = f"topic {topic!r} has partitions 0-{partitions[topic] - 1}"
        raise NotFound(message, [{"field": "partition", "message": message}])


def _tail(
    context: Context,
    topic: str,
    start: str,
    cluster: str | None,
    partition: int | None,
    stop_at_end: bool = False,
) -> TopicTail:
    position: Start = parse_start(start)
    name, settings = context.clusters.resolve(cluster)
    _check_topic(settings, name, topic, partition)
    return TopicTail(
        settings,
        [topic],
        start=position,
        headers=True,  # a dead letter's reason, operator and origin travel in its headers
        stop_at_end=stop_at_end,
        partitions=None if partition is None else [partition],
        logger=KAFKA_LOG,
    )


def _as_dict(record: TailRecord) -> dict[str, Any]:
    data = record.to_dict()
    del data["topic"]
    return data


class _Pump:
    """Reads the tail in a thread and hands kept records to the event loop, at most BUFFER
    ahead of the client."""

    def __init__(self, tail: TopicTail, keep: Filter | None) -> None:
        self.tail = tail
        self.keep = keep
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.slots = threading.Semaphore(BUFFER)
        self.thread = threading.Thread(target=self._run, name="headwater-live-tail", daemon=True)

    def _put(self, item: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the server's loop has closed
            self.tail.stop()

    def _run(self) -> None:
        try:
            for record in self.tail.records():
                if self.keep is not None and not self.keep(record.to_dict()):
                    continue
                while not self.slots.acquire(timeout=0.5):
                    if self.tail.stopped:
                        return
                self._put(record)
        except Exception as exc:  # reported to the client as an error event
            self._put(exc)
        finally:
            self._put(_END)


async def _events(tail: TopicTail, keep: Filter | None, rate: int) -> AsyncIterator[bytes]:
    pump = _Pump(tail, keep)
    pump.thread.start()
    cap = RateCap(rate)
    try:
        while not tail.ready.is_set() and pump.thread.is_alive():
            await asyncio.sleep(0.02)
        if tail.ready.is_set():
            yield sse("ready", {"topic": tail.topics[0], "rate": rate})
        while True:
            try:
                item = await asyncio.wait_for(pump.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                item = None
            now = time.monotonic()
            skipped = cap.take_skipped(now)
            if skipped:
                yield sse("skipped", {"skipped": skipped, "rate": rate})
            if item is None:
                yield b": keep-alive\n\n"
                continue
            if item is _END:
                return
            if isinstance(item, Exception):
                yield sse("error", {"detail": str(item)})
                continue
            pump.slots.release()
            if cap.admit(now):
                yield sse("record", _as_dict(item), f"{item.partition}:{item.offset}")
    finally:
        tail.stop()  # the client left or the stream ended: the thread closes the consumer


@router.get(
    "/{name}/tail",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
    **secured(Role.viewer),
)
def tail_topic(
    name: TopicPath,
    context: Context,
    start: FromQuery = "latest",
    filter: FilterQuery = None,
    partition: PartitionQuery = None,
    rate: Annotated[
        int, Query(ge=1, le=10_000, description="most records a second sent to this client")
    ] = 200,
    cluster: ClusterName = None,
) -> StreamingResponse:
    """Records as they arrive, one `record` event each: {partition, offset, timestamp, key,
    value, headers}. A `ready` event says the tail is reading; records over the rate are counted
    in `skipped` events; comments keep the connection alive. To read history without a cap,
    page through it with GET /api/topics/{name}/records."""
    keep = compile_filter(filter)
    tail = _tail(context, name, start, cluster, partition)
    return StreamingResponse(
        _events(tail, keep, rate),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class PageOut(BaseModel):
    records: list[dict[str, Any]] = Field(
        description="{partition, offset, timestamp, key, value, headers}, oldest first"
    )
    start: str = Field(description="the cursor of this page")
    next: str = Field(description="the cursor of the following page (pass it as `cursor`)")
    at_end: bool = Field(description="every partition was read to its end: no next page yet")
    total: int = Field(description="records the chosen partitions store now")
    before: int = Field(description="records stored before this page")


# A page's cursor: what format_cursor writes. Its length keeps a request within the server's
# MAX_REQUEST_HEAD_BYTES even percent-encoded: enough for a few hundred partitions.
MAX_CURSOR_CHARS = 4_000
CURSOR_PATTERN = described_pattern(
    r"^[0-9]+:[0-9]+(,[0-9]+:[0-9]+)*$", "PARTITION:OFFSET pairs joined by commas, e.g. 0:120,1:98"
)


@router.get("/{name}/records", response_model=PageOut, **secured(Role.viewer))
def page_topic(
    name: TopicPath,
    context: Context,
    start: Annotated[
        str, Query(alias="from", description="beginning, offset:<n> or timestamp:<epoch ms>")
    ] = "beginning",
    cursor: Annotated[
        str | None,
        Query(
            description="PARTITION:OFFSET,... from a page's `next` or `start`; replaces `from`",
            max_length=MAX_CURSOR_CHARS,
            pattern=CURSOR_PATTERN,
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="records per page")] = 50,
    filter: FilterQuery = None,
    partition: PartitionQuery = None,
    cluster: ClusterName = None,
) -> PageOut:
    """A page of the topic's history, by offset or time; `next` continues exactly after it."""
    keep = compile_filter(filter)
    position: Positions | FromOffset | FromTimestamp | None
    if cursor is not None:
        try:
            position = parse_cursor(cursor)
        except ValueError as exc:
            message = f"cursor {exc}; pass a page's `next` unchanged"
            raise PlatformError(message, [{"field": "cursor", "message": message}]) from None
    else:
        parsed = parse_start(start)
        if isinstance(parsed, FromOffset | FromTimestamp):
            position = parsed
        elif parsed == "beginning":
            position = None
        else:  # latest
            message = "pages start at beginning, offset:<n> or timestamp:<epoch ms>; follow new "
            message += "records with GET /api/topics/{name}/tail"
            raise PlatformError(message, [{"field": "from", "message": message}])
    cluster_name, settings = context.clusters.resolve(cluster)
    _check_topic(settings, cluster_name, name, partition)
    pages = TopicPages(settings, name, partitions=None if partition is None else [partition])
    try:
        page = pages.page(position, limit, keep)
    except BrokerError as exc:
        raise Unavailable(str(exc)) from exc
    return PageOut(
        records=[_as_dict(r) for r in page.records],
        start=format_cursor(page.start),
        next=format_cursor(page.next),
        at_end=page.at_end,
        total=page.total,
        before=page.before,
    )


def _export_lines(
    tail: TopicTail,
    keep: Filter | None,
    end: Callable[[TailRecord], bool],
    limit: int,
    row: Callable[[dict[str, Any]], bytes],
    header: bytes,
) -> Iterator[bytes]:
    if header:
        yield header
    sent = 0
    try:
        for record in tail.records():
            if end(record):
                continue  # this partition is past the range; others may not be yet
            data = record.to_dict()
            if keep is not None and not keep(data):
                continue
            yield row(data)
            sent += 1
            if sent >= limit:
                return
    finally:
        tail.stop()


@router.get(
    "/{name}/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}, "application/x-ndjson": {}},
            "description": "The records of the range, oldest first per partition",
        }
    },
    **secured(Role.viewer),
)
def export_topic(
    name: TopicPath,
    context: Context,
    format: Annotated[
        Literal["csv", "jsonl"], Query(description="csv or jsonl (one JSON object per line)")
    ] = "jsonl",
    start: FromQuery = "beginning",
    to: Annotated[
        str | None,
        Query(
            description="end (default: the end of each partition now), offset:<n> or "
            "timestamp:<epoch ms>, inclusive"
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1_000_000, description="most records")] = 10_000,
    filter: FilterQuery = None,
    partition: PartitionQuery = None,
    cluster: ClusterName = None,
) -> StreamingResponse:
    """A bounded range of the topic, decoded, as a download."""
    keep = compile_filter(filter)
    end = parse_end(to)
    tail = _tail(context, name, start, cluster, partition, stop_at_end=True)
    csv_format = format == "csv"
    lines = _export_lines(
        tail,
        keep,
        end.passed,
        limit,
        csv_row if csv_format else jsonl_row,
        csv_header() if csv_format else b"",
    )
    return StreamingResponse(
        lines,
        media_type="text/csv" if csv_format else "application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )
