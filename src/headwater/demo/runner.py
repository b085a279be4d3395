"""``headwater demo``: a local broker, an order-event generator, the order pipeline, its output.

The pipeline is ``examples/orders/app.py``, shipped in this package as ``orders_app.py`` (a link
to it), run as ``headwater run`` would run it. Everything runs in this process except the
broker: the pipeline in the main thread (so it handles Ctrl-C itself and commits before
stopping), the generator, the output printer and a summary every few seconds in threads. The
broker is stopped last, whatever happens, so no broker process is left behind.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from headwater.app import App
from headwater.demo.generator import OrderProducer
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import BROKER_ENV, KafkaSettings
from headwater.kafka.tail import TailRecord, TopicTail
from headwater.kafka.tansu import TansuBroker
from headwater.runtime.loop.emitter import DLQ_OPERATOR, DLQ_REASON

EXAMPLE = Path(__file__).resolve().parent / "orders_app.py"
SUMMARY_SECONDS = 5.0


def load_example(bootstrap: str) -> App:
    """The example pipeline's ``app``, on ``bootstrap``, loaded as ``headwater run`` loads it."""
    os.environ[BROKER_ENV] = bootstrap  # read when the example makes its App
    app = runpy.run_path(str(EXAMPLE), run_name="__headwater_app__")["app"]
    assert isinstance(app, App), f"{EXAMPLE} must define `app`"
    return app


def run_demo(
    port: int | None = 9092,
    rate: float = 5.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
    summary_seconds: float = SUMMARY_SECONDS,
) -> None:
    """Run the demo until Ctrl-C or SIGTERM; output records are printed to ``out`` as JSON
    lines, and a summary line (counts and rates per output) to ``err`` every few seconds."""
    out = out or sys.stdout
    err = err or sys.stderr
    broker = TansuBroker(port)
    producer: OrderProducer | None = None
    tail: TopicTail | None = None
    threads: list[threading.Thread] = []
    stopped = threading.Event()
    restore = _terminate_as_interrupt()
    try:
        broker.start()
        settings = KafkaSettings(broker.bootstrap_servers)
        app = load_example(broker.bootstrap_servers)
        assert app.dead_letter_topic is not None
        source = app.input_topics[0].name
        outputs = [t.name for t in app.output_topics] + [app.dead_letter_topic.name]
        TopicAdmin(settings).create([*app.input_topics, *app.output_topics, app.dead_letter_topic])
        _banner(err, broker.bootstrap_servers, rate, source, outputs)
        producer = OrderProducer(settings, source, rate, on_error=_say(err)).start()
        # The topics are new, so reading them from the beginning shows every output record.
        tail = TopicTail(settings, outputs, start="beginning", headers=True)
        # Every key there from the start: the summary copies it while the printer counts.
        counts: Counter[str] = Counter(dict.fromkeys(outputs, 0))
        threads = [
            threading.Thread(
                target=_print_records, args=(tail, out, err, counts), name="demo-output"
            ),
            threading.Thread(
                target=_summarise,
                args=(counts, outputs, err, summary_seconds, stopped),
                name="demo-summary",
            ),
        ]
        for thread in threads:
            thread.daemon = True
            thread.start()
        app.run()  # until Ctrl-C / SIGTERM: the runner finishes the batch and commits
    except KeyboardInterrupt:
        pass
    finally:
        restore()
        stopped.set()
        if producer is not None:
            producer.stop()
        if tail is not None:
            tail.stop()
        for thread in threads:
            thread.join(10)
        broker.stop()
        print("demo stopped", file=err, flush=True)


def summary_line(
    counts: Counter[str], previous: Counter[str], seconds: float, topics: list[str]
) -> str:
    """``summary: order-totals 120 (4.8/s) · large-orders 9 (0.4/s) · ...``: the records of each
    output so far, and their rate over the last ``seconds``."""
    parts = [
        f"{topic} {counts[topic]} ({(counts[topic] - previous[topic]) / seconds:.1f}/s)"
        for topic in topics
    ]
    return "summary: " + " · ".join(parts)


def _summarise(
    counts: Counter[str], topics: list[str], err: TextIO, seconds: float, stopped: threading.Event
) -> None:
    previous: Counter[str] = Counter()
    last = time.monotonic()
    while not stopped.wait(seconds):
        now = time.monotonic()
        current = counts.copy()
        print(summary_line(current, previous, now - last, topics), file=err, flush=True)
        previous, last = current, now


def demo_line(record: TailRecord) -> str:
    """An output record as a JSON line; a dead letter shows its raw value and the reason."""
    reason = record.header(DLQ_REASON)
    if reason is None:
        return replace(record, headers=None).to_json()
    error = f"{record.header(DLQ_OPERATOR)}: {reason}"
    return replace(record, headers=None, error=error).to_json()


def _print_records(tail: TopicTail, out: TextIO, err: TextIO, counts: Counter[str]) -> None:
    try:
        for record in tail.records():
            print(demo_line(record), file=out, flush=True)
            counts[record.topic] += 1
    except Exception as exc:  # shown, not raised: the pipeline keeps running without a viewer
        print(f"headwater demo: the output viewer stopped: {exc}", file=err, flush=True)


def _banner(err: TextIO, bootstrap: str, rate: float, source: str, outputs: list[str]) -> None:
    lines = [
        f"Local broker at {bootstrap} (in memory: everything is gone when the demo stops).",
        f"Producing about {rate:g} order events/s to '{source}', a few malformed on purpose.",
        "Pipeline 'orders-app' (examples/orders/app.py) writes: " + ", ".join(outputs) + ".",
        f"In another terminal: headwater tail {source} --broker {bootstrap}",
        "Output records follow as JSON lines; dead letters carry an 'error'; a summary line",
        f"every {SUMMARY_SECONDS:g} s counts each output. Ctrl-C stops.",
    ]
    print("\n".join(lines), file=err, flush=True)


def _say(err: TextIO) -> Callable[[str], None]:
    return lambda message: print(f"headwater demo: {message}", file=err, flush=True)


def _terminate_as_interrupt() -> Callable[[], None]:
    """Make SIGTERM act like Ctrl-C so the cleanup in ``finally`` runs; returns an undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)

    def interrupt(signum: int, frame: FrameType | None) -> Any:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore
