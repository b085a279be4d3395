"""Failure paths against the real broker: dead letters, on_error="raise", missing topics."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from integration_helpers import (
    FAST_GROUP,
    AppThread,
    committed_offsets,
    produce_records,
    read_topic,
    running,
    wait_for_records,
    wait_until,
)
from kafka_helpers import read_all

from headwater import App, MissingTopicError, PipelineError

pytestmark = pytest.mark.broker


def _explode_on_13(value: dict[str, Any]) -> dict[str, Any]:
    if value["n"] == 13:
        raise ZeroDivisionError("13 is unlucky")
    return {"n": value["n"], "inverse": 1 / value["n"]}


def test_bad_records_go_to_the_dead_letter_topic_with_their_origin(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str]
) -> None:
    source = make_topic("dirty", partitions=2)
    out = unique("clean")
    # Partition 1 gets 20 records; offset 5 is not JSON and offset 13 makes the function raise.
    records: list[tuple[Any, Any, int | None, list[tuple[str, bytes]] | None]] = []
    for n in range(1, 21):
        value = b'{"n": 5,' if n == 6 else orjson.dumps({"n": n})
        records.append((b"key-%d" % n, value, 1_700_000_000_000 + n, [("trace-id", b"t%d" % n)]))
    produce_records(bootstrap, source, records, partition=1)

    app = App(unique("dlq-app"), bootstrap, consumer_config=FAST_GROUP, commit_interval=0.5)
    sdf = app.dataframe(app.topic(source, partitions=2))
    sdf.apply(_explode_on_13).to_topic(app.topic(out))
    dlq = f"{app.name}.dlq"
    with running(app):
        wait_for_records(bootstrap, out, 18)
        dead = wait_for_records(bootstrap, dlq, 2)

    outputs = [orjson.loads(m.value())["n"] for m in read_topic(bootstrap, out)]
    assert sorted(outputs) == [n for n in range(1, 21) if n not in (6, 13)]
    assert len(dead) == 2
    by_offset = {}
    for m in dead:
        headers = dict(m.headers())
        by_offset[int(headers["headwater.origin.offset"])] = (m, headers)
    assert sorted(by_offset) == [5, 12]

    malformed, headers = by_offset[5]
    assert malformed.key() == b"key-6"
    assert malformed.value() == b'{"n": 5,'  # the original bytes, untouched
    assert malformed.timestamp()[1] == 1_700_000_000_006
    assert malformed.headers()[0] == ("trace-id", b"t6")  # original headers come first
    assert headers["headwater.error.type"] == b"SerializationError"
    assert b"not valid JSON" in headers["headwater.error.reason"]
    assert headers["headwater.error.operator"] == f"decode {source}".encode()
    assert headers["headwater.origin.topic"] == source.encode()
    assert headers["headwater.origin.partition"] == b"1"

    raised, headers = by_offset[12]
    assert raised.key() == b"key-13"
    assert orjson.loads(raised.value()) == {"n": 13}
    assert raised.headers()[0] == ("trace-id", b"t13")
    assert headers["headwater.error.type"] == b"ZeroDivisionError"
    assert headers["headwater.error.reason"] == b"13 is unlucky"
    assert headers["headwater.error.operator"] == b"apply(_explode_on_13)"
    assert b"_explode_on_13" in headers["headwater.error.traceback"]
    assert headers["headwater.origin.topic"] == source.encode()
    assert headers["headwater.origin.partition"] == b"1"
    assert headers["headwater.origin.timestamp"] == b"1700000000013"
    # Dead letters count as processed: the offsets move past them.
    wait_until(lambda: committed_offsets(bootstrap, app.name, source, 2)[1] == 20, timeout=10)


def test_an_output_the_producer_refuses_is_a_dead_letter_and_the_rest_go_out_once(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str]
) -> None:
    source = make_topic("padded")
    out = unique("padded-out")
    produce_records(
        bootstrap, source, [(b"k%d" % n, orjson.dumps({"n": n}), None, None) for n in range(10)]
    )
    app = App(unique("padded-app"), bootstrap, consumer_config=FAST_GROUP, commit_interval=0.5)
    sdf = app.dataframe(app.topic(source))
    # Record 5 becomes larger than the producer's message.max.bytes (1 MB by default).
    sdf = sdf.apply(lambda v: {**v, "pad": "x" * (2_000_000 if v["n"] == 5 else 1)})
    sdf.to_topic(app.topic(out))
    with running(app):
        wait_for_records(bootstrap, out, 9)
        dead = wait_for_records(bootstrap, f"{app.name}.dlq", 1)

    outputs = sorted(orjson.loads(m.value())["n"] for m in read_topic(bootstrap, out))
    assert outputs == [0, 1, 2, 3, 4, 6, 7, 8, 9]  # each once: no batch retried record by record
    assert len(dead) == 1
    headers = dict(dead[0].headers())
    assert dead[0].key() == b"k5"
    assert headers["headwater.origin.offset"] == b"5"
    assert headers["headwater.error.operator"] == f"to_topic({out})".encode()
    assert b"MSG_SIZE_TOO_LARGE" in headers["headwater.error.reason"]


@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_an_output_the_broker_refuses_at_delivery_is_a_dead_letter_with_the_reason(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    guarantee: str,
) -> None:
    # The producer accepts record 13 (its limit is 1 MB); the topic's limit is 2,000 bytes,
    # so the broker refuses it at delivery.
    source = make_topic("sized", partitions=2)
    out = make_topic("sized-out", partitions=2, **{"max.message.bytes": "2000"})
    records = [(b"k%d" % n, orjson.dumps({"n": n}), None, None) for n in range(40)]
    produce_records(bootstrap, source, records)
    app = App(
        unique("sized-app"),
        bootstrap,
        consumer_config=FAST_GROUP,
        commit_interval=0.5,
        guarantee=guarantee,  # type: ignore[arg-type]
        state_dir=tmp_path,
    )
    sdf = app.dataframe(app.topic(source))
    sdf = sdf.apply(lambda v: {**v, "pad": "x" * (5_000 if v["n"] == 13 else 10)})
    sdf.to_topic(app.topic(out))
    with running(app):
        dead = wait_for_records(bootstrap, f"{app.name}.dlq", 1, timeout=60)
        wait_until(lambda: sum(committed_offsets(bootstrap, app.name, source, 2).values()) == 40)

    committed = {"isolation.level": "read_committed"}
    outputs = [orjson.loads(m.value())["n"] for m in read_all(bootstrap, [out], **committed)]
    assert sorted(outputs) == [n for n in range(40) if n != 13]  # the rest, each once
    dead = read_all(bootstrap, [f"{app.name}.dlq"], **committed)
    assert len(dead) == 1
    headers = dict(dead[0].headers())
    assert dead[0].key() == b"k13"  # the input record, as for every other dead letter
    assert orjson.loads(dead[0].value()) == {"n": 13}
    assert headers["headwater.error.operator"] == f"to_topic({out})".encode()
    assert headers["headwater.error.type"] == b"DeliveryRefused"
    assert b"too large" in headers["headwater.error.reason"].lower()
    assert headers["headwater.origin.topic"] == source.encode()
    origin = (int(headers["headwater.origin.partition"]), int(headers["headwater.origin.offset"]))
    assert origin in _positions(bootstrap, source, b"k13")


def _positions(bootstrap: str, topic: str, key: bytes) -> set[tuple[int, int]]:
    return {(m.partition(), m.offset()) for m in read_all(bootstrap, [topic]) if m.key() == key}


def test_on_error_raise_stops_the_app_before_committing_the_bad_record(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str]
) -> None:
    source = make_topic("strict")
    out = unique("strict-out")
    app = App(
        unique("strict-app"),
        bootstrap,
        on_error="raise",
        consumer_config=FAST_GROUP,
        commit_interval=0.5,
    )
    sdf = app.dataframe(app.topic(source))
    sdf.apply(_explode_on_13).to_topic(app.topic(out))

    produce_records(
        bootstrap, source, [(None, orjson.dumps({"n": n}), None, None) for n in range(1, 11)]
    )
    thread = AppThread(app).start()
    try:
        wait_for_records(bootstrap, out, 10)
        # The good records are committed first, so the commit position is known exactly.
        wait_until(lambda: committed_offsets(bootstrap, app.name, source, 1)[0] == 10, timeout=10)
        produce_records(
            bootstrap, source, [(None, orjson.dumps({"n": n}), None, None) for n in range(11, 16)]
        )
        thread.join(timeout=20)
    finally:
        thread.stop()

    error = thread.error
    assert isinstance(error, PipelineError), error
    message = str(error)
    assert "apply(_explode_on_13)" in message  # the operator
    assert f"{source}[0]@12" in message  # the origin: n=13 is at offset 12
    assert "ZeroDivisionError: 13 is unlucky" in message  # the exception
    assert isinstance(error.__cause__, ZeroDivisionError)
    # Nothing at or past the bad record is committed; a restart reads it again.
    assert 10 <= committed_offsets(bootstrap, app.name, source, 1)[0] <= 12
    assert app.dead_letter_topic is None
    assert f"{app.name}.dlq" not in _topics(bootstrap)


def test_a_missing_input_topic_fails_at_start(bootstrap: str, unique: Callable[[str], str]) -> None:
    missing = unique("nowhere")
    app = App(unique("missing-app"), bootstrap, consumer_config=FAST_GROUP, commit_interval=0.5)
    app.dataframe(app.topic(missing)).to_topic(app.topic(unique("never")))
    started = time.monotonic()
    with pytest.raises(MissingTopicError, match=missing):
        app.run()
    assert time.monotonic() - started < 10  # a clear error, not a wait for the topic
    assert missing not in _topics(bootstrap)  # and it was not auto-created


def _topics(bootstrap: str) -> set[str]:
    from confluent_kafka.admin import AdminClient

    return set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)
