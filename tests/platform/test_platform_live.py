"""Live data through the API against the real broker: SSE tails from every start, filters,
the rate cap, exports as CSV and JSON lines, and bad input."""

from __future__ import annotations

import csv
import io
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from kafka_helpers import wait_until
from platform_server import LiveServer


@pytest.fixture
def cluster(live: LiveServer, bootstrap: str) -> str:
    name = f"live-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        made = admin.post("/api/clusters", json={"name": name, "bootstrap_servers": bootstrap})
        assert made.status_code == 201, made.text
    return name


class EventStream:
    """Reads a tail's Server-Sent Events in a thread, noting when each arrived."""

    def __init__(self, live: LiveServer, topic: str, **params: Any) -> None:
        self.events: list[tuple[str, Any, float]] = []
        self.status: int | None = None
        self._stop = threading.Event()
        self._client = live.client("viewer")
        self._thread = threading.Thread(target=self._read, args=(topic, params), daemon=True)
        self._thread.start()

    def _read(self, topic: str, params: dict[str, Any]) -> None:
        with self._client.stream("GET", f"/api/topics/{topic}/tail", params=params) as response:
            self.status = response.status_code
            event = "message"
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data = orjson.loads(line.removeprefix("data: "))
                    self.events.append((event, data, time.monotonic()))

    def of(self, kind: str) -> list[Any]:
        return [data for event, data, _ in self.events if event == kind]

    def values(self) -> list[Any]:
        return [r["value"] for r in self.of("record")]

    def close(self) -> None:
        self._stop.set()  # noticed at the next event or keep-alive, within about a second
        self._thread.join(timeout=10)
        self._client.close()

    def __enter__(self) -> EventStream:
        wait_until(lambda: self.of("ready"), timeout=15)
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def one_by_one(produce: Callable[..., None], topic: str, values: list[Any], **kw: Any) -> None:
    """Each record in its own batch (see the broker notes on watermarks)."""
    for value in values:
        produce(topic, [(b"k", orjson.dumps(value))], **kw)


def tail_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "headwater-live-tail")


def test_a_tail_from_latest_delivers_new_records_within_two_seconds(
    live: LiveServer, cluster: str, make_topic: Callable[..., str], produce: Callable[..., None]
) -> None:
    topic = make_topic("live", partitions=2)
    one_by_one(produce, topic, [{"old": i} for i in range(5)], partition=0)
    with EventStream(live, topic, cluster=cluster) as stream:
        delays = []
        for i in range(3):
            sent = time.monotonic()
            produce(
                topic, [(b"k", orjson.dumps({"new": i}))], partition=i % 2, headers=[("n", str(i))]
            )
            wait_until(lambda i=i: {"new": i} in stream.values(), timeout=2)
            (arrived,) = [
                t for e, d, t in stream.events if e == "record" and d["value"] == {"new": i}
            ]
            delays.append(arrived - sent)
        assert max(delays) < 2.0, delays
        record = stream.of("record")[-1]
        assert set(record) == {"partition", "offset", "timestamp", "key", "value", "headers"}
        assert record["key"] == "k" and record["timestamp"] > 0
        assert record["headers"] == [["n", "2"]]  # as text, in order
        # Only the last batch before the tail may show again (approximate watermarks).
        assert not [v for v in stream.values() if v in [{"old": i} for i in range(4)]]
    wait_until(lambda: tail_threads() == 0, timeout=10)  # the consumer closed with the client


def test_a_filter_lets_only_matching_records_through(
    live: LiveServer, cluster: str, make_topic: Callable[..., str], produce: Callable[..., None]
) -> None:
    topic = make_topic("live")
    expression = "value.amount > `100` && key == 'k'"
    with EventStream(live, topic, cluster=cluster, filter=expression) as stream:
        one_by_one(produce, topic, [{"amount": a} for a in (5, 150, 99, 101, 300)])
        produce(topic, [(b"other", orjson.dumps({"amount": 1000}))])
        wait_until(lambda: len(stream.values()) >= 3, timeout=5)
        produce(topic, [(b"k", orjson.dumps({"amount": 500, "last": True}))])
        wait_until(lambda: {"amount": 500, "last": True} in stream.values(), timeout=2)
        assert stream.values() == [
            {"amount": 150},
            {"amount": 101},
            {"amount": 300},
            {"amount": 500, "last": True},
        ]


