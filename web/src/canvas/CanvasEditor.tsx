/** Edits of the pipeline canvas: the forms an action opens, the diff to confirm, and the run
 * actions (deploy, start, stop) that go straight to the deployments API. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useCallback, useEffect, useMemo, useState } from "react";

import { api } from "../api";
import type { CanvasEditIn, GraphNode, PipelineGraph } from "../api/types";
import { ErrorBox } from "../components/States";
import { AddStepDialog } from "./AddStepDialog";
import { type Canvas, type CanvasAction, CanvasContext, layoutKey, type Point, type RunAction } from "./canvasContext";
import { ConnectDialog } from "./ConnectDialog";
import { EditPreviewDialog } from "./EditPreviewDialog";
import { RedeployDialog } from "./RedeployDialog";
import { SettingsDialog } from "./SettingsDialog";
import "./canvas.css";

interface Pending {
  title: string;
  body: CanvasEditIn;
  danger?: boolean;
}

export function CanvasEditor(props: { project: string; cluster: string; graph: PipelineGraph; children: ReactNode }) {
  const { project, cluster, graph } = props;
  const [action, setAction] = useState<CanvasAction | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const queryClient = useQueryClient();
  const running = useMutation({
    mutationFn: async ({ node, what }: { node: GraphNode; what: RunAction }) => {
      if (what === "deploy") return api.deployments.create(project, { app: node.app ?? "", cluster });
      if (node.deployment === null) throw new Error(`${node.label} is not deployed`);
      return what === "start" ? api.deployments.start(node.deployment) : api.deployments.stop(node.deployment);
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["graph"] }),
  });
  const open = useCallback((next: CanvasAction) => {
    running.reset();
    if (next.kind === "remove") {
      setPending({
        title: `Confirm: remove step ${next.app}`,
        body: { edit: { kind: "remove_step", app: next.app }, new_topics: [], cluster: null },
        danger: true,
      });
    } else setAction(next);
  }, [running]);
  const run = useCallback((node: GraphNode, what: RunAction) => running.mutate({ node, what }), [running]);
  // The layout the user arranges, kept by the platform per project (see canvas/layout.py).
  const saved = useQuery({ queryKey: ["canvas-layout", project], queryFn: () => api.canvas.layout(project) });
  const [positions, setPositions] = useState<ReadonlyMap<string, Point>>(new Map());
  useEffect(() => {
    if (saved.data) setPositions(new Map(Object.entries(saved.data.positions)));
  }, [saved.data]);
  const save = useMutation({
    mutationFn: (next: ReadonlyMap<string, Point>) =>
      api.canvas.saveLayout(project, { positions: Object.fromEntries(next) }),
  });
  const { mutate: saveLayout } = save;
  const move = useCallback(
    (node: GraphNode, position: Point) =>
      setPositions((previous) => {
        const next = new Map(previous).set(layoutKey(node), { x: Math.round(position.x), y: Math.round(position.y) });
        saveLayout(next);
        return next;
      }),
    [saveLayout],
  );
  const canvas: Canvas = useMemo(
    () => ({ project, cluster, graph, open, run, positions, move }),
    [project, cluster, graph, open, run, positions, move],
  );
  const preview = (title: string) => (body: CanvasEditIn) => {
    setAction(null);
    setPending({ title: `Confirm: ${title}`, body });
  };
  const close = () => setAction(null);
  return (
    <CanvasContext.Provider value={canvas}>
      {running.error ? <ErrorBox error={running.error} /> : null}
      {save.error ? <ErrorBox error={save.error} /> : null}
      {props.children}
      {action?.kind === "add-step" && (
        <AddStepDialog project={project} cluster={cluster} inputs={action.inputs} onClose={close} onPreview={preview("Add a step")} />
      )}
      {action?.kind === "connect" && (
        <ConnectDialog
          cluster={cluster}
          app={action.app}
          direction={action.direction}
          topic={action.topic}
          onClose={close}
          onPreview={preview(`Connect ${action.app}`)}
        />
      )}
      {action?.kind === "settings" && (
        <SettingsDialog project={project} app={action.app} onClose={close} onPreview={preview(`Change ${action.app}`)} />
      )}
      {action?.kind === "redeploy" && (
        <RedeployDialog project={project} deployment={action.deployment} app={action.app} onClose={close} />
      )}
      {pending && (
        <EditPreviewDialog
          project={project}
          title={pending.title}
          body={pending.body}
          danger={pending.danger}
          onClose={() => setPending(null)}
          onCommitted={() => setPending(null)}
        />
      )}
    </CanvasContext.Provider>
  );
}
