"""Live pipelines against the real broker: every DataFrame step, serializer and metadata path."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

import orjson
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from integration_helpers import FAST_GROUP, produce_records, read_topic, running, wait_for_records

from headwater import App

pytestmark = pytest.mark.broker

BASE_TS = 1_700_000_000_000


def _app(bootstrap: str, unique: Callable[[str], str], **kwargs: Any) -> App:
    return App(unique("app"), bootstrap, consumer_config=FAST_GROUP, commit_interval=0.5, **kwargs)


def _orders(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "sku": f"s{i % 4}",
            "price": 2.5 * (i + 1),
            "qty": i % 5,
            "note": "skip" if i % 7 == 3 else "keep",
        }
        for i in range(n)
    ]


def test_branching_pipeline_runs_every_step_live(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str]
) -> None:
    source = make_topic("orders", partitions=2)
    out_a, out_b = unique("out-a"), unique("out-b")
    orders = _orders(60)
    produce_records(
        bootstrap,
        source,
        [
            (f"c{o['id']}".encode(), orjson.dumps(o), BASE_TS + o["id"], [("src", b"web")])
            for o in orders
        ],
    )

    def tag(value: dict[str, Any], key: str, ts: int, headers: Any) -> dict[str, Any]:
        return {**value, "channel": dict(headers)["src"].decode(), "in_key": key, "in_ts": ts}

    def mark(value: dict[str, Any]) -> None:
        value["checked"] = True

    def doubled(df: pd.DataFrame) -> pd.DataFrame:
        df["total_x2"] = df["total"] * 2
        return df

    app = _app(bootstrap, unique)
    sdf = app.dataframe(app.topic(source, partitions=2))
    sdf = sdf[sdf["qty"] > 0]  # 1: filter by expression
    sdf["total"] = sdf["price"] * sdf["qty"]  # 2: assign
    sdf = sdf.apply(tag, metadata=True)  # 3: apply with key, timestamp and headers
    sdf = sdf.filter(lambda v: v["note"] != "skip")  # 4: filter by function
    sdf = sdf.update(mark)  # 5: update in place
    sdf = sdf.map_batches(doubled)  # 6: pandas batch function
    # Two branches of one DataFrame: each must see every record.
    branch_a = sdf.drop("note").rename({"total": "amount"}).set_key("sku")
    branch_a.to_topic(app.topic(out_a))
    branch_b = sdf.apply(
        lambda v: [{"id": v["id"], "part": p} for p in (1, 2)], expand=True
    ).select("id", "part")
    branch_b.to_topic(app.topic(out_b), key=lambda v: f"{v['id']}-{v['part']}")

    kept = [o for o in orders if o["qty"] > 0 and o["note"] != "skip"]
    with running(app):
        wait_for_records(bootstrap, out_a, len(kept))
        wait_for_records(bootstrap, out_b, 2 * len(kept))
    a_records, b_records = read_topic(bootstrap, out_a), read_topic(bootstrap, out_b)

    expected_a = {}
    for o in kept:
        total = o["price"] * o["qty"]
        expected_a[o["id"]] = {
            "id": o["id"],
            "sku": o["sku"],
            "price": o["price"],
            "qty": o["qty"],
            "amount": total,
            "channel": "web",
            "in_key": f"c{o['id']}",
            "in_ts": BASE_TS + o["id"],
            "checked": True,
            "total_x2": total * 2,
        }
    assert len(a_records) == len(kept)
    got_a = {}
    for m in a_records:
        value = orjson.loads(m.value())
        got_a[value["id"]] = value
        assert m.key() == value["sku"].encode()  # set_key
        assert m.timestamp()[1] == BASE_TS + value["id"]  # Kafka timestamp is the event time
        assert m.headers() == [("src", b"web")]  # input headers carried to the output
    assert got_a == expected_a

    assert len(b_records) == 2 * len(kept)
    got_b = sorted((m.key().decode(), orjson.loads(m.value())) for m in b_records)
    assert got_b == sorted(
        (f"{o['id']}-{p}", {"id": o["id"], "part": p}) for o in kept for p in (1, 2)
    )


def test_serializers_round_trip_through_the_broker(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str]
) -> None:
    nums, words, blobs = make_topic("nums"), make_topic("words"), make_topic("blobs")
    out_float, out_json = unique("out-float"), unique("out-json")
    out_str, out_int, out_bytes = unique("out-str"), unique("out-int"), unique("out-bytes")
    produce_records(
        bootstrap,
        nums,
        [(struct.pack(">q", i - 2), struct.pack(">d", i * 1.5), None, None) for i in range(5)],
    )
    produce_records(
        bootstrap, words, [(f"w{i}".encode(), w.encode(), None, None) for i, w in enumerate("abc")]
    )
    raw = [b"\xff\x00binary", b"", b"\x01"]
    produce_records(bootstrap, blobs, [(b"\x00k%d" % i, v, None, None) for i, v in enumerate(raw)])

    app = _app(bootstrap, unique)
    n = app.dataframe(app.topic(nums, key="int", value="float"))
    n["value"] = n["value"] * 2
    n.to_topic(app.topic(out_float, key="int", value="float"))
    n.apply(lambda v: {"doubled": v["value"]}).to_topic(app.topic(out_json, key="int"))
    w = app.dataframe(app.topic(words, key="str", value="str"))
    w["value"] = w["value"].str.upper()
    w.to_topic(app.topic(out_str, key="str", value="str"))
    w.apply(lambda v: {"value": len(v["value"]) * 10}).set_key(lambda v: b"\x00len").to_topic(
        app.topic(out_int, key="bytes", value="int")
    )
    b = app.dataframe(app.topic(blobs, key="bytes", value="bytes"))
    b.to_topic(app.topic(out_bytes, key="bytes", value="bytes"))

    with running(app):
        for topic, count in ((out_float, 5), (out_json, 5), (out_str, 3), (out_int, 3)):
            wait_for_records(bootstrap, topic, count)
        wait_for_records(bootstrap, out_bytes, 3)

    floats = [
        (struct.unpack(">q", m.key())[0], struct.unpack(">d", m.value())[0])
        for m in read_topic(bootstrap, out_float)
    ]
    assert floats == [(i - 2, i * 3.0) for i in range(5)]
    as_json = [
        (struct.unpack(">q", m.key())[0], orjson.loads(m.value()))
        for m in read_topic(bootstrap, out_json)
    ]
    assert as_json == [(i - 2, {"doubled": i * 3.0}) for i in range(5)]
    strings = [(m.key(), m.value()) for m in read_topic(bootstrap, out_str)]
    assert strings == [(b"w0", b"A"), (b"w1", b"B"), (b"w2", b"C")]
    ints = [(m.key(), struct.unpack(">q", m.value())[0]) for m in read_topic(bootstrap, out_int)]
    assert ints == [(b"\x00len", 10)] * 3
    blobs_out = [(m.key(), m.value()) for m in read_topic(bootstrap, out_bytes)]
    assert blobs_out == [(b"\x00k%d" % i, v) for i, v in enumerate(raw)]


def test_event_time_keys_and_headers_reach_the_output(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str]
) -> None:
    epoch, iso = make_topic("epoch"), make_topic("iso")
    out_epoch, out_iso, out_shifted = unique("out-epoch"), unique("out-iso"), unique("out-shift")
    produce_records(
        bootstrap,
        epoch,
        [
            (b"k%d" % i, orjson.dumps({"id": i, "at": BASE_TS + 1000 * i}), 5, [("trace", b"t")])
            for i in range(4)
        ],
    )
    iso_times = ["2024-03-01T12:00:00Z", "2024-03-01T12:00:01.500Z", "2024-03-01T12:00:02Z"]
    produce_records(
        bootstrap,
        iso,
        [(None, orjson.dumps({"id": i, "at": t}), 5, None) for i, t in enumerate(iso_times)],
    )

    app = _app(bootstrap, unique)
    e = app.dataframe(app.topic(epoch, timestamp="at"))
    e = e.set_headers(lambda v, h: [*(h or []), ("id", str(v["id"])), ("raw", b"\x00")])
    e.to_topic(app.topic(out_epoch), key=e["id"] * 10)
    shifted = e.set_timestamp(e["at"] + 250).set_key(lambda v: f"id-{v['id']}")
    shifted.to_topic(app.topic(out_shifted))
    i = app.dataframe(app.topic(iso, timestamp="at"))
    i.to_topic(app.topic(out_iso))

    with running(app):
        wait_for_records(bootstrap, out_epoch, 4)
        wait_for_records(bootstrap, out_shifted, 4)
        wait_for_records(bootstrap, out_iso, 3)

    got = [(m.key(), m.timestamp()[1], m.headers()) for m in read_topic(bootstrap, out_epoch)]
    assert got == [
        (
            str(10 * i).encode(),
            BASE_TS + 1000 * i,
            [("trace", b"t"), ("id", str(i).encode()), ("raw", b"\x00")],
        )
        for i in range(4)
    ]
    shifted_got = [(m.key(), m.timestamp()[1]) for m in read_topic(bootstrap, out_shifted)]
    assert shifted_got == [(f"id-{i}".encode(), BASE_TS + 1000 * i + 250) for i in range(4)]
    iso_got = [m.timestamp()[1] for m in read_topic(bootstrap, out_iso)]
    expected_iso = [int(pd.Timestamp(t).timestamp() * 1000) for t in iso_times]
    assert iso_got == expected_iso


def test_batch_formats_and_column_selection(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str]
) -> None:
    source = make_topic("rows")
    out_polars, out_arrow, out_pandas = unique("polars"), unique("arrow"), unique("pandas")
    rows = [{"a": i, "b": i * 0.5, "c": f"x{i}", "junk": 1} for i in range(30)]
    produce_records(
        bootstrap,
        source,
        [(b"r%d" % r["a"], orjson.dumps(r), BASE_TS + r["a"], None) for r in rows],
    )

    def polars_step(df: pl.DataFrame) -> pl.DataFrame:
        return df.with_columns((pl.col("a") + pl.col("b")).alias("sum"))

    def arrow_step(table: pa.Table) -> pa.Table:
        return table.append_column("c_len", pa.array([len(c) for c in table["c"].to_pylist()]))

    def pandas_filter(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["a"] % 3 == 0].sort_values("a", ascending=False)

    app = _app(bootstrap, unique)
    sdf = app.dataframe(app.topic(source)).drop("junk")
    sdf.map_batches(polars_step, format="polars").select("a", "sum").to_topic(app.topic(out_polars))
    sdf.map_batches(arrow_step, format="arrow").rename({"c": "name"}).select(
        "name", "c_len"
    ).to_topic(app.topic(out_arrow))
    sdf.map_batches(pandas_filter).to_topic(app.topic(out_pandas))

    with running(app):
        wait_for_records(bootstrap, out_polars, 30)
        wait_for_records(bootstrap, out_arrow, 30)
        wait_for_records(bootstrap, out_pandas, 10)

    polars_got = sorted(
        (m.key(), orjson.loads(m.value())) for m in read_topic(bootstrap, out_polars)
    )
    assert polars_got == sorted((b"r%d" % i, {"a": i, "sum": i * 1.5}) for i in range(30))
    arrow_got = sorted((m.key(), orjson.loads(m.value())) for m in read_topic(bootstrap, out_arrow))
    assert arrow_got == sorted(
        (b"r%d" % i, {"name": f"x{i}", "c_len": len(f"x{i}")}) for i in range(30)
    )
    # A pandas filter and sort keeps each row's own key and timestamp (by index label).
    pandas_got = sorted(
        (m.key(), m.timestamp()[1], orjson.loads(m.value()))
        for m in read_topic(bootstrap, out_pandas)
    )
    assert pandas_got == sorted(
        (b"r%d" % i, BASE_TS + i, {"a": i, "b": i * 0.5, "c": f"x{i}"}) for i in range(0, 30, 3)
    )


def test_print_writes_each_record_as_a_json_line(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = make_topic("printed")
    out = unique("printed-out")
    produce_records(
        bootstrap,
        source,
        [(b"k%d" % i, orjson.dumps({"n": i}), BASE_TS + i, None) for i in range(3)],
    )
    app = _app(bootstrap, unique)
    sdf = app.dataframe(app.topic(source))
    sdf.print(metadata=True).to_topic(app.topic(out))
    with running(app):
        wait_for_records(bootstrap, out, 3)
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    assert lines == [
        {"key": f"k{i}", "timestamp": BASE_TS + i, "value": {"n": i}} for i in range(3)
    ]


def test_topology_is_json_and_keeps_its_shape(unique: Callable[[str], str]) -> None:
    app = App(unique("topo"), "localhost:1")
    sdf = app.dataframe(app.topic("in-topic", timestamp="at"))
    sdf = sdf[sdf["x"] > 1]
    sdf["y"] = sdf["x"] * 2
    sdf.select("y").to_topic(app.topic("out-a"))
    sdf.apply(lambda v: v).to_topic(app.topic("out-b", value="json"), key="y")

    topology = app.describe()
    assert json.loads(json.dumps(topology)) == topology
    assert topology == app.describe()  # describing twice gives the same document
    assert set(topology) == {"version", "app", "inputs", "outputs", "dead_letter_topic", "nodes"}
    assert topology["dead_letter_topic"] == f"{app.name}.dlq"
    assert topology["inputs"] == [
        {"topic": "in-topic", "key": "str", "value": "json", "timestamp": "at", "node": "n0"}
    ]
    assert [o["topic"] for o in topology["outputs"]] == ["out-a", "out-b"]
    kinds = [n["kind"] for n in topology["nodes"]]
    assert kinds == ["source", "filter", "assign", "select", "to_topic", "apply", "to_topic"]
    by_id = {n["id"]: n for n in topology["nodes"]}
    branch = next(n for n in topology["nodes"] if n["kind"] == "assign")
    assert [by_id[c]["kind"] for c in branch["children"]] == ["select", "apply"]
    for node in topology["nodes"]:
        assert set(node) == {"id", "kind", "label", "params", "parent", "children"}
        for child in node["children"]:
            assert by_id[child]["parent"] == node["id"]
