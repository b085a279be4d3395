/** The pipeline drawn with React Flow: deployment and outside nodes, topic edges with rates. */
import {
  BaseEdge,
  Background,
  Controls,
  type Edge,
  EdgeLabelRenderer,
  type EdgeProps,
  getBezierPath,
  Handle,
  MarkerType,
  type Node,
  type NodeProps,
  Position,
  ReactFlow,
  useNodesInitialized,
  useNodesState,
  useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { createContext, useContext, useEffect } from "react";

import { isDark } from "../app/theme";
import { layoutKey, useCanvas } from "../canvas/canvasContext";
import { connectNodes, dropOnPane } from "../canvas/connectNodes";
import { NodeEditMenu } from "../canvas/NodeEditMenu";
import { formatCount, formatRate } from "../shaping/format";
import type { FlowEdge, FlowNode, PipelineEdgeData, PipelineNodeData } from "../shaping/graph";
import { formatPercent, isBusy } from "../shaping/inside";
import { type StepFlowEdge, type StepFlowNode, type StepNodeData, stepLabel } from "../shaping/steps";

type DeploymentFlowNode = Node<PipelineNodeData, "deployment">;
type ExternalFlowNode = Node<PipelineNodeData, "external">;
type StepNode = Node<StepNodeData, "step">;
type AnyFlowNode = DeploymentFlowNode | ExternalFlowNode | StepNode;
type TopicFlowEdge = Edge<PipelineEdgeData, "topic">;

// The status badge already says running, starting, degraded, failing or stopped; lag is extra.
const HEALTH_TEXT: Partial<Record<PipelineNodeData["health"], string>> = { lagging: "lagging", idle: "idle" };
/** The least zoom of the first fit: below it node text gets too small to read; the user pans. */
export const MIN_FIT_ZOOM = 0.8;
const KIND_TEXT = { external_producer: "producer", external_group: "consumer group", sink: "not read", deployment: "", app: "" };

/** Opens a topic's drawer; edge labels are HTML buttons outside React Flow's edge click. */
const OpenTopic = createContext<(topic: string) => void>(() => undefined);

/** Which deployments show their steps, and the toggle of their nodes' "steps" button. */
interface StepsToggle {
  expanded: ReadonlySet<number>;
  toggle: (deployment: number) => void;
}
const Steps = createContext<StepsToggle>({ expanded: new Set(), toggle: () => undefined });

function StepsButton({ deployment }: { deployment: number }) {
  const { expanded, toggle } = useContext(Steps);
  const open = expanded.has(deployment);
  return (
    <button
      type="button"
      className="steps-toggle nodrag"
      aria-expanded={open}
      title={open ? "Hide the app's steps" : "Show the app's steps with their records in and out per second"}
      onClick={(event) => {
        event.stopPropagation(); // the node's own click opens its panel
        toggle(deployment);
      }}
    >
      {open ? "▾" : "▸"} steps
    </button>
  );
}

function DeploymentNode({ data }: NodeProps<DeploymentFlowNode>) {
  const { node, health } = data;
  return (
    <div
      className={`pipeline-node deployment health-${health}`}
      data-node={node.id}
      data-health={health}
      title={`${node.project}/${node.app}: open its panel`}
    >
      <NodeEditMenu node={node} />
      <Handle type="target" position={Position.Left} />
      <div className="node-title-row">
        <strong className="node-title" title={node.app ?? undefined}>
          {node.app}
        </strong>
        {node.deployment !== null && <StepsButton deployment={node.deployment} />}
      </div>
      <div className="node-head">
        <span className="muted node-sub">{node.project}</span>
        <span className={`badge node-status status-${node.status}`}>{node.status}</span>
      </div>
      <div className="node-figures">
        <span data-testid="node-replicas">
          {node.running_replicas ?? 0}/{node.replicas ?? 0} replicas
        </span>
        <span>{formatRate(node.throughput_in, "msg")} in</span>
        <span>{formatRate(node.throughput_out, "msg")} out</span>
        <span className="node-lag">lag {node.lag === null ? "—" : formatCount(Math.round(node.lag))}</span>
      </div>
      {HEALTH_TEXT[health] && <div className="node-health">{HEALTH_TEXT[health]}</div>}
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

function ExternalNode({ data }: NodeProps<ExternalFlowNode>) {
  const { node, health } = data;
  const rate = node.kind === "external_producer" ? node.throughput_out : node.throughput_in;
  return (
    <div className={`pipeline-node external kind-${node.kind} health-${health}`} data-node={node.id} data-health={health}>
      <NodeEditMenu node={node} />
      {node.kind !== "external_producer" && <Handle type="target" position={Position.Left} />}
      <div className="node-kind muted">{KIND_TEXT[node.kind]}</div>
      <div className="node-title" title={node.label}>
        {node.label}
      </div>
      <div className="node-figures muted">
        {formatRate(rate, "msg")}
        {node.lag !== null && ` · lag ${formatCount(Math.round(node.lag))}`}
      </div>
      {node.kind === "external_producer" && <Handle type="source" position={Position.Right} />}
    </div>
  );
}

/** One step of an expanded deployment: its kind and label, records in and out per second. */
function StepNodeView({ data }: NodeProps<StepNode>) {
  const { step } = data;
  const rateIn = step.records_in_per_second;
  const rateOut = step.records_out_per_second;
  return (
    <div
      className={`pipeline-step${isBusy(step.busy_ratio) ? " busy" : ""}`}
      data-step={step.id}
      data-busy={step.busy_ratio ?? ""}
      data-kind={step.kind}
      data-in={rateIn ?? ""}
      data-out={rateOut ?? ""}
      title={`${step.kind}: ${step.label}`}
    >
      <Handle type="target" position={Position.Left} />
      <div className="step-kind muted">{step.kind}</div>
      <div className="step-title">{stepLabel(step)}</div>
      <div className="step-figures">
        <span data-testid="step-in">{formatRate(rateIn)} in</span>
        <span data-testid="step-out">{formatRate(rateOut)} out</span>
      </div>
      <div className="step-figures muted">
        <span data-testid="step-node-busy">busy {formatPercent(step.busy_ratio)}</span>
      </div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

function TopicEdge(props: EdgeProps<TopicFlowEdge>) {
  const open = useContext(OpenTopic);
  const [path, x, y] = getBezierPath(props);
  const edge = props.data?.edge;
  // Topic over rate keeps the label narrow; the hidden separator keeps "topic · rate" as its text.
  return (
    <>
      <BaseEdge id={props.id} path={path} markerEnd={props.markerEnd} style={props.style} />
      {edge && (
        <EdgeLabelRenderer>
          <button
            type="button"
            className={`edge-label nodrag nopan${(edge.rate ?? 0) > 0 ? " flowing" : ""}`}
            style={{ transform: `translate(-50%, -50%) translate(${x}px, ${y}px)` }}
            data-testid="edge-label"
            data-topic={edge.topic}
            data-source={edge.source}
            data-target={edge.target}
            title={`Live records of ${edge.topic}`}
            onClick={() => open(edge.topic)}
          >
            <span className="edge-topic">{edge.topic}</span>
            <span className="edge-sep"> · </span>
            <span className="edge-rate">{formatRate(edge.rate, "msg")}</span>
          </button>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

const NODE_TYPES = { deployment: DeploymentNode, external: ExternalNode, step: StepNodeView };
const EDGE_TYPES = { topic: TopicEdge };

/** Fits the view on the first draw and when the layout changes (not on each poll, nor when a
 * drawer opens over it): a moment later, once React Flow has measured the nodes. Never below
 * MIN_FIT_ZOOM: a wide pipeline is panned rather than shrunk past reading. */
function FitView({ fitKey }: { fitKey: string }) {
  const flow = useReactFlow();
  const measured = useNodesInitialized();
  useEffect(() => {
    if (!measured) return;
    const fit = () => void flow.fitView({ padding: 0.04, minZoom: MIN_FIT_ZOOM, maxZoom: 1.2 });
    const timer = window.setTimeout(fit, 60);
    return () => window.clearTimeout(timer);
  }, [flow, fitKey, measured]);
  return null;
}

export function PipelineFlow(props: {
  /** Graph nodes first, then the steps of expanded deployments (a parent precedes its children). */
  nodes: (FlowNode | StepFlowNode)[];
  edges: FlowEdge[];
  stepEdges: StepFlowEdge[];
  /** Changes when the view should fit again: a new layout. */
  fitKey: string;
  onOpenTopic: (topic: string) => void;
  onOpenDeployment: (id: number) => void;
  steps: StepsToggle;
}) {
  // On the canvas of a project (see canvas/), handles connect and a drag onto the pane adds a step.
  const canvas = useCanvas();
  // React Flow keeps each node's measured size on the node: carry it over to each poll's nodes,
  // or the graph would count as unmeasured again and never fit the view.
  const [nodes, setNodes, onNodesChange] = useNodesState<AnyFlowNode>([]);
  const placed = canvas?.positions;
  useEffect(() => {
    setNodes((previous) => {
      const measured = new Map(previous.map((n) => [n.id, n.measured]));
      return (props.nodes as AnyFlowNode[]).map((n) => {
        // A node the user moved on the canvas stays where they put it.
        const moved = n.type !== "step" && placed ? placed.get(layoutKey((n.data as PipelineNodeData).node)) : undefined;
        return { ...n, position: moved ?? n.position, measured: measured.get(n.id) };
      });
    });
  }, [props.nodes, placed, setNodes]);
  const edges: Edge[] = [
    ...props.edges.map(
      (e): TopicFlowEdge => ({ ...e, type: "topic", markerEnd: { type: MarkerType.ArrowClosed } }),
    ),
    ...props.stepEdges.map((e): Edge => ({ ...e, markerEnd: { type: MarkerType.ArrowClosed }, zIndex: 1 })),
  ];
  return (
    <Steps.Provider value={props.steps}>
      <OpenTopic.Provider value={props.onOpenTopic}>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          onNodesChange={onNodesChange}
          nodeTypes={NODE_TYPES}
          edgeTypes={EDGE_TYPES}
          nodesDraggable={canvas !== null}
          onNodeDragStop={(_, dragged) => {
            if (canvas && dragged.type !== "step") canvas.move((dragged.data as PipelineNodeData).node, dragged.position);
          }}
          nodesConnectable={canvas !== null}
          onConnect={(connection) => canvas && connectNodes(canvas, connection.source, connection.target)}
          onConnectEnd={(_, state) => {
            if (canvas && !state.isValid && !state.toNode && state.fromNode) dropOnPane(canvas, state.fromNode.id);
          }}
          elementsSelectable={false}
          colorMode={isDark() ? "dark" : "light"}
          minZoom={0.2}
          onNodeClick={(_, clicked) => {
            if (clicked.type === "step") return; // a step lies inside its deployment's node
            const { node } = clicked.data as PipelineNodeData;
            if (node.deployment !== null) props.onOpenDeployment(node.deployment);
            // An outside producer or a sink stands for its topic.
            else if (node.kind === "external_producer" || node.kind === "sink") props.onOpenTopic(node.label);
          }}
          aria-label="Pipeline graph"
        >
          <Background gap={20} />
          <Controls showInteractive={false} />
          <FitView fitKey={props.fitKey} />
        </ReactFlow>
      </OpenTopic.Provider>
    </Steps.Provider>
  );
}
