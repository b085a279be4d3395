"""Inside a deployment's app: its replicas' busy time, checkpoints, watermarks, state, late
records and dead letters, sampled into the platform's hour of metrics and served with its steps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from deploy_helpers import add_cluster, waiting
from inside_app import click_feeder, deploy_inside_app
from platform_server import LiveServer

from headwater.kafka.admin import TopicAdmin
from headwater.platform.metrics import AppInside, MetricsStore
from headwater.platform.metrics.replica import ReplicaMetrics, StepFigures, parse_replica


def _replica(
    busy: float, idle: float, checkpoints: int = 0, seconds: float = 0.0, **steps: StepFigures
) -> ReplicaMetrics:
    return ReplicaMetrics(
        steps=dict(steps),
        busy_seconds=busy,
        idle_seconds=idle,
        checkpoints=checkpoints,
        checkpoint_seconds=seconds,
        checkpoint_offsets=2 * checkpoints,
    )


def test_ratios_and_checkpoints_count_what_replicas_did_since_the_last_sample() -> None:
    inside = AppInside(MetricsStore())
    base = time.time()  # the store keeps the last hour
    slow = StepFigures(busy_seconds=1.0, watermark=10_000, state_entries=5, late_records=0)
    inside.observe(1, {"a": _replica(1, 1, 1, 0.1, n1=slow)}, at=base)
    assert inside.busy_ratio(1) is None and inside.checkpoints(1) == []  # first sight: no delta
    slow = StepFigures(busy_seconds=4.5, watermark=12_000, state_entries=7, late_records=3)
    other = StepFigures(busy_seconds=2.0, watermark=11_000, state_entries=1, late_records=1)
    inside.observe(
        1,
        {"a": _replica(5, 2, 3, 0.5, n1=slow), "b": _replica(9, 9, 1, 0.2, n1=other)},
        at=base + 5,
    )
    # Only a counted: 4 s busy, 1 s idle; its step worked 3.5 s of them.
    assert inside.busy_ratio(1) == pytest.approx(0.8)
    step = inside.steps(1)["n1"]
    assert step.busy_ratio == pytest.approx(0.7)
    assert step.watermark == 11_000  # the least over replicas
    assert step.watermark_lag_seconds == pytest.approx(base + 5 - 11.0)
    assert (step.state_entries, step.late_records) == (8, 4)
    [point] = inside.checkpoints(1)
    assert (point.at, point.checkpoints, point.offsets) == (base + 5, 2, 4)
    assert point.mean_seconds == pytest.approx(0.2)  # (0.5 - 0.1) / 2
    # b restarted: its counters start again from zero and count whole.
    inside.observe(
        1,
        {"a": _replica(5, 2, 3, 0.5, n1=slow), "b": _replica(1, 3, 1, 0.1, n1=other)},
        at=base + 10,
    )
    assert inside.busy_ratio(1) == pytest.approx(0.25)
    assert [p.checkpoints for p in inside.checkpoints(1)] == [2]  # none in this sample
    assert [r for _, r in inside.busy_history(1)] == pytest.approx([0.8, 0.25])
    inside.keep_only(set())  # no live replica: no latest figures, the hour's series stay
    assert inside.steps(1) == {} and inside.busy_ratio(1) is None
    assert len(inside.checkpoints(1)) == 1


def test_a_replicas_scrape_is_parsed_from_prometheus_text() -> None:
    text = (
        "# HELP headwater_step_busy_seconds_total x\n"
        "# TYPE headwater_step_busy_seconds_total counter\n"
        'headwater_step_busy_seconds_total{step="n1"} 2.5\n'
        "# HELP headwater_checkpoints_total x\n"
        "# TYPE headwater_checkpoints_total counter\n"
        "headwater_checkpoints_total 3.0\n"
        "# HELP headwater_step_watermark_milliseconds x\n"
        "# TYPE headwater_step_watermark_milliseconds gauge\n"
        'headwater_step_watermark_milliseconds{step="n1"} 1.7e+12\n'
    )
    found = parse_replica(text)
    assert found.checkpoints == 3.0
    assert found.steps["n1"].busy_seconds == 2.5 and found.steps["n1"].watermark == 1.7e12
    assert found.steps["n1"].state_entries is None  # not reported: stateless
    with pytest.raises(ValueError):
        parse_replica("not { prometheus")


def test_a_running_app_shows_its_slow_step_busy_its_watermark_moving_and_its_checkpoints(
    live: LiveServer, bootstrap: str, admin: TopicAdmin, produce: Callable[..., None]
) -> None:
    cluster = add_cluster(live, bootstrap)
    with live.client("editor") as editor:
        deployed = deploy_inside_app(editor, admin, cluster)
    ident = deployed.deployment
    feed = click_feeder(produce, deployed.clicks)

    def inside() -> dict[str, Any]:
        with live.client("viewer") as viewer:
            response = viewer.get(f"/api/deployments/{ident}/steps")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def measured() -> dict[str, Any] | None:
        feed()
        body = inside()
        kinds = {s["kind"]: s for s in body["steps"]}
        slow = kinds.get("map_batches")
        window = kinds.get("window")
        done = [p for p in body["checkpoints"] if p["mean_seconds"] is not None]
        if not (slow and window and done and slow["busy_ratio"] is not None):
            return None
        if window["watermark"] is None or slow["busy_ratio"] < 0.5:
            return None
        return body

    try:
        body = waiting(live, ident, measured, timeout=120)
        kinds = {s["kind"]: s for s in body["steps"]}
        # The slow step holds the loop: the app is busy, and the time is that step's.
        assert body["busy_ratio"] >= 0.5
        assert kinds["to_topic"]["busy_ratio"] < kinds["map_batches"]["busy_ratio"]
        checkpoint = next(p for p in body["checkpoints"] if p["mean_seconds"] is not None)
        assert checkpoint["mean_seconds"] > 0 and checkpoint["offsets"] >= 1
        assert kinds["window"]["state_entries"] is not None
        assert kinds["window"]["watermark_lag_seconds"] < 60
        assert kinds["map_batches"]["watermark"] == kinds["window"]["watermark"]
        first = kinds["window"]["watermark"]

        def advanced() -> int | None:
            feed()
            mark = {s["kind"]: s for s in inside()["steps"]}["window"]["watermark"]
            return mark if mark is not None and mark > first else None

        assert waiting(live, ident, advanced, timeout=60) > first
        # The samples are kept for the hour: a chart has a history from the start.
        assert len(inside()["busy_history"]) >= 2
    finally:
        with live.client("editor") as editor:
            assert editor.delete(f"/api/deployments/{ident}").status_code == 200
