import { describe, expect, it } from "vitest";

import type { GraphNode, PipelineGraph } from "../api/types";
import { type Canvas, type CanvasAction, layoutKey, topicsOf } from "./canvasContext";
import { connectNodes, dropOnPane } from "./connectNodes";
import { parsePairs } from "./SettingsDialog";
import { missingTopics, parseTopics } from "./topicList";

function node(id: string, kind: GraphNode["kind"], extra: Partial<GraphNode> = {}): GraphNode {
  return {
    id,
    kind,
    label: id.split(":")[1] ?? id,
    status: "idle",
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
    ...extra,
  };
}

const enrich = node("app:shop/enrich", "app", { project: "shop", app: "enrich", status: "not_deployed" });
const score = node("deployment:4", "deployment", { project: "shop", app: "score", deployment: 4 });
const other = node("deployment:9", "deployment", { project: "else", app: "x", deployment: 9 });
const graph: PipelineGraph = {
  cluster: "default",
  nodes: [enrich, score, other, node("producer:payments", "external_producer"), node("sink:scores", "sink")],
  edges: [
    { id: "a", source: "producer:payments", target: enrich.id, topic: "payments", internal: false, rate: null, lag: null },
    { id: "b", source: enrich.id, target: score.id, topic: "enriched", internal: false, rate: null, lag: null },
    { id: "c", source: score.id, target: "sink:scores", topic: "scores", internal: false, rate: null, lag: null },
  ],
};

function canvas(): { canvas: Canvas; asked: CanvasAction[] } {
  const asked: CanvasAction[] = [];
  return {
    asked,
    canvas: {
      project: "shop",
      cluster: "default",
      graph,
      open: (action) => asked.push(action),
      run: () => undefined,
      positions: new Map(),
      move: () => undefined,
    },
  };
}

describe("the canvas", () => {
  it("reads topic lists and finds the ones to create", () => {
    expect(parseTopics(" a, b  a\nc,")).toEqual(["a", "b", "c"]);
    expect(missingTopics(["a", "new"], ["a"])).toEqual([{ name: "new", partitions: 1 }]);
    expect(missingTopics(["a"], undefined)).toEqual([]);
    expect(parsePairs("A=1\nnot a pair\nB = x=y")).toEqual({ A: "1", B: "x=y" });
  });

  it("keys apps by project and name, so a deployed app keeps its place", () => {
    expect(layoutKey(score)).toBe("app:shop/score");
    expect(layoutKey(enrich)).toBe("app:shop/enrich");
    expect(layoutKey(node("producer:payments", "external_producer"))).toBe("producer:payments");
    expect(topicsOf(graph, enrich.id, "outputs")).toEqual(["enriched"]);
  });

  it("turns drags into edits of the edited project only", () => {
    const { canvas: c, asked } = canvas();
    connectNodes(c, "producer:payments", score.id); // a topic onto an app: another input
    connectNodes(c, enrich.id, "sink:scores"); // an app onto a topic: another output
    connectNodes(c, enrich.id, score.id); // app onto app: the second reads the first's output
    connectNodes(c, "producer:payments", other.id); // another project's app: nothing
    dropOnPane(c, "producer:payments"); // a topic dragged out: a new step reading it
    dropOnPane(c, score.id); // an app dragged out: a new step reading its output
    expect(asked).toEqual([
      { kind: "connect", app: "score", direction: "inputs", topic: "payments" },
      { kind: "connect", app: "enrich", direction: "outputs", topic: "scores" },
      { kind: "connect", app: "score", direction: "inputs", topic: "enriched" },
      { kind: "add-step", inputs: ["payments"] },
      { kind: "add-step", inputs: ["scores"] },
    ]);
  });
});
