/** The pipeline: deployments between their topics, live rates and lag, drawers for details. */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useSearchParams } from "react-router-dom";

import { useDeploymentSteps, useGraph, useProjects } from "../api/queries";
import { useCan } from "../auth/session";
import { CanvasEditor } from "../canvas/CanvasEditor";
import { CanvasToolbar } from "../canvas/CanvasToolbar";
import { ClusterPicker, ClusterScopedPage } from "../clusters/ClusterScope";
import { Empty, ErrorBox, Loading } from "../components/States";
import { DeployDialog } from "../projects/DeployDialog";
import { type Layout, nextLagHistory, type Size, stableLayout, toFlow, visibleGraph } from "../shaping/graph";
import { expandedSize, layoutSteps, type StepFlowEdge, type StepFlowNode, stepFlow } from "../shaping/steps";
import { AppInside } from "./AppInside";
import { DeploymentDrawer, TopicDrawer } from "./Drawers";
import { PipelineFlow } from "./PipelineFlow";

export default function PipelinePage() {
  return (
    <ClusterScopedPage title="Pipeline" view="pipeline" className="pipeline-page">
      {(cluster, clusters) => <Pipeline key={cluster} cluster={cluster} clusters={clusters} />}
    </ClusterScopedPage>
  );
}

function Pipeline(props: { cluster: string; clusters: string[] }) {
  const { cluster } = props;
  const canEdit = useCan("editor");
  const [search, setSearch] = useSearchParams();
  // The project edited on the canvas (?edit=NAME): its undeployed apps show, its nodes edit.
  const editing = canEdit ? search.get("edit") : null;
  const graph = useGraph(cluster, editing ?? undefined);
  const [showInternal, setShowInternal] = useState(false);
  const [adding, setAdding] = useState(false);
  const topic = search.get("topic");
  const deployment = Number(search.get("deployment")) || null;
  const open = useCallback(
    (key: "topic" | "deployment" | null, value?: string) =>
      setSearch(
        (current) => {
          const next = new URLSearchParams(current);
          next.delete("topic");
          next.delete("deployment");
          if (key && value) next.set(key, value);
          return next;
        },
        { replace: true },
      ),
    [setSearch],
  );
  const close = useCallback(() => open(null), [open]);
  const openTopic = useCallback((name: string) => open("topic", name), [open]);
  const openDeployment = useCallback((id: number) => open("deployment", String(id)), [open]);

  // Lag over the last polls, to tell growing lag from a steady one.
  const [lags, setLags] = useState<Map<string, number[]>>(new Map());
  useEffect(() => {
    if (graph.data) setLags((previous) => nextLagHistory(previous, graph.data));
  }, [graph.data]);
  const shown = useMemo(() => (graph.data ? visibleGraph(graph.data, showInternal) : null), [graph.data, showInternal]);

  // Deployments expanded into their steps ("▸ steps" on a node): each grows to hold them.
  const [expanded, setExpanded] = useState<ReadonlySet<number>>(new Set());
  const toggleSteps = useCallback(
    (id: number) =>
      setExpanded((previous) => {
        const next = new Set(previous);
        if (!next.delete(id)) next.add(id);
        return next;
      }),
    [],
  );
  const stepsToggle = useMemo(() => ({ expanded, toggle: toggleSteps }), [expanded, toggleSteps]);
  // Only deployments still in the graph: a deleted one's steps are not asked for again.
  const expandedIds = useMemo(() => {
    const present = new Set(shown?.nodes.map((n) => n.deployment) ?? []);
    return [...expanded].filter((id) => present.has(id)).sort((a, b) => a - b);
  }, [expanded, shown]);
  const steps = useDeploymentSteps(expandedIds);
  const inside = useMemo(() => {
    const found = new Map<string, { size: Size; flow: ReturnType<typeof stepFlow> }>();
    for (const id of expandedIds) {
      const reported = steps.get(id)?.steps ?? [];
      if (reported.length === 0) continue; // not reported yet: the node stays as it is
      const nodeId = `deployment:${id}`;
      const stepsLayout = layoutSteps(reported);
      found.set(nodeId, { size: expandedSize(stepsLayout), flow: stepFlow(nodeId, reported, stepsLayout) });
    }
    return found;
  }, [expandedIds, steps]);
  const sizes = useMemo(() => new Map([...inside].map(([id, { size }]) => [id, size])), [inside]);

  // Same nodes, sizes and links as before: the same positions, so a poll never moves anything.
  const layout = useRef<Layout | null>(null);
  const current = useMemo(() => {
    if (!shown) return null;
    layout.current = stableLayout(layout.current, shown, sizes);
    return layout.current;
  }, [shown, sizes]);
  const flow = useMemo(() => {
    if (!shown || !current) return null;
    const { nodes, edges } = toFlow(shown, current.positions, lags, sizes);
    const present = new Set(nodes.map((n) => n.id));
    const stepNodes: StepFlowNode[] = [];
    const stepEdges: StepFlowEdge[] = [];
    for (const [nodeId, { flow: within }] of inside) {
      if (!present.has(nodeId)) continue; // the deployment left the graph
      stepNodes.push(...within.nodes);
      stepEdges.push(...within.edges);
    }
    return { nodes: [...nodes, ...stepNodes], edges, stepEdges };
  }, [shown, current, lags, sizes, inside]);
  // The last deployment expanded shows what is inside it under the graph.
  const insideOf = useMemo(() => {
    const id = expandedIds.length ? [...expanded].filter((e) => expandedIds.includes(e)).pop() : undefined;
    const reported = id === undefined ? undefined : steps.get(id);
    const node = shown?.nodes.find((n) => n.deployment === id);
    return reported && reported.steps.length > 0 ? { app: node?.app ?? `deployment ${id}`, steps: reported } : null;
  }, [expanded, expandedIds, steps, shown]);
  const projects = useProjects(canEdit);
  const projectNames = projects.data?.map((p) => p.name) ?? [];
  const setEditing = useCallback(
    (name: string | null) =>
      setSearch(
        (now) => {
          const next = new URLSearchParams(now);
          if (name) next.set("edit", name);
          else next.delete("edit");
          return next;
        },
        { replace: true },
      ),
    [setSearch],
  );

  const page = (
    <>
      <header className="page-header">
        <h1>Pipeline</h1>
        <span className="toolbar-actions">
          <ClusterPicker cluster={cluster} clusters={props.clusters} view="pipeline" />
          <label className="inline">
            <input type="checkbox" checked={showInternal} onChange={(e) => setShowInternal(e.target.checked)} />
            Internal topics
          </label>
          {canEdit && (
            <CanvasToolbar projects={projectNames} editing={editing} onEditing={setEditing} />
          )}
          {canEdit && (
            <button type="button" className="primary" disabled={projectNames.length === 0} onClick={() => setAdding(true)}>
              Add deployment
            </button>
          )}
        </span>
      </header>
      {graph.error ? <ErrorBox error={graph.error} retry={() => void graph.refetch()} /> : null}
      <div className="pipeline-body">
        <div className="pipeline-canvas">
          {graph.isPending ? (
            <Loading what="pipeline" />
          ) : !flow || !current || flow.nodes.length === 0 ? (
            <Empty title={editing ? "An empty canvas" : "Nothing flows yet"}>
              {editing
                ? `“Add step” makes the first app of ${editing}: the topic it reads, its code, the topics it writes.`
                : "Deploy an app (“Add deployment”, or from its project) and its topics show up here with their live rates."}
            </Empty>
          ) : (
            <PipelineFlow
              nodes={flow.nodes}
              edges={flow.edges}
              stepEdges={flow.stepEdges}
              fitKey={current.key}
              onOpenTopic={openTopic}
              onOpenDeployment={openDeployment}
              steps={stepsToggle}
            />
          )}
        </div>
        {topic && <TopicDrawer topic={topic} cluster={cluster} onClose={close} />}
        {deployment !== null && !topic && <DeploymentDrawer id={deployment} onClose={close} />}
      </div>
      {insideOf && (
        <AppInside app={insideOf.app} steps={insideOf.steps} onClose={() => toggleSteps(insideOf.steps.deployment)} />
      )}
      {canEdit && adding && projectNames[0] !== undefined && (
        <DeployDialog
          project={projectNames[0]}
          projects={projectNames}
          open
          onClose={() => setAdding(false)}
          onDeployed={(made) => {
            void graph.refetch();
            openDeployment(made.id);
          }}
        />
      )}
    </>
  );
  return editing && graph.data ? (
    <CanvasEditor project={editing} cluster={cluster} graph={graph.data}>
      {page}
    </CanvasEditor>
  ) : (
    page
  );
}
