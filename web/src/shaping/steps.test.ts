import { describe, expect, it } from "vitest";

import type { DeploymentStep, GraphNode, PipelineGraph } from "../api/types";
import { layoutKey, NODE_SIZE, stableLayout, toFlow } from "./graph";
import { expandedSize, layoutSteps, STEP_SIZE, STEPS_TOP, stepFlow, stepLabel, stepNodeId } from "./steps";

function step(id: string, inputs: string[], kind = "filter", rate: number | null = null): DeploymentStep {
  return { id, kind, label: `${kind}(${id})`, inputs, records_in_per_second: rate, records_out_per_second: rate };
}

// source -> filter -> group_by -> (repartition) source -> agg_running -> to_topic
const STEPS = [
  step("n0", [], "source", 10),
  step("n1", ["n0"], "filter", 10),
  step("n2", ["n1"], "group_by", 8),
  step("n3", ["n2"], "source", 8),
  step("n4", ["n3"], "agg_running", 0),
  step("n5", ["n4"], "to_topic", 0),
];

describe("steps of an expanded deployment", () => {
  it("lays the steps out left to right, each reader after what feeds it", () => {
    const { positions, width, height } = layoutSteps(STEPS);
    const xs = STEPS.map((s) => positions.get(s.id)?.x ?? -1);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(new Set(xs).size).toBe(STEPS.length);
    expect(width).toBeGreaterThanOrEqual(STEPS.length * STEP_SIZE.width);
    expect(height).toBe(STEP_SIZE.height);
  });

  it("shows what a step works on under its kind", () => {
    expect(stepLabel(step("n5", [], "to_topic"))).toBe("n5");
    expect(stepLabel({ ...step("n0", []), kind: "source", label: "orders" })).toBe("orders");
    expect(stepLabel({ ...step("n1", []), label: "filter(x) and more" })).toBe("filter(x) and more");
  });

  it("grows the deployment's node to hold them below its header", () => {
    const size = expandedSize(layoutSteps(STEPS));
    expect(size.width).toBeGreaterThan(NODE_SIZE.deployment.width);
    expect(size.height).toBeGreaterThan(STEPS_TOP + STEP_SIZE.height);
    // One step alone never makes the node narrower than a closed one.
    expect(expandedSize(layoutSteps([step("n0", [], "source")])).width).toBe(NODE_SIZE.deployment.width);
  });

  it("makes nodes inside the deployment's node and edges between known steps only", () => {
    const withStranger = [...STEPS, step("n6", ["n5", "elsewhere"], "print")];
    const { nodes, edges } = stepFlow("deployment:7", withStranger, layoutSteps(withStranger));
    expect(nodes.map((n) => n.id)).toContain(stepNodeId("deployment:7", "n0"));
    expect(nodes.every((n) => n.parentId === "deployment:7" && n.extent === "parent")).toBe(true);
    expect(nodes.every((n) => n.position.y >= STEPS_TOP)).toBe(true);
    expect(edges.map((e) => [e.source, e.target])).toEqual(
      withStranger.slice(1).map((s, i) => [stepNodeId("deployment:7", `n${i}`), stepNodeId("deployment:7", s.id)]),
    );
    // Records flowing out of a step animate its edge.
    expect(edges.filter((e) => e.animated).length).toBe(4); // out of n0, n1, n2 and n3
  });
});

describe("a grown node in the graph's layout", () => {
  const deployment: GraphNode = {
    id: "deployment:7",
    kind: "deployment",
    label: "app",
    status: "running",
    deployment: 7,
    project: "p",
    app: "app",
    commit: null,
    group: null,
    replicas: 1,
    running_replicas: 1,
    throughput_in: null,
    throughput_out: null,
    lag: null,
  };
  const graph: PipelineGraph = { cluster: "default", nodes: [deployment], edges: [] };

  it("takes its expanded size and lays the graph out again", () => {
    const size = expandedSize(layoutSteps(STEPS));
    const sizes = new Map([["deployment:7", size]]);
    expect(layoutKey(graph, sizes)).not.toBe(layoutKey(graph));
    const closed = stableLayout(null, graph);
    const open = stableLayout(closed, graph, sizes);
    expect(open).not.toBe(closed);
    expect(stableLayout(open, graph, new Map(sizes))).toBe(open); // same sizes: same layout
    const [node] = toFlow(graph, open.positions, new Map(), sizes).nodes;
    expect([node?.width, node?.height]).toEqual([size.width, size.height]);
  });
});
