"""Watermarks: per partition, minimum over partitions, idleness, quiet advance, markers."""

from __future__ import annotations

from datetime import timedelta

import orjson
import polars as pl
import pytest

from headwater import App, ConfigError, agg, windows
from headwater.runtime.time.watermark import (
    MIN_TIME,
    MarkerTable,
    WatermarkConfig,
    WatermarkTracker,
    combine,
    duration_ms,
    encode_marker,
)


def observe(tracker: WatermarkTracker, partition: int, ts: int, now: float) -> None:
    tracker.observe(pl.Series([partition]), pl.Series([ts]), now)


def test_durations_are_timedeltas_or_text() -> None:
    assert duration_ms(timedelta(seconds=1.5), "x") == 1_500
    assert [duration_ms(t, "x") for t in ("250ms", "5s", "2m", "1h", "1d")] == [
        250,
        5_000,
        120_000,
        3_600_000,
        86_400_000,
    ]
    with pytest.raises(ConfigError, match=r"size='5 parsecs' is not a duration"):
        duration_ms("5 parsecs", "size")
    with pytest.raises(ConfigError, match="must be > 0"):
        duration_ms("0s", "size", zero=False)


def test_the_watermark_is_the_slowest_partition_minus_the_bound_and_never_goes_back() -> None:
    tracker = WatermarkTracker(WatermarkConfig(max_out_of_orderness_ms=1_000))
    tracker.assign(0, now=0.0)
    tracker.assign(1, now=0.0)
    observe(tracker, 0, 10_000, now=1.0)
    assert tracker.watermark(now=1.0) == MIN_TIME  # partition 1 has not been read yet
    observe(tracker, 1, 5_000, now=1.0)
    assert tracker.watermark(now=1.0) == 4_000
    observe(tracker, 1, 3_000, now=1.0)  # out of order: the maximum stays
    assert tracker.watermark(now=1.0) == 4_000
    tracker.forget(1)  # revoked: no longer holds the others back
    assert tracker.watermark(now=1.0) == 9_000
    observe(tracker, 1, 100, now=1.0)  # taken on again, far behind: the watermark holds
    assert tracker.watermark(now=1.0) == 9_000


def test_an_idle_partition_stops_counting_until_it_has_records_again() -> None:
    tracker = WatermarkTracker(WatermarkConfig(idle_timeout=5.0))
    observe(tracker, 0, 1_000, now=0.0)
    observe(tracker, 1, 50_000, now=0.0)
    assert tracker.watermark(now=4.0) == 1_000
    observe(tracker, 1, 60_000, now=5.5)
    assert tracker.watermark(now=5.5) == 60_000  # partition 0 silent for 5.5 s: idle
    observe(tracker, 0, 2_000, now=6.0)
    assert tracker.partition_watermarks(now=6.0) == {0: (2_000, False), 1: (60_000, False)}
    assert tracker.watermark(now=6.0) == 60_000  # back, but the watermark never regresses


def test_when_every_partition_is_idle_the_watermark_is_the_largest_of_theirs() -> None:
    # Partition 1 went silent behind partition 0, then partition 0 went silent too: the
    # windows partition 0 passed close (Flink's rule), though partition 1 never caught up.
    tracker = WatermarkTracker(WatermarkConfig(idle_timeout=1.0))
    observe(tracker, 0, 2_500, now=0.0)
    observe(tracker, 1, 0, now=0.0)
    assert tracker.watermark(now=0.5) == 0
    assert tracker.watermark(now=1.5) == 2_500
    assert combine([(100, True), (300, True), (200, True)]) == 300
    assert combine([(100, False), (300, True)]) == 100


def test_a_quiet_input_follows_the_wall_clock_only_when_asked() -> None:
    quiet = WatermarkTracker(WatermarkConfig(max_out_of_orderness_ms=500, quiet_after=2.0))
    observe(quiet, 0, 10_000, now=0.0)
    assert quiet.watermark(now=1.9) == 9_500
    assert quiet.watermark(now=3.0) == 9_500 + 3_000
    still = WatermarkTracker(WatermarkConfig(max_out_of_orderness_ms=500))
    observe(still, 0, 10_000, now=0.0)
    assert still.watermark(now=100.0) == 9_500


def test_markers_give_the_minimum_over_every_upstream_partition() -> None:
    table = MarkerTable()
    assert table.watermark(0) == MIN_TIME
    table.update(0, encode_marker(0, 3, 5_000, idle=False))
    table.update(0, encode_marker(1, 3, 7_000, idle=False))
    assert table.watermark(0) == MIN_TIME  # upstream partition 2 not heard from
    table.update(0, encode_marker(2, 3, 9_000, idle=True))
    assert table.watermark(0) == 5_000  # idle ones do not count
    table.update(0, encode_marker(0, 3, 4_000, idle=False))  # a restarted upstream: no regress
    table.update(0, encode_marker(1, 3, 8_000, idle=False))
    assert table.watermark(0) == 5_000
    assert table.watermark(1) == MIN_TIME  # per repartition partition
    assert orjson.loads(encode_marker(2, 3, 9, idle=True)) == {
        "from": 2,
        "of": 3,
        "watermark": 9,
        "idle": True,
    }


def test_markers_reach_the_repartitioned_window_and_never_its_functions() -> None:
    app = App("markers", max_batch_records=2)
    orders = app.dataframe(app.topic("orders", timestamp="ts", partitions=3))
    grouped = orders.group_by("customer")
    seen: list[dict[str, object]] = []
    grouped.window(windows.tumbling("1s")).agg(n=agg.count()).update(seen.append)
    result = app.test({"orders": [{"customer": c, "ts": t} for c, t in [("a", 1), ("b", 2)]]})
    assert result.dead_letters.empty
    assert sorted((r["customer"], r["n"]) for r in seen) == [("a", 1), ("b", 1)]
