"""Paging through a topic on both brokers: every record once, exact sizes, the end found by
reading (Tansu's ListOffsets answers can trail the end by a whole batch)."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer

from headwater.kafka.admin import TopicAdmin
from headwater.kafka.browse import TopicPages, format_cursor, parse_cursor
from headwater.kafka.settings import KafkaSettings
from headwater.kafka.tail import FromTimestamp
from headwater.topic import Topic


@pytest.fixture(params=["apache", "tansu"])
def broker(request: pytest.FixtureRequest) -> str:
    fixture = "bootstrap" if request.param == "apache" else "tansu_bootstrap"
    address: str = request.getfixturevalue(fixture)
    return address


def test_pages_cover_a_topic_once_and_end_where_it_ends(broker: str) -> None:
    settings = KafkaSettings(broker)
    topic = f"pages-{uuid.uuid4().hex[:8]}"
    TopicAdmin(settings).create([Topic(topic, partitions=3)])
    producer = Producer({"bootstrap.servers": broker})
    for n in range(250):  # one batch per partition: the case Tansu's watermarks get wrong
        producer.produce(topic, f'{{"n": {n}}}'.encode(), partition=n % 3)
    assert producer.flush(30) == 0
    pages = TopicPages(settings, topic)
    seen: list[tuple[int, int]] = []
    cursor = None
    befores = []
    while True:
        page = pages.page(cursor, 100)
        assert page.total == 250
        befores.append(page.before)
        seen += [(r.partition, r.offset) for r in page.records]
        if page.at_end:
            break
        assert len(page.records) == 100
        cursor = page.next
    assert befores == [0, 100, 200]
    assert sorted(seen) == sorted((n % 3, n // 3) for n in range(250))
    # From a time after the last record: nothing, and a cursor at each partition's end.
    later = pages.page(FromTimestamp(page.records[-1].timestamp + 60_000), 100)
    assert later.records == [] and later.next == {0: 84, 1: 83, 2: 83} and later.at_end


def test_cursors_read_back_as_written() -> None:
    assert parse_cursor(format_cursor({2: 5, 0: 120})) == {0: 120, 2: 5}
    for bad in ("0:x", "1", ":3", "0:1,,", "0:99999999999999999999", "9999999999:0"):
        with pytest.raises(ValueError, match=r"(as|is not) PARTITION:OFFSET"):
            parse_cursor(bad)
