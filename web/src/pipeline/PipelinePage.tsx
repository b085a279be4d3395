/** The pipeline: deployments between their topics, live rates and lag, drawers for details. */
import { useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";

import { api } from "../api";
import { useCan } from "../auth/session";
import { Empty, ErrorBox, Loading, QueryView } from "../components/States";
import { DeployDialog } from "../projects/DeployDialog";
import { type Layout, nextLagHistory, type Size, stableLayout, toFlow, visibleGraph } from "../shaping/graph";
import { expandedSize, layoutSteps, type StepFlowEdge, type StepFlowNode, stepFlow } from "../shaping/steps";
import { DeploymentDrawer, TopicDrawer } from "./Drawers";
import { PipelineFlow } from "./PipelineFlow";
import { useDeploymentSteps } from "./useDeploymentSteps";

const REFRESH_MS = 2_500;

export default function PipelinePage() {
  const clusters = useQuery({ queryKey: ["clusters"], queryFn: api.clusters.list });
  const [search, setSearch] = useSearchParams();
  const chosen = search.get("cluster");
  const cluster =
    chosen ?? clusters.data?.find((c) => c.name === "default")?.name ?? clusters.data?.[0]?.name;
  return (
    <div className="page pipeline-page">
      <QueryView query={clusters} what="clusters">
        {(list) =>
          list.length === 0 || cluster === undefined ? (
            <>
              <header className="page-header">
                <h1>Pipeline</h1>
              </header>
              <Empty title="No Kafka cluster configured">
                An admin adds the broker connection under <Link to="/settings/clusters">Settings → Clusters</Link>.
              </Empty>
            </>
          ) : (
            <Pipeline
              cluster={cluster}
              clusters={list.map((c) => c.name)}
              onCluster={(name) => setSearch({ cluster: name })}
            />
          )
        }
      </QueryView>
    </div>
  );
}

function Pipeline(props: { cluster: string; clusters: string[]; onCluster: (name: string) => void }) {
  const { cluster } = props;
  const canEdit = useCan("editor");
  const graph = useQuery({
    queryKey: ["graph", cluster],
    queryFn: () => api.graph.get(cluster),
    refetchInterval: REFRESH_MS,
  });
  const [showInternal, setShowInternal] = useState(false);
  const [adding, setAdding] = useState(false);
  const [search, setSearch] = useSearchParams();
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
  const projects = useQuery({ queryKey: ["projects"], queryFn: api.projects.list, enabled: canEdit });
  const projectNames = projects.data?.map((p) => p.name) ?? [];

  return (
    <>
      <header className="page-header">
        <h1>Pipeline</h1>
        <span className="toolbar-actions">
          {props.clusters.length > 1 && (
            <label className="inline">
              Cluster
              <select name="cluster" value={cluster} onChange={(e) => props.onCluster(e.target.value)}>
                {props.clusters.map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            </label>
          )}
          <label className="inline">
            <input type="checkbox" checked={showInternal} onChange={(e) => setShowInternal(e.target.checked)} />
            Internal topics
          </label>
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
            <Empty title="Nothing flows yet">
              Deploy an app (“Add deployment”, or from its project) and its topics show up here with their live rates.
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
}
