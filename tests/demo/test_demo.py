"""The demo: order-event generator, the example order pipeline, and ``headwater demo`` itself."""

from __future__ import annotations

import json
import os
import runpy
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka_helpers import wait_until
from test_cli import accepts_connections, read_lines, start

from headwater import App
from headwater.demo.generator import MALFORMED, OrderGenerator
from headwater.demo.runner import EXAMPLE as SHIPPED_EXAMPLE
from headwater.demo.runner import load_example, summary_line
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.broker import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orders" / "app.py"
INPUT_TOPIC, TOTALS_TOPIC, LARGE_TOPIC = "orders", "order-totals", "large-orders"


def example_app(broker: str, monkeypatch: pytest.MonkeyPatch) -> tuple[App, dict[str, Any]]:
    """The example's ``app`` on ``broker`` and the rest of its module, as `run` loads it."""
    monkeypatch.setenv("HEADWATER_BROKER", broker)
    namespace = runpy.run_path(str(EXAMPLE), run_name="__headwater_app__")
    return namespace["app"], namespace


def test_the_example_holds_the_pipeline_and_the_demo_runs_that_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = EXAMPLE.read_text()
    assert "headwater.demo" not in source and "sdf.to_topic(totals)" in source
    assert SHIPPED_EXAMPLE.resolve() == EXAMPLE.resolve()  # the package ships the same file
    monkeypatch.setenv("HEADWATER_BROKER", "elsewhere:9092")
    app = load_example("127.0.0.1:19092")
    assert app.settings.bootstrap_servers == "127.0.0.1:19092"
    assert [t.name for t in app.output_topics] == [TOTALS_TOPIC, LARGE_TOPIC]


def test_the_summary_counts_each_output_and_its_rate() -> None:
    from collections import Counter

    line = summary_line(
        Counter({"order-totals": 120, "orders-app.dlq": 3}),
        Counter({"order-totals": 100, "orders-app.dlq": 3}),
        5.0,
        ["order-totals", "large-orders", "orders-app.dlq"],
    )
    assert line == (
        "summary: order-totals 120 (4.0/s) · large-orders 0 (0.0/s) · orders-app.dlq 3 (0.0/s)"
    )


def test_generator_is_deterministic_and_malformed_now_and_then():
    first = [OrderGenerator(seed=7).next_event(now_ms=1) for _ in range(3)]
    again = [OrderGenerator(seed=7).next_event(now_ms=1) for _ in range(3)]
    assert first == again

    generator = OrderGenerator(seed=7, malformed_every=10)
    events = [generator.next_event() for _ in range(60)]
    kinds = [e.malformed for e in events]
    assert [k for k in kinds if k] == list(MALFORMED) * 2
    valid = [orjson.loads(e.value) for e in events if e.malformed is None]
    assert len(valid) == 54
    for order, event in zip(valid, (e for e in events if e.malformed is None), strict=True):
        assert event.key.decode() == order["customer_id"]
        assert order["price"] > 0 and order["quantity"] >= 1
        assert isinstance(order["event_time"], int)


def test_order_pipeline_enriches_routes_and_dead_letters(monkeypatch: pytest.MonkeyPatch):
    generator = OrderGenerator(seed=3, malformed_every=5)
    events = [generator.next_event(now_ms=1_764_000_000_000 + i) for i in range(100)]
    valid = [orjson.loads(e.value) for e in events if e.malformed is None]

    app, module = example_app("localhost:9092", monkeypatch)
    large_order = module["LARGE_ORDER"]
    result = app.test({INPUT_TOPIC: [e.value for e in events]})

    totals = result.outputs[TOTALS_TOPIC].sort_values("order_id")
    assert list(totals["order_id"]) == [o["order_id"] for o in valid]
    expected = [round(o["price"] * o["quantity"], 2) for o in valid]
    assert list(totals["total"]) == pytest.approx(expected)
    assert set(totals["region"]) <= {"EU", "NA", "SA", "APAC", "other"}
    large = result.outputs[LARGE_TOPIC]
    assert sorted(large["order_id"]) == [
        o["order_id"] for o in valid if round(o["price"] * o["quantity"], 2) >= large_order
    ]
    assert len(large) > 0
    dead = result.dead_letters
    assert len(dead) == 20  # every malformed event, none lost, none valid
    assert set(dead["operator"]) == {"decode orders", "timestamp orders"}


def test_example_app_runs_with_headwater_run(
    bootstrap: str,
    admin: TopicAdmin,
    produce: Callable[..., None],
    read: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
):
    app, _ = example_app(bootstrap, monkeypatch)
    admin.create([*app.input_topics, *app.output_topics])
    generator = OrderGenerator(seed=11, customers=1_000_000, malformed_every=1_000)
    events = [generator.next_event() for _ in range(30)]
    keys = {e.key.decode() for e in events}
    produce(INPUT_TOPIC, [(e.key, e.value) for e in events])

    process = start("run", str(EXAMPLE), "--broker", bootstrap)
    try:

        def ours() -> list[Any]:
            return [m for m in read(TOTALS_TOPIC) if m.key().decode() in keys]

        wait_until(lambda: len(ours()) == len(events), timeout=60, interval=0.2)
        assert all("total" in orjson.loads(m.value()) for m in ours())
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()


def broker_processes(port: int) -> list[int]:
    """Pids of Tansu brokers listening on ``port`` (read from /proc)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            program, *args = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"tansu" in program and f"tcp://127.0.0.1:{port}".encode() in args:
            pids.append(int(proc.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to find brokers")
def test_demo_shows_output_and_stops_everything_on_sigint():
    port = free_port()
    process = start("demo", "--port", str(port), "--rate", "50")
    try:
        lines = read_lines(process)
        said = read_lines(process, "stderr")

        def records() -> list[dict[str, Any]]:
            return [json.loads(line) for line in list(lines) if line.startswith("{")]

        wait_until(lambda: any(r["topic"] == TOTALS_TOPIC for r in records()), timeout=60)
        wait_until(lambda: any(r["topic"] == "orders-app.dlq" for r in records()), timeout=30)
        order = next(r for r in records() if r["topic"] == TOTALS_TOPIC)
        assert order["value"]["total"] == pytest.approx(
            round(order["value"]["price"] * order["value"]["quantity"], 2)
        )
        dead = next(r for r in records() if r["topic"] == "orders-app.dlq")
        assert dead["error"].startswith(("decode orders", "timestamp orders"))
        # Between the records, a summary of each output every few seconds.
        summary = wait_until(
            lambda: [line for line in list(said) if line.startswith("summary: ")], timeout=15
        )
        assert f"{TOTALS_TOPIC} " in summary[-1] and "/s)" in summary[-1]
        assert broker_processes(port), "the demo's broker should be running"

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert broker_processes(port) == []
        assert not accepts_connections(port)
    finally:
        process.kill()
        for pid in broker_processes(port):  # never leave a broker behind, even on failure
            os.kill(pid, signal.SIGKILL)
