"""The live poll pauses Python's cyclic garbage collector only while it takes a batch's
messages: the pipeline's steps run with it collecting, and it collects again once the app
has stopped."""

from __future__ import annotations

import gc
from collections.abc import Callable

import polars as pl
import pytest
from integration_helpers import FAST_GROUP, produce_records, read_topic, run_bounded

from headwater import App

pytestmark = pytest.mark.broker


def test_steps_run_with_the_collector_on_and_the_poll_leaves_it_on(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str]
) -> None:
    source = make_topic("events", partitions=2)
    out = unique("seen")
    produce_records(
        bootstrap, source, [(b"k%d" % i, b'{"n": %d}' % i, None, None) for i in range(50)]
    )
    collecting: list[bool] = []

    def note(frame: pl.DataFrame) -> pl.DataFrame:
        collecting.append(gc.isenabled())
        return frame

    app = App(unique("poll-app"), bootstrap, consumer_config=FAST_GROUP)
    app.dataframe(app.topic(source, partitions=2)).map_batches(note, format="polars").to_topic(
        app.topic(out)
    )
    assert gc.isenabled()
    run_bounded(app)

    assert len(read_topic(bootstrap, out)) == 50
    assert collecting and all(collecting)
    assert gc.isenabled()