def test_tails_start_at_the_beginning_an_offset_or_a_time(
    live: LiveServer, cluster: str, make_topic: Callable[..., str], produce: Callable[..., None]
) -> None:
    topic = make_topic("live")
    for i in range(6):
        produce(topic, [(b"k", orjson.dumps({"i": i}))], timestamp=1_700_000_000_000 + i * 1000)
    everything = [{"i": i} for i in range(6)]
    with EventStream(live, topic, cluster=cluster, **{"from": "beginning"}) as stream:
        wait_until(lambda: stream.values() == everything, timeout=10)
        assert [r["offset"] for r in stream.of("record")] == list(range(6))
    with EventStream(live, topic, cluster=cluster, **{"from": "offset:4"}) as stream:
        wait_until(lambda: stream.values() == everything[4:], timeout=10)
    with EventStream(live, topic, cluster=cluster, **{"from": "timestamp:1700000002000"}) as stream:
        wait_until(lambda: stream.values() == everything[2:], timeout=10)
        assert stream.of("record")[0]["timestamp"] == 1_700_000_002_000


def test_a_partition_can_be_tailed_alone(
    live: LiveServer, cluster: str, make_topic: Callable[..., str], produce: Callable[..., None]
) -> None:
    topic = make_topic("live", partitions=2)
    produce(topic, [(b"a", b'"zero"')], partition=0)
    produce(topic, [(b"b", b'"one"')], partition=1)
    params = {"from": "beginning", "partition": 1, "cluster": cluster}
    with EventStream(live, topic, **params) as stream:
        wait_until(lambda: stream.values() == ["one"], timeout=10)
        produce(topic, [(b"a", b'"zero again"')], partition=0)
        produce(topic, [(b"b", b'"one again"')], partition=1)
        wait_until(lambda: stream.values() == ["one", "one again"], timeout=10)


def test_records_over_the_rate_are_counted_as_skipped(
    live: LiveServer, cluster: str, make_topic: Callable[..., str], produce: Callable[..., None]
) -> None:
    topic = make_topic("live")
    produce(topic, [(None, orjson.dumps(i)) for i in range(50)])
    params = {"from": "beginning", "rate": 10, "cluster": cluster}
    with EventStream(live, topic, **params) as stream:

        def accounted() -> int:
            return len(stream.values()) + sum(s["skipped"] for s in stream.of("skipped"))

        wait_until(lambda: accounted() == 50, timeout=15)
        assert 10 <= len(stream.values()) < 50
        assert stream.values()[:10] == list(range(10))


def test_export_as_json_lines_and_csv(
    live: LiveServer, cluster: str, make_topic: Callable[..., str], produce: Callable[..., None]
) -> None:
    topic = make_topic("live")
    records = [(f"user-{i % 2}".encode(), orjson.dumps({"n": i, "tag": "a,b"})) for i in range(6)]
    produce(topic, records)
    with live.client("viewer") as viewer:
        exported = viewer.get(f"/api/topics/{topic}/export", params={"cluster": cluster})
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"].startswith("application/x-ndjson")
        lines = [orjson.loads(line) for line in exported.text.splitlines()]
        assert [line["value"]["n"] for line in lines] == list(range(6))
        assert lines[0]["key"] == "user-0" and lines[0]["topic"] == topic

        ranged = viewer.get(
            f"/api/topics/{topic}/export",
            params={
                "cluster": cluster,
                "format": "csv",
                "from": "offset:1",
                "to": "offset:4",
                "filter": "key == 'user-1'",
            },
        )
        assert ranged.status_code == 200, ranged.text
        assert ranged.headers["content-type"].startswith("text/csv")
        assert f'filename="{topic}.csv"' in ranged.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(ranged.text)))
        assert [int(r["offset"]) for r in rows] == [1, 3]
        assert orjson.loads(rows[0]["value"]) == {"n": 1, "tag": "a,b"}
        assert rows[0]["key"] == "user-1" and rows[0]["partition"] == "0"

        limited = viewer.get(f"/api/topics/{topic}/export", params={"cluster": cluster, "limit": 2})
        assert len(limited.text.splitlines()) == 2


