"""The contender code the benchmarks share: confluent-kafka by hand, and a timed Headwater app.

Each benchmark's ``--contender`` mode calls these in a process of its own.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import CONSUMER, PRODUCER, Timing
from confluent_kafka import Consumer, Producer

CONSUME_BATCH = 10_000


def run_raw(
    bootstrap: str,
    source: str,
    sink: str,
    records: int,
    transform: Callable[[bytes], bytes | None] | None = None,
    timeout: float = 600.0,
) -> Timing:
    """confluent-kafka by hand: copy each value's bytes, or write ``transform(value)`` (nothing
    where it returns None)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}",
            **CONSUMER,
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER})
    consumer.subscribe(source.split(","))  # several inputs: "a,b"
    produce = producer.produce
    first = 0.0
    consumed = produced = 0
    deadline = time.monotonic() + timeout
    while consumed < records:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {consumed} of {records} records arrived in {timeout} s")
        messages = consumer.consume(CONSUME_BATCH, timeout=0.1)
        if not messages:
            continue
        if not first:
            first = time.time()
        for m in messages:
            if m.error() is not None:
                continue
            consumed += 1
            value = m.value()
            if transform is not None:
                value = transform(value)  # type: ignore[arg-type]
                if value is None:
                    continue
            while True:
                try:
                    produce(sink, value, m.key(), timestamp=m.timestamp()[1])
                    break
                except BufferError:
                    producer.poll(0.05)
            produced += 1
        producer.poll(0)
    if producer.flush(60):
        raise RuntimeError("outputs were not acknowledged within 60 s")
    consumer.commit(asynchronous=False)
    end = time.time()
    consumer.close()
    return Timing(first, end, consumed, produced)


def run_headwater_app(
    name: str,
    build: Callable[[Any, str, str], None],
    bootstrap: str,
    source: str,
    sink: str,
    records: int,
    timeout: float = 600.0,
    **options: Any,
) -> Timing:
    """A Headwater app with the shared client settings, a fresh state directory and
    ``options``, its pipeline made by ``build(app, source, sink)``; stops once ``records``
    inputs went through it, timed from its first batch to its final checkpoint."""
    from headwater import App
    from headwater.runtime.commit.checkpoint import Checkpoint
    from headwater.runtime.loop.executor import Executor

    state_dir = Path(tempfile.mkdtemp(prefix="hw-bench-state-"))
    app = App(
        f"bench-{name}-{uuid.uuid4().hex[:8]}",
        broker=bootstrap,
        consumer_config=dict(CONSUMER),
        producer_config=dict(PRODUCER),
        state_dir=state_dir,
        **options,
    )
    build(app, source, sink)

    # Observe the run from outside: the first batch, the input count, the final checkpoint
    # (at-least-once: Checkpoint.commit; exactly-once: its transactional subclass's commit).
    observed: dict[str, Any] = {"first": 0.0, "end": 0.0, "consumed": 0, "stopping": False}
    process = Executor.process
    commits = {cls: cls.commit for cls in (Checkpoint, *_subclasses(Checkpoint))}

    def observed_process(executor: Executor, batch: Any) -> None:
        if not observed["first"]:
            observed["first"] = time.time()
        process(executor, batch)
        observed["consumed"] += len(batch)
        if observed["consumed"] >= records and not observed["stopping"]:
            observed["stopping"] = True
            app.stop()

    def observing(commit: Callable[..., Any]) -> Callable[..., Any]:
        def observed_commit(checkpoint: Checkpoint, *args: Any, **kwargs: Any) -> Any:
            result = commit(checkpoint, *args, **kwargs)
            if observed["stopping"] and not observed["end"]:
                observed["end"] = time.time()  # outputs, changelogs and offsets committed
            return result

        return observed_commit

    Executor.process = observed_process  # type: ignore[method-assign]
    for cls, commit in commits.items():
        cls.commit = observing(commit)  # type: ignore[method-assign]
    watchdog = threading.Timer(timeout, app.stop)  # a stuck run ends, and reports too few
    watchdog.start()
    try:
        app.run()
    finally:
        watchdog.cancel()
        Executor.process = process  # type: ignore[method-assign]
        for cls, commit in commits.items():
            cls.commit = commit  # type: ignore[method-assign]
        shutil.rmtree(state_dir, ignore_errors=True)
    return Timing(observed["first"], observed["end"], observed["consumed"], -1)


def _subclasses(cls: type) -> list[type]:
    """Every subclass of ``cls`` (the checkpoint variants), imported or not yet."""
    import headwater.runtime.loop.runner  # noqa: F401  (imports every checkpoint kind)

    found: list[type] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
