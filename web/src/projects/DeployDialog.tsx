/** Deploy an app of the project at a commit, then open the new deployment. */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router-dom";

import { api, type Deployment } from "../api";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { ErrorBox } from "../components/States";
import { useInvalidate } from "../components/useInvalidate";
import { deploymentKeys } from "../deployments/queries";
import { shortId } from "../shaping/format";
import { useCommits } from "./queries";

export interface DeployDialogProps {
  /** The project to deploy from; with `projects` it is only the first choice. */
  project: string;
  open: boolean;
  onClose: () => void;
  /** Projects to choose from (the pipeline's "Add deployment"); none: just `project`. */
  projects?: string[];
  /** What to do with the new deployment; by default its page opens. */
  onDeployed?: (deployment: Deployment) => void;
}

export function DeployDialog(props: DeployDialogProps) {
  const { open, onClose, projects } = props;
  const [pickedProject, setPickedProject] = useState<string | null>(null);
  const project = pickedProject ?? props.project;
  const commits = useCommits(project);
  const [app, setApp] = useState("");
  const [replicas, setReplicas] = useState<number | null>(null);
  const [commit, setCommit] = useState("");
  // The apps and their defaults as headwater.yaml has them at the commit to deploy.
  const ref = commit || commits.data?.[0]?.id;
  const manifest = useQuery({
    queryKey: ["project", project, "manifest", ref],
    queryFn: () => api.projects.manifest(project, ref),
    enabled: open && ref !== undefined,
    retry: false,
  });
  const apps = manifest.data?.apps ?? [];
  const chosen = apps.find((a) => a.name === app) ?? apps[0];
  const count = replicas ?? chosen?.replicas ?? 1;
  const head = commits.data?.[0]?.id ?? "";
  const navigate = useNavigate();
  const refresh = useInvalidate(deploymentKeys.all);
  const deploy = useMutation({
    mutationFn: () =>
      api.deployments.create(project, { app: chosen?.name ?? "", replicas: count, commit: commit || head || null }),
    onSuccess: (made) => {
      refresh();
      onClose();
      if (props.onDeployed) props.onDeployed(made);
      else navigate(`/deployments/${made.id}`);
    },
  });
  return (
    <Dialog
      title="Deploy"
      open={open}
      onClose={onClose}
      onSubmit={() => deploy.mutate()}
      submitLabel="Deploy"
      submitting={deploy.isPending}
      canSubmit={!!chosen && count >= 1}
    >
      {projects && (
        <label>
          Project
          <select
            name="deploy-project"
            value={project}
            onChange={(e) => {
              setPickedProject(e.target.value);
              setApp("");
              setCommit("");
              setReplicas(null);
            }}
          >
            {projects.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
      )}
      {manifest.error && <ErrorBox error={manifest.error} />}
      <Field label="App" error={deploy.error} field="app">
        <select
          name="deploy-app"
          value={chosen?.name ?? ""}
          onChange={(e) => {
            setApp(e.target.value);
            setReplicas(null);
          }}
        >
          {apps.map((a) => (
            <option key={a.name}>{a.name}</option>
          ))}
        </select>
      </Field>
      <Field label="Replicas" error={deploy.error} field="replicas">
        <input
          name="replicas"
          type="number"
          min={1}
          max={64}
          value={count}
          onChange={(e) => setReplicas(Math.max(1, Number(e.target.value) || 1))}
        />
      </Field>
      <label>
        Commit
        <select name="deploy-commit" value={commit || head} onChange={(e) => setCommit(e.target.value)}>
          {(commits.data ?? []).map((c, i) => (
            <option key={c.id} value={c.id}>
              {shortId(c.id)} {c.message.split("\n")[0]}
              {i === 0 ? " (HEAD)" : ""}
            </option>
          ))}
        </select>
      </label>
      {chosen && (
        <p className="muted">
          Reads {chosen.inputs.join(", ")}, writes {chosen.outputs.join(", ") || "nothing"}; {chosen.cpu} CPU and{" "}
          {chosen.memory} per replica.
        </p>
      )}
      {deploy.error && <ErrorBox error={deploy.error} />}
    </Dialog>
  );
}
