"""A deployment's steps with their records in and out per second: replicas serve step counters on
a free port, the step sampler scrapes them and sums the replicas, the API gives the rates."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from deploy_helpers import Project, add_cluster, consuming, waiting
from platform_server import LiveServer

from headwater.kafka.admin import TopicAdmin
from headwater.platform.deployments.steps import metrics_address, parse_steps
from headwater.platform.metrics.steps import StepRates, scrape_steps
from headwater.runtime.loop.step_metrics import StepCounters, serve_metrics


@pytest.fixture
def cluster(live: LiveServer, bootstrap: str) -> str:
    return add_cluster(live, bootstrap)


def test_a_deployments_steps_show_the_records_flowing_through_each(
    live: LiveServer,
    cluster: str,
    admin: TopicAdmin,
    produce: Callable[..., None],
) -> None:
    project = Project(live, admin)
    with live.client("editor") as editor:
        made = editor.post(
            f"/api/projects/{project.name}/deployments",
            json={"app": "hello-stream", "cluster": cluster, "replicas": 2},
        )
        assert made.status_code == 201, made.text
        ident = made.json()["id"]
    try:
        waiting(
            live,
            ident,
            lambda: consuming(live, ident, 2, project.commits[-1], project.events),
            timeout=60,
        )
        sequence = itertools.count()

        def flowing() -> list[dict[str, Any]] | None:
            # Records keep arriving on every partition, so both replicas count some.
            for partition in range(3):
                records = [(b"k", orjson.dumps({"n": next(sequence)})) for _ in range(20)]
                produce(project.events, records, partition=partition)
            with live.client("viewer") as viewer:
                response = viewer.get(f"/api/deployments/{ident}/steps")
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["deployment"] == ident and body["window_seconds"] > 0
            steps: list[dict[str, Any]] = body["steps"]
            rates = [(s["records_in_per_second"], s["records_out_per_second"]) for s in steps]
            if not steps or not all(r_in and r_out for r_in, r_out in rates):
                return None
            return steps

        steps = waiting(live, ident, flowing, timeout=90)
        assert [s["kind"] for s in steps] == ["source", "apply", "to_topic"]
        source, apply, to_topic = steps
        assert source["inputs"] == [] and source["label"] == project.events
        assert apply["inputs"] == [source["id"]] and to_topic["inputs"] == [apply["id"]]
        # Both replicas serve their own counters, on a port of their own.
        addresses = live.context.supervisor.metrics_addresses()[ident]
        assert len(set(addresses)) == 2
        per_replica = [scrape_steps(address) for address in addresses]
        assert all(found and found[source["id"]][0] > 0 for found in per_replica)
    finally:
        with live.client("editor") as editor:
            assert editor.delete(f"/api/deployments/{ident}").status_code == 200


def test_steps_are_role_checked_and_a_missing_deployment_is_404(live: LiveServer) -> None:
    with live.client() as anonymous:
        assert anonymous.get("/api/deployments/1/steps").status_code == 401
    with live.client("viewer") as viewer:
        missing = viewer.get("/api/deployments/999999/steps")
        assert missing.status_code == 404, missing.text
        assert viewer.get("/api/deployments/not-a-number/steps").status_code == 422


def test_rates_sum_the_replicas_over_the_window_and_survive_a_restart() -> None:
    rates = StepRates(window=15)
    assert rates.rates(1) is None
    rates.observe(1, {"a": {"n0": (100, 100)}, "b": {"n0": (50, 40)}}, now=0)
    assert rates.rates(1) is None  # one sample: no rate yet
    rates.observe(1, {"a": {"n0": (150, 150)}, "b": {"n0": (100, 60)}}, now=5)
    assert rates.rates(1) == {"n0": (20.0, 14.0)}  # (50 + 50) / 5 in, (50 + 20) / 5 out
    # Replica b restarted (its counters start again from 0); a did not answer this time.
    rates.observe(1, {"a": None, "b": {"n0": (10, 10)}}, now=10)
    assert rates.rates(1) == {"n0": (11.0, 8.0)}  # (100 + 10) / 10, (70 + 10) / 10
    # a answers again: what it counted meanwhile is not lost.
    rates.observe(1, {"a": {"n0": (250, 250)}, "b": {"n0": (10, 10)}}, now=15)
    assert rates.rates(1) == {"n0": (14.0, 12.0)}  # (110 + 100) / 15, (80 + 100) / 15
    # Samples older than the window fall out; a quiet pipeline goes to zero.
    for now in (20, 25, 30, 35):
        rates.observe(1, {"a": {"n0": (250, 250)}, "b": {"n0": (10, 10)}}, now=now)
    assert rates.rates(1) == {"n0": (0.0, 0.0)}
    rates.keep_only(set())  # no live replica: unknown, not zero
    assert rates.rates(1) is None


def test_a_replica_seen_first_counts_from_then_on() -> None:
    rates = StepRates(window=15)
    rates.observe(1, {"a": {"n0": (10, 10)}}, now=0)
    rates.observe(1, {"a": {"n0": (20, 20)}, "b": {"n0": (1_000, 1_000)}}, now=5)
    # b's thousand happened before the platform saw it: not a burst in this window.
    assert rates.rates(1) == {"n0": (2.0, 2.0)}


def test_the_sampler_reads_a_replicas_counters() -> None:
    counters = StepCounters(["n0", "n1"])
    counters.add("n0", 12, 12)
    counters.add("n1", 12, 5)
    server = serve_metrics(counters, "127.0.0.1:0")
    try:
        assert scrape_steps(server.address) == {"n0": (12.0, 12.0), "n1": (12.0, 5.0)}
    finally:
        server.close()
    assert scrape_steps(server.address, timeout=1) is None  # gone: no answer, no error


def test_only_what_the_supervisor_asked_for_is_taken_from_a_status_file() -> None:
    assert metrics_address("127.0.0.1:9400") == "127.0.0.1:9400"
    # A replica runs user code: it could write any address, and the platform would fetch it.
    for written in ("10.0.0.5:9400", "169.254.169.254:80", "127.0.0.1:0", "127.0.0.1", 9400):
        assert metrics_address(written) is None
    steps = parse_steps(
        [
            {"id": "n0", "kind": "source", "label": "source(orders)", "inputs": []},
            {"kind": "filter"},  # no id: left out
            "not a step",
            {"id": "n2", "kind": "to_topic", "label": "to_topic(out)", "inputs": ["n0"]},
        ]
    )
    assert [(s.id, s.inputs) for s in steps] == [("n0", ()), ("n2", ("n0",))]
    assert parse_steps({"n0": "source"}) == ()
