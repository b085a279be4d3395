"""Keyed event-time timers live through the broker: an inactivity alert fires exactly when the
watermark passes a key's last event plus the gap, and pending timers survive a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from integration_helpers import FAST_GROUP, produce_records, running, wait_for_records

from headwater import App

pytestmark = pytest.mark.broker

GAP = 10_000


def remember(value: dict[str, Any], ctx: Any) -> None:
    old = ctx.state.get("deadline")
    if old is not None:
        ctx.timers.delete_event_time(old)
    ctx.state.set("deadline", value["ts"] + GAP)
    ctx.timers.register_event_time(value["ts"] + GAP)


def alert(key: Any, timestamp: int, ctx: Any) -> dict[str, Any]:
    ctx.state.delete("deadline")
    return {"user": key, "idle_since": timestamp - GAP}


def _send(bootstrap: str, topic: str, events: list[dict[str, Any]]) -> None:
    produce_records(
        bootstrap, topic, [(e["user"].encode(), orjson.dumps(e), None, None) for e in events]
    )


def _alerts(messages: list[Any]) -> list[tuple[str, int]]:
    values = [orjson.loads(m.value()) for m in messages]
    return [(v["user"], v["idle_since"] + GAP) for v in values]


def test_inactivity_alerts_fire_live_and_pending_timers_survive_a_restart(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str], tmp_path: Path
) -> None:
    source, name = make_topic("clicks", partitions=1), unique("idle")
    sink = f"{name}-alerts"

    def app() -> App:
        app = App(
            name,
            bootstrap,
            consumer_config=FAST_GROUP,
            commit_interval=0.3,
            max_batch_records=1,  # the watermark moves after every record
            state_dir=tmp_path / "state",
        )
        events = app.dataframe(app.topic(source, timestamp="ts", partitions=1))
        events.group_by("user").process(remember, on_timer=alert).to_topic(app.topic(sink))
        return app

    events = [{"user": "tick", "ts": t} for t in range(0, 40_001, 1_000)]
    events += [{"user": "a", "ts": t} for t in (0, 3_000, 6_000)]
    events += [{"user": "b", "ts": t} for t in (2_000, 20_000)]
    _send(bootstrap, source, sorted(events, key=lambda e: (e["ts"], e["user"])))
    with running(app()):
        found = wait_for_records(bootstrap, sink, 3, timeout=60)
    assert _alerts(found) == [("b", 12_000), ("a", 16_000), ("b", 30_000)]
    # tick's alert (due at 50 s) is pending in the store; after a restart another user's
    # record moves the watermark past it: it fires once, and the fired ones do not again.
    # The watermark (39 s, as of the last record) was persisted: d's timer (34 s) is due at
    # once after the restart, though d's own event time (24 s) is behind it.
    fired = [("b", 12_000), ("a", 16_000), ("b", 30_000), ("d", 34_000)]
    _send(bootstrap, source, [{"user": "d", "ts": 24_000}])
    with running(app()):
        assert _alerts(wait_for_records(bootstrap, sink, 4, timeout=60)) == fired
        _send(bootstrap, source, [{"user": "c", "ts": 60_000}])
        found = wait_for_records(bootstrap, sink, 5, timeout=60)
    assert _alerts(found) == [
        ("b", 12_000),
        ("a", 16_000),
        ("b", 30_000),
        ("d", 34_000),
        ("tick", 50_000),
    ]
