/** The canvas being edited: which project, on which cluster, and how a node asks for an edit. */
import { createContext, useContext } from "react";

import type { GraphNode, PipelineGraph } from "../api/types";

export type Direction = "inputs" | "outputs";

/** An edit a node or a drag asks for: each opens its form, then the diff to confirm. */
export type CanvasAction =
  | { kind: "add-step"; inputs: string[] }
  | { kind: "connect"; app: string; direction: Direction; topic?: string }
  | { kind: "settings"; app: string }
  | { kind: "remove"; app: string }
  | { kind: "redeploy"; deployment: number; app: string };

/** A deployment's run state, changed straight away through the deployments API. */
export type RunAction = "deploy" | "start" | "stop";

export interface Point {
  x: number;
  y: number;
}

export interface Canvas {
  project: string;
  cluster: string;
  graph: PipelineGraph;
  open: (action: CanvasAction) => void;
  run: (node: GraphNode, action: RunAction) => void;
  /** Where the user put nodes, by `layoutKey`; the others are laid out. */
  positions: ReadonlyMap<string, Point>;
  move: (node: GraphNode, position: Point) => void;
}

export const CanvasContext = createContext<Canvas | null>(null);

/** The canvas being edited, or null when the graph is only looked at. */
export function useCanvas(): Canvas | null {
  return useContext(CanvasContext);
}

/** Topics a node reads (inputs) or writes (outputs), from the graph's edges. */
export function topicsOf(graph: PipelineGraph, nodeId: string, direction: Direction): string[] {
  const found = graph.edges
    .filter((e) => (direction === "outputs" ? e.source === nodeId : e.target === nodeId))
    .map((e) => e.topic);
  return [...new Set(found)].sort();
}

/** The topic an outside producer or a sink node stands for, or null for an app. */
export function topicOfNode(node: GraphNode): string | null {
  return node.kind === "external_producer" || node.kind === "sink" ? node.label : null;
}

/** Whether a node is an app of the edited project (deployed or not). */
export function isEditable(canvas: Canvas, node: GraphNode): boolean {
  return (node.kind === "deployment" || node.kind === "app") && node.project === canvas.project && node.app !== null;
}

/** A node's key in the saved layout: an app keeps its place when deployed or redeployed. */
export function layoutKey(node: GraphNode): string {
  return node.project !== null && node.app !== null ? `app:${node.project}/${node.app}` : node.id;
}
