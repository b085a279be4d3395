import { describe, expect, it } from "vitest";

import type { GraphEdge, GraphNode, PipelineGraph } from "../api/types";
import { formatRate } from "./format";
import {
  edgeLabel,
  lagGrowing,
  layoutKey,
  nextLagHistory,
  nodeHealth,
  NODE_SIZE,
  stableLayout,
  toFlow,
  visibleGraph,
} from "./graph";

function node(id: string, more: Partial<GraphNode> = {}): GraphNode {
  return {
    id,
    kind: id.startsWith("deployment:") ? "deployment" : id.startsWith("sink:") ? "sink" : "external_producer",
    label: id,
    status: "running",
    deployment: null,
    project: null,
    app: null,
    commit: null,
    group: null,
    replicas: null,
    running_replicas: null,
    throughput_in: null,
    throughput_out: null,
    lag: null,
    ...more,
  };
}

function edge(source: string, target: string, topic: string, more: Partial<GraphEdge> = {}): GraphEdge {
  return { id: `${source}->${target}:${topic}`, source, target, topic, internal: false, rate: null, lag: null, ...more };
}

/** producer -> features (deployment 1) -> sink, with a changelog only the deployment writes. */
function pipeline(rate: number | null = 12.5): PipelineGraph {
  return {
    cluster: "default",
    nodes: [
      node("deployment:1", { project: "shop", app: "features", replicas: 2, running_replicas: 2, lag: 3 }),
      node("producer:purchases", { status: "active", throughput_out: rate }),
      node("sink:user-features", { kind: "sink" }),
      node("sink:features-changelog", { kind: "sink" }),
    ],
    edges: [
      edge("producer:purchases", "deployment:1", "purchases", { rate }),
      edge("deployment:1", "sink:user-features", "user-features", { rate: 0 }),
      edge("deployment:1", "sink:features-changelog", "features-changelog", { internal: true }),
    ],
  };
}

describe("pipeline graph shaping", () => {
  it("turns API nodes and edges into React Flow ones with labels and animation", () => {
    const graph = visibleGraph(pipeline(), false);
    const layout = stableLayout(null, graph);
    const flow = toFlow(graph, layout.positions);
    expect(flow.nodes.map((n) => [n.id, n.type])).toEqual([
      ["deployment:1", "deployment"],
      ["producer:purchases", "external"],
      ["sink:user-features", "external"],
    ]);
    expect(flow.nodes[0]?.width).toBe(NODE_SIZE.deployment.width);
    expect(flow.edges.map((e) => [e.label, e.animated])).toEqual([
      ["purchases · 13 msg/s", true],
      ["user-features · 0 msg/s", false],
    ]);
    expect(flow.edges[0]?.data.edge.topic).toBe("purchases");
  });

  it("lays out writers left of readers", () => {
    const graph = visibleGraph(pipeline(), false);
    const { positions } = stableLayout(null, graph);
    const x = (id: string) => positions.get(id)?.x ?? Number.NaN;
    expect(x("producer:purchases")).toBeLessThan(x("deployment:1"));
    expect(x("deployment:1")).toBeLessThan(x("sink:user-features"));
  });

  it("shows internal topics and their ends only when asked", () => {
    expect(visibleGraph(pipeline(), false).nodes.map((n) => n.id)).not.toContain("sink:features-changelog");
    const all = visibleGraph(pipeline(), true);
    expect(all.nodes.map((n) => n.id)).toContain("sink:features-changelog");
    expect(toFlow(all, new Map()).edges[2]?.className).toContain("internal");
  });

  it("keeps positions while the node set and links stay, and lays out again when they change", () => {
    const first = stableLayout(null, visibleGraph(pipeline(1), false));
    // New rates and lags every poll: the very same layout object, no jitter.
    const again = stableLayout(first, visibleGraph(pipeline(500), false));
    expect(again).toBe(first);
    const grown = pipeline();
    grown.nodes.push(node("group:audit", { kind: "external_group" }));
    grown.edges.push(edge("producer:purchases", "group:audit", "purchases"));
    const changed = stableLayout(first, visibleGraph(grown, false));
    expect(changed).not.toBe(first);
    expect(changed.positions.has("group:audit")).toBe(true);
    // Order of the API's lists does not matter.
    const reversed = { ...pipeline(), nodes: [...pipeline().nodes].reverse(), edges: [...pipeline().edges].reverse() };
    expect(layoutKey(reversed)).toBe(layoutKey(pipeline()));
  });

  it("classifies failing, lagging and plain nodes", () => {
    expect(nodeHealth(node("deployment:1", { status: "failing", lag: 5_000 }))).toBe("failing");
    expect(nodeHealth(node("deployment:1", { status: "degraded", lag: 5_000 }))).toBe("degraded");
    expect(nodeHealth(node("deployment:1", { lag: 5_000 }))).toBe("lagging");
    expect(nodeHealth(node("deployment:1", { lag: 10 }), [2, 5, 10])).toBe("lagging");
    expect(nodeHealth(node("deployment:1", { lag: 10 }), [10, 5, 10])).toBe("ok");
    expect(nodeHealth(node("deployment:1", { status: "starting" }))).toBe("starting");
    expect(nodeHealth(node("deployment:1", { status: "stopped", lag: 5_000 }))).toBe("stopped");
    expect(nodeHealth(node("producer:t", { status: "idle" }))).toBe("idle");
  });

  it("tells growing lag from a passing bump", () => {
    expect(lagGrowing(undefined)).toBe(false);
    expect(lagGrowing([1, 2])).toBe(false);
    expect(lagGrowing([1, 2, 3])).toBe(true);
    expect(lagGrowing([1, 3, 3])).toBe(false);
    const graph = pipeline();
    let history = new Map<string, number[]>();
    for (const lag of [1, 2, 3, 4, 5]) {
      graph.nodes[0] = { ...graph.nodes[0]!, lag };
      history = nextLagHistory(history, graph, 4);
    }
    expect(history.get("deployment:1")).toEqual([2, 3, 4, 5]);
    // Nodes without a lag keep no history.
    expect(history.has("producer:purchases")).toBe(false);
    const flow = toFlow(graph, new Map(), history);
    expect(flow.nodes[0]?.data.health).toBe("lagging");
  });

  it("formats rates with a unit", () => {
    expect(formatRate(null, "msg")).toBe("—");
    expect(formatRate(0, "msg")).toBe("0 msg/s");
    expect(formatRate(0.25, "msg")).toBe("0.25 msg/s");
    expect(formatRate(3.14, "msg")).toBe("3.1 msg/s");
    expect(formatRate(2_500_000, "msg")).toBe("2.5M msg/s");
    expect(formatRate(42)).toBe("42/s");
    expect(edgeLabel(edge("a", "b", "orders"))).toBe("orders · —");
  });
});
