/** Deploy an app of the project at a commit, then open the new deployment. Replicas, CPU and
 * memory start at the app's headwater.yaml values; a value changed here overrides it. Topics the
 * app needs and the cluster lacks are created first, with the partitions chosen here. */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router-dom";

import { api, type AppSpec, type Deployment, type DeploymentIn } from "../api";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { ErrorBox } from "../components/States";
import { useInvalidate } from "../components/useInvalidate";
import { shortId } from "../shaping/format";
import { cpuProblem, memoryProblem } from "../shaping/resources";
import { queryKeys, useCommits, useManifest, useTopics } from "../api/queries";

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

const NEW_TOPIC_PARTITIONS = 3;

export function DeployDialog(props: DeployDialogProps) {
  const { open, onClose, projects } = props;
  const [pickedProject, setPickedProject] = useState<string | null>(null);
  const project = pickedProject ?? props.project;
  const commits = useCommits(project);
  const [app, setApp] = useState("");
  // null: headwater.yaml's value (sent as nothing, so the manifest keeps deciding).
  const [replicas, setReplicas] = useState<number | null>(null);
  const [cpu, setCpu] = useState<string | null>(null);
  const [memory, setMemory] = useState<string | null>(null);
  const [commit, setCommit] = useState("");
  // The apps and their defaults as headwater.yaml has them at the commit to deploy.
  const ref = commit || commits.data?.[0]?.id;
  const manifest = useManifest(project, ref, open && ref !== undefined);
  // The server's default cluster, where the deployment goes.
  const topics = useTopics(undefined, { enabled: open });
  const apps = manifest.data?.apps ?? [];
  const chosen = apps.find((a) => a.name === app) ?? apps[0];
  const known = new Set((topics.data ?? []).map((t) => t.name));
  const missing = chosen && topics.data ? [...chosen.inputs, ...chosen.outputs].filter((t) => !known.has(t)) : [];
  const [partitions, setPartitions] = useState<Record<string, number>>({});
  const head = commits.data?.[0]?.id ?? "";
  const navigate = useNavigate();
  const refresh = useInvalidate(queryKeys.deployments.all);
  const reset = () => {
    setReplicas(null);
    setCpu(null);
    setMemory(null);
  };
  const cpuIssue = cpu === null ? null : cpuProblem(cpu);
  const memoryIssue = memory === null ? null : memoryProblem(memory);
  const deploy = useMutation({
    mutationFn: async () => {
      // The list shown may be a moment old: create only what the cluster lacks now.
      const now = new Set((await api.topics.list()).map((t) => t.name));
      for (const name of missing.filter((t) => !now.has(t)))
        await api.topics.create({ name, partitions: partitions[name] ?? NEW_TOPIC_PARTITIONS });
      const body: DeploymentIn = { app: chosen?.name ?? "", commit: commit || head || null };
      if (replicas !== null) body.replicas = replicas;
      if (cpu !== null) body.cpu = Number(cpu);
      if (memory !== null) body.memory = memory.trim();
      return api.deployments.create(project, body);
    },
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
      canSubmit={!!chosen && !cpuIssue && !memoryIssue}
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
              reset();
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
            reset();
          }}
        >
          {apps.map((a) => (
            <option key={a.name}>{a.name}</option>
          ))}
        </select>
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
        <fieldset className="resource-fields">
          <legend>Per replica, {sourceNote(replicas, cpu, memory)}</legend>
          <Field label="Replicas" error={deploy.error} field="replicas">
            <input
              name="replicas"
              type="number"
              min={1}
              max={64}
              value={replicas ?? chosen.replicas}
              onChange={(e) => setReplicas(Math.max(1, Number(e.target.value) || 1))}
            />
          </Field>
          <Field label="CPU (cores)" problem={cpuIssue} error={deploy.error} field="cpu">
            <input name="cpu" inputMode="decimal" value={cpu ?? String(chosen.cpu)} onChange={(e) => setCpu(e.target.value)} />
          </Field>
          <Field label="Memory" problem={memoryIssue} error={deploy.error} field="memory">
            <input name="memory" value={memory ?? chosen.memory} onChange={(e) => setMemory(e.target.value)} />
          </Field>
        </fieldset>
      )}
      {chosen && <AppTopics app={chosen} missing={missing} partitions={partitions} onPartitions={setPartitions} />}
      {topics.error ? <ErrorBox error={topics.error} /> : null}
      {deploy.error && <ErrorBox error={deploy.error} />}
    </Dialog>
  );
}

function sourceNote(replicas: number | null, cpu: string | null, memory: string | null): string {
  return replicas === null && cpu === null && memory === null
    ? "as headwater.yaml says"
    : "values changed here override headwater.yaml";
}

/** The topics the app reads and writes; those the cluster lacks are created with the deployment. */
function AppTopics(props: {
  app: AppSpec;
  missing: string[];
  partitions: Record<string, number>;
  onPartitions: (next: Record<string, number>) => void;
}) {
  const rows = [...props.app.inputs.map((t) => ["reads", t] as const), ...props.app.outputs.map((t) => ["writes", t] as const)];
  return (
    <table className="table compact" aria-label="Topics it reads and writes">
      <tbody>
        {rows.map(([role, topic]) => (
          <tr key={`${role}-${topic}`} data-topic={topic}>
            <td>{role}</td>
            <td>
              <code>{topic}</code>
            </td>
            <td>
              {props.missing.includes(topic) ? (
                <label className="inline">
                  new topic,
                  <input
                    aria-label={`Partitions of ${topic}`}
                    type="number"
                    min={1}
                    max={1000}
                    value={props.partitions[topic] ?? NEW_TOPIC_PARTITIONS}
                    onChange={(e) =>
                      props.onPartitions({ ...props.partitions, [topic]: Math.max(1, Number(e.target.value) || 1) })
                    }
                  />
                  partitions
                </label>
              ) : (
                <span className="muted">exists</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
