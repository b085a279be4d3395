"""The windows benchmark's pipeline in Quix Streams, run inside benchmarks/.peer-venv.

A tumbling 10 s event-time window per key (the message key) with a count, sum and mean of
``amount``, emitted when the window closes (``.final()``). Event time is the value's ``ts``
field, as in the Headwater contender. Windows close per partition (``closing_strategy=
"partition"``): the latest event time of the partition passing the window's end, which is what
Headwater's watermark does with no out-of-orderness bound. The key is put into each result so
the harness can check it.

Arguments: bootstrap, input topic, output topic, record count, settings as JSON (``consumer``,
``producer``, ``commit_interval``, ``window_ms``). Prints the same timing JSON as the other
contenders: first record processed, final checkpoint committed.
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

from quixstreams import Application
from quixstreams.dataframe.windows import Count, Mean, Sum
from quixstreams.processing.context import ProcessingContext


def event_time(value: Any, headers: Any, timestamp: float, timestamp_type: Any) -> int:
    return int(value["ts"])


def with_key(value: dict[str, Any], key: Any, timestamp: int, headers: Any) -> dict[str, Any]:
    return {"key": key, **value}


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
        consumer_group=f"bench-quix-windows-{uuid.uuid4().hex[:8]}",
        auto_offset_reset=offset_reset,
        commit_interval=settings["commit_interval"],
        consumer_extra_config=consumer,
        producer_extra_config=dict(settings["producer"]),
        on_message_processed=processed,
        state_dir=state_dir,
        loglevel="WARNING",
    )
    events = app.topic(
        source, key_deserializer="str", value_deserializer="json", timestamp_extractor=event_time
    )
    out = app.topic(sink, key_serializer="str", value_serializer="json")
    sdf = app.dataframe(events)
    sdf = sdf.tumbling_window(settings["window_ms"]).agg(
        count=Count(), sum=Sum("amount"), mean=Mean("amount")
    )
    sdf = sdf.final(closing_strategy="partition")
    sdf = sdf.apply(with_key, metadata=True)
    sdf.to_topic(out)

    # The final forced checkpoint flushes the producer, the changelogs and commits: the end.
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
