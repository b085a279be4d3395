/**
 * A deployment expanded into its steps: the app's operators laid out left to right inside the
 * deployment's node, each with its records in and out per second, edges between them.
 */
import dagre from "@dagrejs/dagre";

import type { DeploymentStep } from "../api/types";
import { NODE_SIZE, type Position, type Size } from "./graph";

export const STEP_SIZE = { width: 170, height: 84 } as const;
/** Room above the steps for the deployment's own header (title, status, figures). */
export const STEPS_TOP = NODE_SIZE.deployment.height;
export const STEPS_PADDING = 12;

export interface StepNodeData extends Record<string, unknown> {
  step: DeploymentStep;
}

export interface StepFlowNode {
  id: string;
  type: "step";
  /** the deployment's node: step positions are relative to it */
  parentId: string;
  extent: "parent";
  position: Position;
  data: StepNodeData;
  width: number;
  height: number;
}

export interface StepFlowEdge {
  id: string;
  source: string;
  target: string;
  className: string;
  animated: boolean;
}

export interface StepsLayout {
  /** top-left corner of each step, relative to the top-left of the steps' area */
  positions: Map<string, Position>;
  width: number;
  height: number;
}

/** What a step works on, under its kind: `to_topic(scores)` shows as `scores`. */
export function stepLabel(step: DeploymentStep): string {
  const prefix = `${step.kind}(`;
  if (step.label.startsWith(prefix) && step.label.endsWith(")")) return step.label.slice(prefix.length, -1);
  return step.label;
}

/** The id of a step's node in the whole graph: unique across deployments. */
export function stepNodeId(parent: string, step: string): string {
  return `${parent}/step:${step}`;
}

/** Inputs that name a step of the list (a malformed report could name others). */
function knownInputs(steps: readonly DeploymentStep[]): [string, string][] {
  const ids = new Set(steps.map((s) => s.id));
  return steps.flatMap((s) => s.inputs.filter((i) => ids.has(i) && i !== s.id).map((i): [string, string] => [i, s.id]));
}

/** Steps laid out left to right, readers after the steps that feed them. */
export function layoutSteps(steps: readonly DeploymentStep[]): StepsLayout {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 36, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const step of steps) g.setNode(step.id, { ...STEP_SIZE });
  for (const [source, target] of knownInputs(steps)) g.setEdge(source, target);
  dagre.layout(g);
  const positions = new Map<string, Position>();
  let width = 0;
  let height = 0;
  for (const step of steps) {
    const placed = g.node(step.id);
    const x = placed.x - STEP_SIZE.width / 2;
    const y = placed.y - STEP_SIZE.height / 2;
    positions.set(step.id, { x, y });
    width = Math.max(width, x + STEP_SIZE.width);
    height = Math.max(height, y + STEP_SIZE.height);
  }
  return { positions, width, height };
}

/** The size of a deployment's node holding its steps: never smaller than the closed node. */
export function expandedSize(layout: StepsLayout): Size {
  return {
    width: Math.max(NODE_SIZE.deployment.width, layout.width + 2 * STEPS_PADDING),
    height: STEPS_TOP + layout.height + STEPS_PADDING,
  };
}

/** React Flow's nodes and edges of the steps inside the node `parent`. */
export function stepFlow(
  parent: string,
  steps: readonly DeploymentStep[],
  layout: StepsLayout,
): { nodes: StepFlowNode[]; edges: StepFlowEdge[] } {
  const nodes = steps.map(
    (step): StepFlowNode => {
      const at = layout.positions.get(step.id) ?? { x: 0, y: 0 };
      return {
        id: stepNodeId(parent, step.id),
        type: "step",
        parentId: parent,
        extent: "parent",
        position: { x: STEPS_PADDING + at.x, y: STEPS_TOP + at.y },
        data: { step },
        ...STEP_SIZE,
      };
    },
  );
  const rates = new Map(steps.map((s) => [s.id, s.records_out_per_second ?? 0]));
  const edges = knownInputs(steps).map(
    ([source, target]): StepFlowEdge => ({
      id: `${stepNodeId(parent, source)}>${target}`,
      source: stepNodeId(parent, source),
      target: stepNodeId(parent, target),
      className: "step-edge",
      animated: (rates.get(source) ?? 0) > 0,
    }),
  );
  return { nodes, edges };
}