def page(live: LiveServer, topic: str, **params: Any) -> dict[str, Any]:
    with live.client("viewer") as viewer:
        response = viewer.get(f"/api/topics/{topic}/records", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_paging_through_a_topic_shows_every_record_once_with_its_headers(
    live: LiveServer, cluster: str, make_topic: Callable[..., str], produce: Callable[..., None]
) -> None:
    topic = make_topic("pages", partitions=3)
    for partition in range(3):
        # More than one page's worth in each partition, a reason header on each record.
        values = [(b"k", orjson.dumps({"p": partition, "n": n})) for n in range(84)]
        produce(topic, values, partition=partition, headers=[("reason", f"r{partition}")])
    seen: list[tuple[int, int]] = []
    befores = []
    current = page(live, topic, cluster=cluster, limit=100)
    while True:
        befores.append(current["before"])
        assert current["total"] == 252
        records = current["records"]
        seen += [(r["partition"], r["offset"]) for r in records]
        assert all(r["headers"] == [["reason", f"r{r['partition']}"]] for r in records)
        times = [r["timestamp"] for r in records]
        assert times == sorted(times)
        if current["at_end"]:
            break
        assert len(records) == 100
        current = page(live, topic, cluster=cluster, limit=100, cursor=current["next"])
    assert befores == [0, 100, 200]
    assert len(records) == 52
    assert sorted(seen) == [(p, o) for p in range(3) for o in range(84)]  # none twice, none left
    # At the end, the next page is empty until more arrives, then shows exactly that.
    assert page(live, topic, cluster=cluster, cursor=current["next"])["records"] == []
    produce(topic, [(b"k", b'{"late": true}')], partition=1)
    later = page(live, topic, cluster=cluster, cursor=current["next"])
    assert [(r["partition"], r["offset"], r["value"]) for r in later["records"]] == [
        (1, 84, {"late": True})
    ]


def test_a_page_starts_at_an_offset_or_a_time_and_keeps_to_a_partition_and_filter(
    live: LiveServer, cluster: str, make_topic: Callable[..., str], produce: Callable[..., None]
) -> None:
    topic = make_topic("pages", partitions=2)
    base = 1_700_000_000_000
    for n in range(10):
        value = orjson.dumps({"n": n})
        produce(topic, [(b"k", value)], partition=n % 2, timestamp=base + n * 1000)
    from_offset = page(live, topic, cluster=cluster, **{"from": "offset:3"}, partition=1)
    assert [r["value"]["n"] for r in from_offset["records"]] == [7, 9]
    assert from_offset["before"] == 3 and from_offset["at_end"]
    from_time = page(live, topic, cluster=cluster, **{"from": f"timestamp:{base + 6000}"})
    assert [r["value"]["n"] for r in from_time["records"]] == [6, 7, 8, 9]
    filtered = page(live, topic, cluster=cluster, filter="value.n > `4`", limit=2)
    assert [r["value"]["n"] for r in filtered["records"]] == [5, 6]
    rest = page(live, topic, cluster=cluster, filter="value.n > `4`", cursor=filtered["next"])
    assert [r["value"]["n"] for r in rest["records"]] == [7, 8, 9]


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"cursor": "0:x"}, 422, "cursor"),  # not PARTITION:OFFSET pairs
        ({"cursor": "0:99999999999999999999"}, 400, "cursor"),  # past a 64-bit offset
        ({"limit": 0}, 422, "limit"),
        ({"limit": 501}, 422, "limit"),
        ({"from": "yesterday"}, 400, "from"),
        ({"from": "latest"}, 400, "from"),
        ({"from": "offset:9999999999999999999"}, 400, "from"),  # past a 64-bit offset
        ({"partition": 9}, 404, "partition"),
    ],
)
def test_bad_page_requests_name_the_field(
    live: LiveServer,
    cluster: str,
    make_topic: Callable[..., str],
    params: dict[str, Any],
    status: int,
    field: str,
) -> None:
    topic = make_topic("pages")
    with live.client("viewer") as viewer:
        response = viewer.get(f"/api/topics/{topic}/records", params={"cluster": cluster, **params})
    assert response.status_code == status, response.text
    assert any(field in e["field"] for e in response.json()["errors"]), response.text


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"filter": "value.amount >"}, 400, "filter"),
        ({"filter": "value[?"}, 400, "filter"),
        ({"from": "yesterday"}, 400, "from"),
        ({"from": "offset:-1"}, 400, "from"),
        ({"partition": 7}, 404, "partition"),
        ({"rate": 0}, 422, "rate"),
    ],
)
def test_bad_tail_requests_get_a_clear_4xx(
    live: LiveServer,
    cluster: str,
    make_topic: Callable[..., str],
    params: dict[str, Any],
    status: int,
    field: str,
) -> None:
    topic = make_topic("live")
    with live.client("viewer") as viewer:
        for route in ("tail", "export"):
            if route == "export" and field == "rate":
                continue
            response = viewer.get(
                f"/api/topics/{topic}/{route}", params={"cluster": cluster, **params}
            )
            assert response.status_code == status, response.text
            body = response.json()
            assert any(field in e["field"] for e in body["errors"]), body
            if field == "filter":
                assert "JMESPath" in body["detail"]
    assert tail_threads() == 0


def test_unknown_topics_and_callers_are_refused(live: LiveServer, cluster: str) -> None:
    with live.client("viewer") as viewer:
        for route in ("tail", "export"):
            missing = viewer.get(f"/api/topics/no-such-topic/{route}", params={"cluster": cluster})
            assert missing.status_code == 404 and "no-such-topic" in missing.json()["detail"]
    with httpx.Client(base_url=live.url) as anonymous:
        for route in ("tail", "export"):
            assert anonymous.get(f"/api/topics/x/{route}").status_code == 401
