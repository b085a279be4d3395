"""Per-step counters: records in and out of every step, counted per batch, served for Prometheus."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from headwater import App, ConfigError, agg, windows
from headwater.runtime.loop.executor import Executor
from headwater.runtime.loop.local import _Capture, _TemporaryStores, make_source
from headwater.runtime.loop.status import StatusFile
from headwater.runtime.loop.step_metrics import (
    METRICS_ADDRESS_ENV,
    StepCounters,
    serve_metrics,
    serve_step_metrics,
    topology_steps,
)


def _orders_app() -> tuple[App, dict[str, str]]:
    """source -> assign -> filter -> to_topic, with the ids of its steps by kind."""
    app = App("orders-app")
    sdf = app.dataframe(app.topic("orders"))
    sdf["total"] = sdf["price"] * sdf["quantity"]
    sdf[sdf["total"] > 100].to_topic(app.topic("big-orders"))
    ids = {n["kind"]: n["id"] for n in app.describe()["nodes"]}
    return app, ids


def _executor(app: App, topic: str, counters: StepCounters) -> Executor:
    root = app.pipelines()[topic]
    stores = _TemporaryStores()
    topic = root.operator.topic  # type: ignore[attr-defined]
    return Executor(root, topic, _Capture(), app.on_error, None, stores, counters)


def test_each_step_counts_the_records_it_received_and_handed_on() -> None:
    app, ids = _orders_app()
    counters = StepCounters(ids.values())
    executor = _executor(app, "orders", counters)
    orders = app.topic("orders")
    executor.process(make_source(orders, [{"price": 50.0, "quantity": q} for q in (1, 3, 5, 2)]))
    executor.process(make_source(orders, [{"price": 10.0, "quantity": 20}]))
    assert counters.totals() == {
        ids["source"]: (5, 5),
        ids["assign"]: (5, 5),
        ids["filter"]: (5, 3),  # 150, 250 and 200 pass; 50 and 100 do not
        ids["to_topic"]: (3, 3),
    }


def test_a_batch_rerun_record_by_record_counts_once() -> None:
    app = App("rerun-app")
    sdf = app.dataframe(app.topic("numbers"))
    # Fails on the whole batch (one zero), so the batch runs again one record at a time.
    sdf = sdf.map_batches(lambda df: df.assign(inverse=[1 / x for x in df["x"]]))
    sdf.to_topic(app.topic("inverses"))
    ids = {n["kind"]: n["id"] for n in app.describe()["nodes"]}
    counters = StepCounters()
    executor = _executor(app, "numbers", counters)
    executor.process(make_source(app.topic("numbers"), [{"x": x} for x in (1, 0, 4)]))
    assert counters.totals() == {
        ids["source"]: (3, 3),
        ids["map_batches"]: (3, 2),  # the zero went to the dead letters
        ids["to_topic"]: (2, 2),
    }


def test_a_window_hands_on_its_results_when_it_closes() -> None:
    app = App("windows-app")
    clicks_topic = app.topic("clicks", timestamp="ts")
    sdf = app.dataframe(clicks_topic)
    per_user = sdf.group_by("user", repartition=False).window(windows.tumbling("10s"))
    per_user.agg(n=agg.count()).to_topic(app.topic("per-user"))
    ids = {n["kind"]: n["id"] for n in app.describe()["nodes"]}
    counters = StepCounters()
    executor = _executor(app, "clicks", counters)
    executor.assign([("clicks", 0)])
    clicks = [{"user": u, "ts": t} for u, t in (("ann", 1_000), ("bob", 2_000), ("ann", 3_000))]
    executor.process(make_source(clicks_topic, clicks, keys=["ann", "bob", "ann"]))
    assert counters.totals()[ids["window"]] == (3, 0)  # open windows hand on nothing yet
    executor.finish()  # the input is over: both windows close
    assert counters.totals()[ids["window"]] == (3, 2)
    assert counters.totals()[ids["to_topic"]] == (2, 2)


def test_steps_of_a_topology_name_their_inputs_across_a_repartition() -> None:
    app = App("totals-app")
    sdf = app.dataframe(app.topic("orders"))
    totals = sdf.group_by("customer").agg_running(n=agg.count())
    totals.to_topic(app.topic("totals"))
    steps = topology_steps(app.describe())
    json.dumps(steps)
    assert [s["kind"] for s in steps] == ["source", "group_by", "source", "agg_running", "to_topic"]
    orders, group_by, repartition, running, output = steps
    assert orders["inputs"] == []
    assert group_by["inputs"] == [orders["id"]]
    # The repartition topic's source is fed by the group_by step that writes it.
    assert repartition["inputs"] == [group_by["id"]]
    assert running["inputs"] == [repartition["id"]]
    assert output["inputs"] == [running["id"]]
    assert {"id", "kind", "label", "inputs"} == set(steps[0])


def _scrape(address: str) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("headwater_step_records_"):
                found[(sample.name, sample.labels["step"])] = sample.value
    return found


def test_counters_are_served_in_prometheus_format_on_a_free_port() -> None:
    counters = StepCounters(["n0", "n1"])
    counters.add("n0", 7, 7)
    counters.add("n1", 7, 3)
    server = serve_metrics(counters, "127.0.0.1:0")
    try:
        assert server.address.startswith("127.0.0.1:") and not server.address.endswith(":0")
        assert _scrape(server.address) == {
            ("headwater_step_records_in_total", "n0"): 7.0,
            ("headwater_step_records_out_total", "n0"): 7.0,
            ("headwater_step_records_in_total", "n1"): 7.0,
            ("headwater_step_records_out_total", "n1"): 3.0,
        }
        counters.add("n1", 1, 1)
        assert _scrape(server.address)[("headwater_step_records_out_total", "n1")] == 4.0
    finally:
        server.close()


def test_metrics_are_served_only_when_an_address_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = [{"id": "n0", "kind": "source", "label": "source(orders)", "inputs": []}]
    monkeypatch.delenv(METRICS_ADDRESS_ENV, raising=False)
    assert serve_step_metrics(steps) is None
    monkeypatch.setenv(METRICS_ADDRESS_ENV, "127.0.0.1:0")
    server = serve_step_metrics(steps)
    assert server is not None
    try:
        assert _scrape(server.address) == {
            ("headwater_step_records_in_total", "n0"): 0.0,
            ("headwater_step_records_out_total", "n0"): 0.0,
        }
    finally:
        server.close()


def test_a_bad_or_busy_address_is_explained() -> None:
    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        serve_metrics(StepCounters(), "9400")
    taken = serve_metrics(StepCounters(), "127.0.0.1:0")
    try:
        with pytest.raises(ConfigError, match="pick another port"):
            serve_metrics(StepCounters(), taken.address)
    finally:
        taken.close()


def test_status_file_names_the_metrics_address_and_the_steps(tmp_path: Path) -> None:
    app, _ = _orders_app()
    steps: list[dict[str, Any]] = topology_steps(app.describe())
    path = tmp_path / "status.json"
    StatusFile("orders-app", str(path), metrics="127.0.0.1:9400", steps=steps).write(set())
    data = json.loads(path.read_text())
    assert data["metrics"] == "127.0.0.1:9400"
    assert data["steps"] == steps
    assert [s["kind"] for s in data["steps"]] == ["source", "assign", "filter", "to_topic"]
