"""The stateless benchmark's pipeline in Quix Streams, run inside benchmarks/.peer-venv.

Arguments: bootstrap, input topic, output topic, record count, settings as JSON. Prints the
same timing JSON as the other contenders: first record processed, final checkpoint committed.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from quixstreams import Application
from quixstreams.processing.context import ProcessingContext


def main() -> None:
    bootstrap, source, sink, count, raw_settings = sys.argv[1:6]
    records = int(count)
    settings = json.loads(raw_settings)
    consumer = dict(settings["consumer"])
    offset_reset = consumer.pop("auto.offset.reset")
    consumer.pop("enable.auto.commit")  # Quix manages commits itself
    min_amount = settings["min_amount"]
    state: dict[str, Any] = {"first": 0.0, "end": 0.0, "consumed": 0, "stopping": False}

    def processed(topic: str, partition: int, offset: int) -> None:
        if not state["first"]:
            state["first"] = time.time()
        state["consumed"] += 1
        if state["consumed"] >= records and not state["stopping"]:
            state["stopping"] = True
            app.stop()

    app = Application(
        broker_address=bootstrap,
        consumer_group=f"bench-quix-{uuid.uuid4().hex[:8]}",
        auto_offset_reset=offset_reset,
        consumer_extra_config=consumer,
        producer_extra_config=dict(settings["producer"]),
        on_message_processed=processed,
        state_dir=Path(tempfile.mkdtemp(prefix="quix-state-")),
        loglevel="WARNING",
    )
    orders = app.topic(source, key_deserializer="str", value_deserializer="json")
    out = app.topic(sink, key_serializer="str", value_serializer="json")
    sdf = app.dataframe(orders)
    sdf = sdf[(sdf["status"] == "paid") & (sdf["amount"] >= min_amount)]
    sdf["amount_eur"] = sdf["amount"] * settings["eur_rate"]
    sdf.to_topic(out)

    # The final forced checkpoint flushes the producer and commits: that is the end.
    commit = ProcessingContext.commit_checkpoint

    def observed_commit(
        self: ProcessingContext, force: bool = False, revoking: bool = False
    ) -> None:
        commit(self, force=force, revoking=revoking)
        if state["stopping"] and force and not state["end"]:
            state["end"] = time.time()

    ProcessingContext.commit_checkpoint = observed_commit  # type: ignore[method-assign]
    app.run()
    report = {"first": state["first"], "end": state["end"], "consumed": state["consumed"]}
    print(json.dumps({**report, "produced": -1}), flush=True)


if __name__ == "__main__":
    main()
