"""``headwater demo``: a local broker, an order-event generator, the order pipeline, its output.

Everything runs in this process except the broker: the pipeline in the main thread (so it
handles Ctrl-C itself and commits before stopping), the generator and the output printer in
threads. The broker is stopped last, whatever happens, so no broker process is left behind.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from types import FrameType
from typing import Any, TextIO

from headwater.demo.generator import OrderProducer
from headwater.demo.orders import INPUT_TOPIC, build_app
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings
from headwater.kafka.tail import TailRecord, TopicTail
from headwater.kafka.tansu import TansuBroker
from headwater.runtime.emitter import DLQ_OPERATOR, DLQ_REASON


def run_demo(
    port: int | None = 9092,
    rate: float = 5.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> None:
    """Run the demo until Ctrl-C or SIGTERM; output records are printed to ``out`` as JSON lines."""
    out = out or sys.stdout
    err = err or sys.stderr
    broker = TansuBroker(port)
    producer: OrderProducer | None = None
    tail: TopicTail | None = None
    printer: threading.Thread | None = None
    restore = _terminate_as_interrupt()
    try:
        broker.start()
        settings = KafkaSettings(broker.bootstrap_servers)
        app = build_app(broker.bootstrap_servers)
        assert app.dead_letter_topic is not None
        outputs = [t.name for t in app.output_topics] + [app.dead_letter_topic.name]
        TopicAdmin(settings).create([*app.input_topics, *app.output_topics, app.dead_letter_topic])
        _banner(err, broker.bootstrap_servers, rate, outputs)
        producer = OrderProducer(settings, INPUT_TOPIC, rate, on_error=_say(err)).start()
        # The topics are new, so reading them from the beginning shows every output record.
        tail = TopicTail(settings, outputs, start="beginning", headers=True)
        printer = threading.Thread(
            target=_print_records, args=(tail, out, err), name="demo-output", daemon=True
        )
        printer.start()
        app.run()  # until Ctrl-C / SIGTERM: the runner finishes the batch and commits
    except KeyboardInterrupt:
        pass
    finally:
        restore()
        if producer is not None:
            producer.stop()
        if tail is not None:
            tail.stop()
        if printer is not None:
            printer.join(10)
        broker.stop()
        print("demo stopped", file=err, flush=True)


def demo_line(record: TailRecord) -> str:
    """An output record as a JSON line; a dead letter shows its raw value and the reason."""
    reason = record.header(DLQ_REASON)
    if reason is None:
        return replace(record, headers=None).to_json()
    error = f"{record.header(DLQ_OPERATOR)}: {reason}"
    return replace(record, headers=None, error=error).to_json()


def _print_records(tail: TopicTail, out: TextIO, err: TextIO) -> None:
    try:
        for record in tail.records():
            print(demo_line(record), file=out, flush=True)
    except Exception as exc:  # shown, not raised: the pipeline keeps running without a viewer
        print(f"headwater demo: the output viewer stopped: {exc}", file=err, flush=True)


def _banner(err: TextIO, bootstrap: str, rate: float, outputs: list[str]) -> None:
    lines = [
        f"Local broker at {bootstrap} (in memory: everything is gone when the demo stops).",
        f"Producing about {rate:g} order events/s to '{INPUT_TOPIC}', a few malformed on purpose.",
        "Pipeline 'orders-app' (examples/orders/app.py) writes: " + ", ".join(outputs) + ".",
        f"In another terminal: headwater tail {INPUT_TOPIC} --broker {bootstrap}",
        "Output records follow as JSON lines; dead letters carry an 'error'. Ctrl-C stops.",
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
