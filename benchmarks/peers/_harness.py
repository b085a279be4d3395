"""What every Quix Streams runner shares: its arguments, the app, the topics and the timing.

Runs inside benchmarks/.peer-venv, so it imports only the standard library and Quix Streams.
The runners are started as scripts from this directory, which puts it on ``sys.path``.

Arguments: bootstrap, input topic (or several, comma-separated: the pipeline gets the first
one's dataframe, and every input's in the settings as ``inputs``), output topic, record count,
settings as JSON (``consumer``, ``producer``, and optionally ``commit_interval`` and
``guarantee``: "at-least-once" or "exactly-once", given to the app when present). Prints the
same timing JSON as the other contenders: first record processed, final checkpoint committed.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from quixstreams import Application
from quixstreams.dataframe import StreamingDataFrame
from quixstreams.processing.context import ProcessingContext

# The runner's pipeline: the input dataframe and the settings in, the dataframe to write out.
Pipeline = Callable[[StreamingDataFrame, dict[str, Any]], StreamingDataFrame]


def run(name: str, pipeline: Pipeline, **input_options: Any) -> None:
    """Run ``pipeline`` from the input topic to the output topic until the record count went
    through it, then print the timing. ``input_options`` go to the input topic."""
    bootstrap, source, sink, count, raw_settings = sys.argv[1:6]
    records = int(count)
    settings = json.loads(raw_settings)
    consumer = dict(settings["consumer"])
    offset_reset = consumer.pop("auto.offset.reset")
    consumer.pop("enable.auto.commit")  # Quix manages commits itself
    options: dict[str, Any] = {}
    if "commit_interval" in settings:
        options["commit_interval"] = settings["commit_interval"]
    if "guarantee" in settings:
        options["processing_guarantee"] = settings["guarantee"]
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
        consumer_group=f"bench-quix-{name}-{uuid.uuid4().hex[:8]}",
        auto_offset_reset=offset_reset,
        consumer_extra_config=consumer,
        producer_extra_config=dict(settings["producer"]),
        on_message_processed=processed,
        state_dir=state_dir,
        loglevel="WARNING",
        **options,
    )
    inputs = [
        app.dataframe(
            app.topic(name, key_deserializer="str", value_deserializer="json", **input_options)
        )
        for name in source.split(",")
    ]
    out = app.topic(sink, key_serializer="str", value_serializer="json")
    pipeline(inputs[0], {**settings, "inputs": inputs}).to_topic(out)

    # The final forced checkpoint flushes the producer and any changelogs and commits (under
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
