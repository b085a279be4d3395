/** The pipeline: deployments between their topics, live rates and lag, drawers for details. */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useSearchParams } from "react-router-dom";

import { useGraph, useProjects } from "../api/queries";
import { useCan } from "../auth/session";
import { ClusterPicker, ClusterScopedPage } from "../clusters/ClusterScope";
import { Empty, ErrorBox, Loading } from "../components/States";
import { DeployDialog } from "../projects/DeployDialog";
import { type Layout, nextLagHistory, stableLayout, toFlow, visibleGraph } from "../shaping/graph";
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
  const graph = useGraph(cluster);
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
  // Same nodes and links as before: the same positions, so a poll never moves anything.
  const layout = useRef<Layout | null>(null);
  const current = useMemo(() => {
    if (!shown) return null;
    layout.current = stableLayout(layout.current, shown);
    return layout.current;
  }, [shown]);
  const flow = useMemo(
    () => (shown && current ? toFlow(shown, current.positions, lags) : null),
    [shown, current, lags],
  );
  const projects = useProjects(canEdit);
  const projectNames = projects.data?.map((p) => p.name) ?? [];

  return (
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
              fitKey={current.key}
              onOpenTopic={openTopic}
              onOpenDeployment={openDeployment}
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
