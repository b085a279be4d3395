"""The stateless benchmark's Headwater contender, small, against the test broker.

Speed is not tested here: only that the benchmark runs the pipeline it claims to and that
its output is exactly the records that pass the filter, each with the assigned column.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import stateless
from _common import (
    EUR_RATE,
    create_topics,
    order_events,
    passes,
    produce_input,
    read_values,
)

pytestmark = pytest.mark.broker


def test_headwater_contender_outputs_exactly_the_filtered_records(
    bootstrap: str, unique: Callable[[str], str]
) -> None:
    events = order_events(2_000)
    source, sink = unique("bench-orders"), unique("bench-out")
    create_topics(bootstrap, [source, sink], partitions=2)
    produce_input(bootstrap, source, events)

    timing = stateless.run_headwater(bootstrap, source, sink, len(events), timeout=120)

    assert timing.consumed == len(events)
    assert 0 < timing.first <= timing.end
    kept = [v for v in (orjson.loads(value) for _, value in events) if passes(v)]
    assert 0 < len(kept) < len(events)  # the filter really filters
    out = [orjson.loads(v) for v in read_values(bootstrap, sink)]
    assert len(out) == len(kept)
    assert sorted(v["order_id"] for v in out) == sorted(v["order_id"] for v in kept)
    assert all(v["amount_eur"] == pytest.approx(v["amount"] * EUR_RATE) for v in out)
    expected = stateless.digest(kept)
    assert stateless.check_output(bootstrap, sink, expected, assigned=True) is None
