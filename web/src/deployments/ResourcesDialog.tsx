/** Change a running deployment's CPU and memory, or hand them back to headwater.yaml. */
import { useState } from "react";

import type { Deployment, DeploymentPatch, Resource } from "../api";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { ErrorBox } from "../components/States";
import { cpuProblem, memoryProblem } from "../shaping/resources";

export function ResourcesDialog(props: {
  deployment: Deployment;
  onClose: () => void;
  onSubmit: (patch: DeploymentPatch) => void;
  submitting: boolean;
  error: unknown;
}) {
  const d = props.deployment;
  const [cpu, setCpu] = useState(String(d.cpu));
  const [memory, setMemory] = useState(d.memory);
  const [useManifest, setUseManifest] = useState<Set<Resource>>(
    () => new Set((["cpu", "memory"] as const).filter((r) => !d.overrides.includes(r))),
  );
  const toggle = (resource: Resource, on: boolean) =>
    setUseManifest((current) => {
      const next = new Set(current);
      if (on) next.add(resource);
      else next.delete(resource);
      return next;
    });
  const cpuIssue = useManifest.has("cpu") ? null : cpuProblem(cpu);
  const memoryIssue = useManifest.has("memory") ? null : memoryProblem(memory);
  const submit = () => {
    const patch: DeploymentPatch = { reset: [...useManifest].filter((r) => d.overrides.includes(r)) };
    if (!useManifest.has("cpu")) patch.cpu = Number(cpu);
    if (!useManifest.has("memory")) patch.memory = memory.trim();
    props.onSubmit(patch);
  };
  return (
    <Dialog
      title="Resources"
      open
      onClose={props.onClose}
      onSubmit={submit}
      submitLabel="Apply"
      submitting={props.submitting}
      canSubmit={!cpuIssue && !memoryIssue}
    >
      <p className="muted">
        Values set here override headwater.yaml, also when another commit is deployed; the others follow the
        headwater.yaml of the deployed commit. Replicas restart one at a time with the new limits.
      </p>
      <Field label="CPU per replica (cores)" problem={cpuIssue} error={props.error} field="cpu">
        <input
          name="cpu"
          inputMode="decimal"
          value={useManifest.has("cpu") ? String(d.manifest?.cpu ?? d.cpu) : cpu}
          disabled={useManifest.has("cpu")}
          onChange={(e) => setCpu(e.target.value)}
        />
      </Field>
      <label className="inline">
        <input type="checkbox" checked={useManifest.has("cpu")} onChange={(e) => toggle("cpu", e.target.checked)} />
        CPU from headwater.yaml{d.manifest ? ` (${d.manifest.cpu})` : ""}
      </label>
      <Field label="Memory per replica" problem={memoryIssue} error={props.error} field="memory">
        <input
          name="memory"
          value={useManifest.has("memory") ? (d.manifest?.memory ?? d.memory) : memory}
          disabled={useManifest.has("memory")}
          onChange={(e) => setMemory(e.target.value)}
        />
      </Field>
      <label className="inline">
        <input
          type="checkbox"
          checked={useManifest.has("memory")}
          onChange={(e) => toggle("memory", e.target.checked)}
        />
        Memory from headwater.yaml{d.manifest ? ` (${d.manifest.memory})` : ""}
      </label>
      {props.error ? <ErrorBox error={props.error} /> : null}
    </Dialog>
  );
}
