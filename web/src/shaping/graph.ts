/**
 * The pipeline graph of the API shaped for React Flow: which nodes and edges show, where they
 * sit (dagre, left to right) and how healthy each node looks.
 */
import dagre from "@dagrejs/dagre";

import type { GraphEdge, GraphNode, PipelineGraph } from "../api/types";
import { formatRate } from "./format";

// Compact nodes and ranks, so a pipeline of four or five steps fits a 1440-px screen at a zoom
// where the nodes' text stays readable (see PipelineFlow's fit).
export const NODE_SIZE = {
  deployment: { width: 210, height: 112 },
  other: { width: 170, height: 76 },
} as const;
/** Room between ranks: an edge's label (topic over rate) sits between them. */
export const RANK_GAP = 150;
/** A lag above this many records marks a node as lagging. */
export const LAG_THRESHOLD = 1_000;
/** Lag samples kept per node to tell whether it grows. */
export const LAG_SAMPLES = 4;

export type Health = "ok" | "idle" | "stopped" | "starting" | "degraded" | "lagging" | "failing";

export interface Position {
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

/** Nodes drawn larger than their kind's size (a deployment expanded into its steps), by id. */
export type Sizes = ReadonlyMap<string, Size>;
const NO_SIZES: Sizes = new Map();

export interface PipelineNodeData extends Record<string, unknown> {
  node: GraphNode;
  health: Health;
}

export interface PipelineEdgeData extends Record<string, unknown> {
  edge: GraphEdge;
}

export interface FlowNode {
  id: string;
  type: "deployment" | "external";
  position: Position;
  data: PipelineNodeData;
  width: number;
  height: number;
}

export interface FlowEdge {
  id: string;
  source: string;
  target: string;
  label: string;
  animated: boolean;
  className: string;
  data: PipelineEdgeData;
}

/**
 * The graph as shown: internal topics (repartition, changelog) only when asked for, and the
 * outside ends (producers, sinks, groups) that are left without an edge dropped with them.
 */
export function visibleGraph(graph: PipelineGraph, showInternal: boolean): PipelineGraph {
  const edges = graph.edges.filter((e) => showInternal || !e.internal);
  const linked = new Set(edges.flatMap((e) => [e.source, e.target]));
  const nodes = graph.nodes.filter((n) => n.kind === "deployment" || n.kind === "app" || linked.has(n.id));
  return { ...graph, nodes, edges };
}

/** What decides the layout: the nodes, their sizes and who links to whom, not the live figures. */
export function layoutKey(graph: PipelineGraph, sizes: Sizes = NO_SIZES): string {
  const nodes = graph.nodes.map((n) => n.id).sort();
  const links = [...new Set(graph.edges.map((e) => `${e.source}>${e.target}`))].sort();
  const grown = [...sizes].map(([id, size]) => `${id}=${size.width}x${size.height}`).sort();
  return `${nodes.join("|")}#${links.join("|")}#${grown.join("|")}`;
}

function sizeOf(node: GraphNode, sizes: Sizes = NO_SIZES): Size {
  const app = node.kind === "deployment" || node.kind === "app";
  return sizes.get(node.id) ?? (app ? NODE_SIZE.deployment : NODE_SIZE.other);
}

/** Top-left corner of each node, laid out left to right (writers before readers). */
export function layoutGraph(graph: PipelineGraph, sizes: Sizes = NO_SIZES): Map<string, Position> {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 36, ranksep: RANK_GAP, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) g.setNode(node.id, { ...sizeOf(node, sizes) });
  for (const edge of graph.edges)
    if (edge.source !== edge.target) g.setEdge(edge.source, edge.target, {}, edge.id);
  dagre.layout(g);
  const positions = new Map<string, Position>();
  for (const node of graph.nodes) {
    const placed = g.node(node.id);
    const { width, height } = sizeOf(node, sizes);
    positions.set(node.id, { x: placed.x - width / 2, y: placed.y - height / 2 });
  }
  return positions;
}

export interface Layout {
  key: string;
  positions: Map<string, Position>;
}

/** The previous layout while the nodes and links stay the same (no jitter on each poll), else a new one. */
export function stableLayout(previous: Layout | null, graph: PipelineGraph, sizes: Sizes = NO_SIZES): Layout {
  const key = layoutKey(graph, sizes);
  if (previous && previous.key === key) return previous;
  return { key, positions: layoutGraph(graph, sizes) };
}

/** Each node's last lags, oldest first, with the graph's new figures appended. */
export function nextLagHistory(
  previous: ReadonlyMap<string, readonly number[]>,
  graph: PipelineGraph,
  keep = LAG_SAMPLES,
): Map<string, number[]> {
  const next = new Map<string, number[]>();
  for (const node of graph.nodes) {
    if (node.lag === null) continue;
    next.set(node.id, [...(previous.get(node.id) ?? []), node.lag].slice(-keep));
  }
  return next;
}

/** Growing: every sample above the one before, over at least three samples. */
export function lagGrowing(history: readonly number[] | undefined): boolean {
  if (!history || history.length < 3) return false;
  return history.every((lag, i) => i === 0 || lag > (history[i - 1] ?? lag));
}

/** How a node looks: its status as the deployments API gives it (failing, stopped, degraded)
 * over lagging over the rest. */
export function nodeHealth(node: GraphNode, history?: readonly number[]): Health {
  if (node.status === "failing" || node.status === "stopped" || node.status === "degraded")
    return node.status;
  if (node.status === "not_deployed") return "idle";
  if ((node.lag ?? 0) > LAG_THRESHOLD || lagGrowing(history)) return "lagging";
  if (node.status === "starting" || node.status === "idle") return node.status;
  return "ok";
}

/** An edge's label: the topic and its rate, e.g. `purchases · 12 msg/s`. */
export function edgeLabel(edge: GraphEdge): string {
  return `${edge.topic} · ${formatRate(edge.rate, "msg")}`;
}

/** React Flow's nodes and edges for a graph laid out at `positions`. */
export function toFlow(
  graph: PipelineGraph,
  positions: ReadonlyMap<string, Position>,
  lags: ReadonlyMap<string, readonly number[]> = new Map(),
  sizes: Sizes = NO_SIZES,
): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const nodes = graph.nodes.map((node): FlowNode => {
    const { width, height } = sizeOf(node, sizes);
    return {
      id: node.id,
      // An app of the edited project that is not deployed is drawn as a deployment would be.
      type: node.kind === "deployment" || node.kind === "app" ? "deployment" : "external",
      position: positions.get(node.id) ?? { x: 0, y: 0 },
      data: { node, health: nodeHealth(node, lags.get(node.id)) },
      width,
      height,
    };
  });
  const edges = graph.edges.map(
    (edge): FlowEdge => ({
      id: edge.id,
      source: edge.source,
      target: edge.target,
      label: edgeLabel(edge),
      animated: (edge.rate ?? 0) > 0,
      className: edge.internal ? "pipeline-edge internal" : "pipeline-edge",
      data: { edge },
    }),
  );
  return { nodes, edges };
}
