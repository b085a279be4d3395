"""The stateful benchmark's pipeline in Quix Streams, run inside benchmarks/.peer-venv.

A running count and sum per key with a stateful ``apply`` (RocksDB state with changelog
topics, Quix's defaults), every update written to the output topic.

Arguments: bootstrap, input topic, output topic, record count, settings as JSON (``consumer``,
``producer``, ``guarantee``: "at-least-once" or "exactly-once", ``commit_interval``). Prints
the same timing JSON as the other contenders: first record processed, final checkpoint
committed.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from quixstreams import Application, State
from quixstreams.processing.context import ProcessingContext


def running_totals(value: dict[str, Any], state: State) -> dict[str, Any]:
    """The same work as the Headwater contender: one read and one write per name."""
    count = state.get("count", 0) + 1
    total = state.get("sum", 0) + value["amount"]
    state.set("count", count)
    state.set("sum", total)
    return {"key": value["key"], "count": count, "sum": total}


def main() -> None:
    bootstrap, source, sink, count, raw_settings = sys.argv[1:6]
    records = int(count)
    settings = json.loads(raw_settings)
    consumer = dict(settings["consumer"])
    offset_reset = consumer.pop("auto.offset.reset")
    consumer.pop("enable.auto.commit")  # Quix manages commits itself
    state: dict[str, Any] = {"first": 0.0, "end": 0.0, "consumed": 0, "stopping": False}

    def processed(topic: str, partition: int, offset: int) -> None:
        if not state["first"]:
            state["first"] = time.time()
        state["consumed"] += 1
        if state["consumed"] >= records and not state["stopping"]:
            state["stopping"] = True
            app.stop()

    state_dir = Path(tempfile.mkdtemp(prefix="quix-state-"))
    app = Application(
        broker_address=bootstrap,
        consumer_group=f"bench-quix-stateful-{uuid.uuid4().hex[:8]}",
        auto_offset_reset=offset_reset,
        commit_interval=settings["commit_interval"],
        consumer_extra_config=consumer,
        producer_extra_config=dict(settings["producer"]),
        on_message_processed=processed,
        state_dir=state_dir,
        processing_guarantee=settings["guarantee"],
        loglevel="WARNING",
    )
    events = app.topic(source, key_deserializer="str", value_deserializer="json")
    out = app.topic(sink, key_serializer="str", value_serializer="json")
    sdf = app.dataframe(events)
    sdf = sdf.apply(running_totals, stateful=True)
    sdf.to_topic(out)

    # The final forced checkpoint flushes the producer, the changelogs and commits (under
    # exactly-once: commits the transaction): that is the end.
    commit = ProcessingContext.commit_checkpoint

    def observed_commit(
        self: ProcessingContext, force: bool = False, revoking: bool = False
    ) -> None:
        commit(self, force=force, revoking=revoking)
        if state["stopping"] and force and not state["end"]:
            state["end"] = time.time()

    ProcessingContext.commit_checkpoint = observed_commit  # type: ignore[method-assign]
    try:
        app.run()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    report = {"first": state["first"], "end": state["end"], "consumed": state["consumed"]}
    print(json.dumps({**report, "produced": -1}), flush=True)


if __name__ == "__main__":
    main()
