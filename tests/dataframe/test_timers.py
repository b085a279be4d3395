"""Keyed process functions with timers, in-process: an inactivity alert fires exactly when
the watermark passes a key's last event plus the gap; failures become dead letters."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from headwater import App
from headwater.errors import ConfigError
from headwater.runtime.operators.timers import DueTimers, ProcessContext
from headwater.runtime.time.watermark import MAX_TIME
from headwater.state import PartitionStore

GAP = 10_000


def remember(value: dict[str, Any], ctx: ProcessContext) -> None:
    """Each event moves the key's alert to GAP after it."""
    old = ctx.state.get("deadline")
    if old is not None:
        ctx.timers.delete_event_time(old)
    ctx.state.set("deadline", value["ts"] + GAP)
    ctx.timers.register_event_time(value["ts"] + GAP)


def alert(key: Any, timestamp: int, ctx: ProcessContext) -> dict[str, Any]:
    ctx.state.delete("deadline")
    return {"user": key, "idle_since": timestamp - GAP, "watermark": ctx.watermark}


def inactivity_events() -> list[dict[str, Any]]:
    """``tick`` every second keeps event time moving; ``a`` goes quiet after 6 s; ``b`` is
    quiet from 2 s to 20 s, then again."""
    events = [{"user": "tick", "ts": t} for t in range(0, 40_001, 1_000)]
    events += [{"user": "a", "ts": t} for t in (0, 3_000, 6_000)]
    events += [{"user": "b", "ts": t} for t in (2_000, 20_000)]
    return sorted(events, key=lambda e: (e["ts"], e["user"]))


# Alerts (user, when it fires = its timer) in the order the watermark passes them; tick's
# last one fires when the input ends (the watermark goes to the end of time, as in Flink).
EXPECTED = [("b", 12_000), ("a", 16_000), ("b", 30_000), ("tick", 50_000)]


def inactivity_app(name: str, **kwargs: Any) -> tuple[App, Any]:
    app = App(name, max_batch_records=1, **kwargs)
    events = app.dataframe(app.topic("clicks", timestamp="ts"))
    alerts = events.group_by("user").process(remember, on_timer=alert)
    return app, alerts


def test_an_inactivity_alert_fires_exactly_when_the_watermark_passes_the_gap() -> None:
    _, alerts = inactivity_app("idle")
    out = alerts.test(inactivity_events())
    got = list(zip(out["user"], out["_timestamp"], strict=True))
    assert got == EXPECTED
    assert list(out["idle_since"]) == [t - GAP for _, t in EXPECTED]
    assert list(out["_key"]) == [u for u, _ in EXPECTED]
    # Each fired while the watermark had just reached it (one record per batch, bound 0);
    # tick's fired at the end of the input.
    assert list(out["watermark"])[:3] == [12_000, 16_000, 30_000]


def test_records_pass_through_and_timers_can_be_registered_again_in_on_timer() -> None:
    app = App("again", max_batch_records=1)
    events = app.dataframe(app.topic("clicks", timestamp="ts"))

    def first(value: dict[str, Any], ctx: ProcessContext) -> dict[str, Any]:
        if not ctx.timers.event_timers():
            ctx.timers.register_event_time(ctx.timestamp + 1_000)
        return {"seen": value["ts"]}

    def every_second(key: Any, timestamp: int, ctx: ProcessContext) -> list[dict[str, Any]]:
        if timestamp < 3_000:
            ctx.timers.register_event_time(timestamp + 1_000)
        return [{"fired": timestamp}]

    out = events.group_by("user").process(first, on_timer=every_second)
    result = out.test([{"user": "u", "ts": t} for t in range(0, 2_501, 500)])
    assert result["seen"].dropna().tolist() == [0, 500, 1_000, 1_500, 2_000, 2_500]
    assert result["fired"].dropna().tolist() == [1_000, 2_000, 3_000]


