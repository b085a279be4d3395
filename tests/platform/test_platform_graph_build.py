"""The pipeline graph's assembly, from plain facts: no server, no broker."""

from __future__ import annotations

from headwater.platform.graph import DeploymentFacts, Graph, GroupTopic, TopicFacts, build_graph


def facts(**changes: object) -> DeploymentFacts:
    base: dict[str, object] = {
        "id": 1,
        "project": "shop",
        "app": "enrich",
        "commit": "c" * 40,
        "status": "running",
        "replicas": 2,
        "running": 2,
        "group": "enrich-app",
        "inputs": ("orders",),
        "outputs": ("enriched",),
    }
    base.update(changes)
    return DeploymentFacts(**base)  # type: ignore[arg-type]


def edges(graph: Graph) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.topic) for e in graph.edges}


def test_a_deployment_sits_between_an_outside_producer_and_its_readers() -> None:
    totals = facts(
        id=2, app="totals", group="totals-app", inputs=("enriched",), outputs=("totals",)
    )
    graph = build_graph(
        "main",
        [totals, facts()],
        {"orders": TopicFacts(12.5), "enriched": TopicFacts(12.0), "totals": TopicFacts(0.5)},
        {
            "enrich-app": {"orders": GroupTopic(lag=7, consumed=12.0)},
            "totals-app": {"enriched": GroupTopic(lag=0, consumed=12.0)},
            "audit": {"orders": GroupTopic(lag=40, consumed=None)},
        },
    )
    assert graph.cluster == "main"
    assert edges(graph) == {
        ("producer:orders", "deployment:1", "orders"),
        ("producer:orders", "group:audit", "orders"),
        ("deployment:1", "deployment:2", "enriched"),
        ("deployment:2", "sink:totals", "totals"),
    }
    by_id = {n.id: n for n in graph.nodes}
    assert [n.kind for n in graph.nodes] == [
        "deployment",
        "deployment",
        "external_producer",
        "external_group",
        "sink",
    ]
    enrich = by_id["deployment:1"]
    assert (enrich.status, enrich.replicas, enrich.running_replicas) == ("running", 2, 2)
    assert (enrich.throughput_in, enrich.throughput_out, enrich.lag) == (12.0, 12.0, 7)
    assert enrich.label == "shop/enrich" and enrich.group == "enrich-app"
    assert by_id["producer:orders"].throughput_out == 12.5
    audit = by_id["group:audit"]
    assert (audit.lag, audit.throughput_in, audit.status) == (40, None, "idle")
    rates = {e.topic: e.rate for e in graph.edges}
    assert rates == {"orders": 12.5, "enriched": 12.0, "totals": 0.5}
    lag = {(e.target, e.topic): e.lag for e in graph.edges}
    assert lag[("deployment:1", "orders")] == 7 and lag[("sink:totals", "totals")] is None


def test_repartition_topics_loop_back_and_do_not_count_as_throughput() -> None:
    repartition = "enrich-app-by-user-repartition"
    graph = build_graph(
        "main",
        [facts(inputs=("orders", repartition), outputs=("enriched", repartition))],
        {"orders": TopicFacts(10.0), repartition: TopicFacts(10.0), "enriched": TopicFacts(3.0)},
        {
            "enrich-app": {
                "orders": GroupTopic(lag=1, consumed=10.0),
                repartition: GroupTopic(lag=2, consumed=10.0),
            }
        },
    )
    loop = next(e for e in graph.edges if e.topic == repartition)
    assert (loop.source, loop.target, loop.internal) == ("deployment:1", "deployment:1", True)
    node = graph.nodes[0]
    assert (node.throughput_in, node.throughput_out, node.lag) == (10.0, 3.0, 3)


def test_nodes_carry_the_deployments_status_and_unsampled_figures_stay_null() -> None:
    deployments = [
        facts(id=1, status="degraded", running=1),
        facts(id=2, status="failing", running=0, group=None),
        facts(id=3, status="stopped", running=0, group=None, inputs=("x",), outputs=()),
    ]
    graph = build_graph("main", deployments, {}, {})
    status = {n.id: (n.status, n.running_replicas) for n in graph.nodes if n.kind == "deployment"}
    assert status == {
        "deployment:1": ("degraded", 1),
        "deployment:2": ("failing", 0),
        "deployment:3": ("stopped", 0),
    }
    assert all(e.rate is None and e.lag is None for e in graph.edges)
    assert all(n.throughput_in is None and n.lag is None for n in graph.nodes)
    # Three deployments read "orders" from one outside producer; nobody reads "enriched".
    assert sum(e.topic == "orders" for e in graph.edges) == 2
    assert ("producer:x", "deployment:3", "x") in edges(graph)
    assert {e.target for e in graph.edges if e.topic == "enriched"} == {"sink:enriched"}


def test_a_deployments_own_group_is_not_shown_twice() -> None:
    graph = build_graph(
        "main", [facts()], {}, {"enrich-app": {"orders": GroupTopic(lag=0, consumed=0.0)}}
    )
    assert not [n for n in graph.nodes if n.kind == "external_group"]


def test_groups_on_topics_no_deployment_touches_are_left_out() -> None:
    graph = build_graph(
        "main",
        [facts()],
        {},
        {
            "audit": {
                "orders": GroupTopic(lag=3, consumed=1.0),
                "payments": GroupTopic(lag=9, consumed=2.0),
            },
            "billing": {"payments": GroupTopic(lag=0, consumed=5.0)},
        },
    )
    groups = {n.id: n for n in graph.nodes if n.kind == "external_group"}
    assert list(groups) == ["group:audit"]
    # Only what it reads of the pipeline counts: "payments" is no edge and no lag here.
    assert (groups["group:audit"].lag, groups["group:audit"].throughput_in) == (3, 1.0)
    assert "payments" not in {e.topic for e in graph.edges}
