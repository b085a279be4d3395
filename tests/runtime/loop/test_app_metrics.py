"""What an app reports beside its record counters: time per step, dead letters per step, the
loop's busy and idle time, checkpoints, watermarks, state entries and late records; all in
valid Prometheus text."""

from __future__ import annotations

import time
import urllib.request

import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from headwater import App, agg, windows
from headwater.runtime.loop.app_metrics import AppMetrics, AppMetricsCollector
from headwater.runtime.loop.batch import Source
from headwater.runtime.loop.executor import Executor
from headwater.runtime.loop.local import _Capture, _TemporaryStores, make_source
from headwater.runtime.loop.step_metrics import StepCounters, serve_metrics

SLEEP = 0.05


def _executor(app: App, topic: str, counters: StepCounters) -> tuple[Executor, _TemporaryStores]:
    root = app.pipelines()[topic]
    stores = _TemporaryStores()
    return Executor(
        root, root.operator.topic, _Capture(), app.on_error, None, stores, counters
    ), stores  # type: ignore[attr-defined]


def _ids(app: App) -> dict[str, str]:
    return {n["kind"]: n["id"] for n in app.describe()["nodes"]}


def _slow(df: pd.DataFrame) -> pd.DataFrame:
    time.sleep(SLEEP)  # a deliberately slow step: the time goes to it, not to its neighbours
    return df


def test_a_slow_step_is_the_busy_one_and_dead_letters_name_their_step() -> None:
    app = App("busy-app")
    sdf = app.dataframe(app.topic("numbers"))
    sdf = sdf.map_batches(_slow)
    sdf = sdf.apply(lambda row: {**row, "inverse": 1 / row["x"]})
    sdf.to_topic(app.topic("inverses"))
    ids = _ids(app)
    counters = StepCounters(ids.values())
    executor, _ = _executor(app, "numbers", counters)
    numbers = app.topic("numbers")
    for _ in range(3):
        executor.process(make_source(numbers, [{"x": x} for x in (1, 0, 4)]))
    busy = counters.busy_seconds()
    # Three batches; the row function's failure reruns each record by record, each sleeping.
    assert busy[ids["map_batches"]] >= 3 * SLEEP
    assert busy[ids["map_batches"]] > 10 * busy[ids["to_topic"]]
    dead = counters.dead_letter_totals()
    assert dead[ids["apply"]] == 3  # one zero per batch
    assert dead[ids["source"]] == 0 and dead[ids["map_batches"]] == 0
    # A record that cannot be decoded fails at the source.
    unreadable = Source("numbers", [0], [9], [None], [b"{not json"], [0])
    executor.process(unreadable)
    assert counters.dead_letter_totals()[ids["source"]] == 1


def _windows_app() -> App:
    app = App("windows-app")
    sdf = app.dataframe(app.topic("clicks", timestamp="ts"))
    per_user = sdf.group_by("user", repartition=False).window(windows.tumbling("10s"))
    per_user.agg(n=agg.count()).to_topic(app.topic("per-user"))
    return app


def test_a_snapshot_reads_each_steps_watermark_state_and_late_records() -> None:
    app = _windows_app()
    ids = _ids(app)
    counters = StepCounters(ids.values())
    executor, stores = _executor(app, "clicks", counters)
    clicks = app.topic("clicks", timestamp="ts")
    metrics = AppMetrics()
    metrics.snapshot(time.monotonic(), [executor], stores._open.values())
    assert metrics.watermarks == {}  # no partition yet: no watermark
    executor.assign([("clicks", 0)])

    def click(user: str, at: int) -> None:
        executor.process(make_source(clicks, [{"user": user, "ts": at}], keys=[user]))

    def checkpoint_and_snapshot() -> None:
        for store in stores._open.values():
            store.persist(None, None)  # what a checkpoint does: the entries reach RocksDB
        metrics.snapshot(time.monotonic(), [executor], stores._open.values())

    click("ann", 1_000)
    click("bob", 2_000)
    checkpoint_and_snapshot()
    window = ids["window"]
    assert metrics.watermarks[window] == 2_000
    assert metrics.watermarks[ids["to_topic"]] == 2_000  # the same time domain
    assert metrics.late_records == {window: 0}
    assert set(metrics.state_entries) == {window}
    assert metrics.state_entries[window] >= 2  # ann's and bob's open windows
    # The watermark passes the first window's end; then a click of that window is late.
    click("cid", 25_000)
    click("ann", 3_000)
    checkpoint_and_snapshot()
    assert metrics.watermarks[window] == 25_000
    assert metrics.late_records == {window: 1}


def test_a_stateless_app_has_no_watermarks() -> None:
    app = App("plain-app")
    app.dataframe(app.topic("orders")).to_topic(app.topic("copies"))
    counters = StepCounters()
    executor, stores = _executor(app, "orders", counters)
    executor.assign([("orders", 0)])
    executor.process(make_source(app.topic("orders"), [{"n": 1}]))
    metrics = AppMetrics()
    metrics.snapshot(time.monotonic(), [executor], stores._open.values())
    assert metrics.watermarks == {} and metrics.state_entries == {} and metrics.late_records == {}


def test_loop_time_splits_into_busy_and_idle() -> None:
    metrics = AppMetrics()
    metrics.waiting()
    time.sleep(SLEEP)  # waiting in poll
    metrics.working()
    assert metrics.idle_seconds >= SLEEP and metrics.busy_seconds < SLEEP
    _slow(pd.DataFrame())  # working
    metrics.waiting()
    assert metrics.busy_seconds >= SLEEP


def test_everything_is_served_as_valid_prometheus_text() -> None:
    counters = StepCounters(["n0", "n1"])
    counters.add("n0", 10, 10)
    counters.busy("n1", 0.25)
    counters.dead_letters("n1", 2)
    metrics = AppMetrics()
    metrics.checkpointed(0.5, 3, 40)
    metrics.checkpointed(0.25, 2, 0)
    metrics.checkpoint_failures = 1
    metrics.watermarks = {"n1": 1_733_600_000_000}
    metrics.state_entries = {"n1": 12}
    metrics.late_records = {"n1": 4}
    counters.registry.register(AppMetricsCollector(metrics))
    server = serve_metrics(counters, "127.0.0.1:0")
    try:
        with urllib.request.urlopen(f"http://{server.address}/metrics", timeout=10) as response:
            text = response.read().decode()
    finally:
        server.close()
    samples = {
        (s.name, s.labels.get("step")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("headwater_")
    }
    assert samples[("headwater_step_busy_seconds_total", "n1")] == 0.25
    assert samples[("headwater_step_dead_letters_total", "n1")] == 2
    assert samples[("headwater_checkpoints_total", None)] == 2
    assert samples[("headwater_checkpoint_seconds_total", None)] == 0.75
    assert samples[("headwater_checkpoint_offsets_total", None)] == 5
    assert samples[("headwater_checkpoint_changelog_records_total", None)] == 40
    assert samples[("headwater_checkpoint_failures_total", None)] == 1
    assert samples[("headwater_checkpoint_last_seconds", None)] == 0.25
    assert samples[("headwater_step_watermark_milliseconds", "n1")] == 1_733_600_000_000
    assert samples[("headwater_step_state_entries", "n1")] == 12
    assert samples[("headwater_step_late_records_total", "n1")] == 4
    # Strict: every family has its HELP and TYPE, every sample line is NAME{LABELS} VALUE.
    families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    helped = {line.split()[2] for line in text.splitlines() if line.startswith("# HELP")}
    assert families == helped
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            assert any(name.startswith(f) for f in families), line
            float(line.rsplit(" ", 1)[1])