def test_a_failing_on_timer_is_a_dead_letter_naming_key_and_time() -> None:
    app = App("boom", max_batch_records=1)
    events = app.dataframe(app.topic("clicks", timestamp="ts"))

    def register(value: dict[str, Any], ctx: ProcessContext) -> None:
        ctx.timers.register_event_time(value["ts"] + 100)

    def broken(key: Any, timestamp: int, ctx: ProcessContext) -> dict[str, Any]:
        if key == "bad":
            raise RuntimeError("no alert for you")
        return {"user": key}

    out = events.group_by("user").process(register, on_timer=broken)
    result = out.test([{"user": "bad", "ts": 0}, {"user": "good", "ts": 50}])
    assert result["user"].tolist() == ["good"]
    dead = result.attrs["dead_letters"]
    assert len(dead) == 1
    reason = dead["reason"].iloc[0]
    assert "'bad'" in reason and "event-time timer 100" in reason and "no alert for you" in reason
    assert dead["operator"].iloc[0].startswith("process(")


def test_bad_arguments_are_refused_clearly() -> None:
    app = App("bad")
    grouped = app.dataframe(app.topic("clicks")).group_by("user")
    with pytest.raises(ConfigError, match="on_timer"):
        grouped.process(remember, on_timer="alert")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs a function, got int"):
        grouped.process(42)  # type: ignore[arg-type]


def test_a_timestamp_that_is_not_an_int_is_a_dead_letter() -> None:
    app = App("badts", max_batch_records=1)
    events = app.dataframe(app.topic("clicks", timestamp="ts"))

    def register(value: dict[str, Any], ctx: ProcessContext) -> None:
        ctx.timers.register_event_time("soon")  # type: ignore[arg-type]

    out = events.group_by("user").process(register, on_timer=alert)
    result = out.test([{"user": "x", "ts": 0}])
    assert result.empty
    assert "epoch milliseconds" in result.attrs["dead_letters"]["reason"].iloc[0]


def test_processing_time_timers_fire_with_the_wall_clock() -> None:
    app = App("wall", max_batch_records=1)
    events = app.dataframe(app.topic("clicks", timestamp="ts"))

    def register(value: dict[str, Any], ctx: ProcessContext) -> None:
        now = int(time.time() * 1000)
        ctx.timers.register_processing_time(now - 1)  # due: fires after this batch
        ctx.timers.register_processing_time(now + 3_600_000)  # in an hour: not in this test

    def fired(key: Any, timestamp: int, ctx: ProcessContext) -> dict[str, Any]:
        return {"user": key, "pending": ctx.timers.processing_timers()}

    out = events.group_by("user").process(register, on_timer=fired)
    result = out.test([{"user": "x", "ts": 0}])
    assert result["user"].tolist() == ["x"]
    assert len(result["pending"].iloc[0]) == 1  # the hour-away timer, still registered


def test_due_timers_are_found_by_time_and_stale_times_are_dropped(tmp_path: Path) -> None:
    store = PartitionStore(tmp_path / "timers", "timers", "clicks", 0)
    try:
        index = DueTimers(store)
        store.attach(index)
        never = MAX_TIME
        index.set(b"a", (30, never))
        index.set(b"b", (10, never))
        index.set(b"c", (never, 5))  # a processing-time timer
        assert index.due(watermark=20, now_ms=0) == [b"b"]
        assert index.due(watermark=20, now_ms=0) == [b"b"]  # due until its timers change
        index.set(b"b", (40, never))  # b's timer moved on: its old time is stale
        assert not index.any_due(watermark=20, now_ms=0)
        assert index.due(watermark=35, now_ms=5) == [b"a", b"c"]
        index.remove(b"a")
        assert index.due(watermark=45, now_ms=0) == [b"b"]
        # The watermark is written at a checkpoint, and read back by a new index.
        index.advance(45)
        store.persist(input_offset=1, changelog_offset=None)
        assert DueTimers(store).watermark == 45
    finally:
        store.close()
