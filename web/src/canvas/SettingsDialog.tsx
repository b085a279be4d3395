/** A step's replicas, CPU, memory, environment and secrets: a headwater.yaml commit, after which
 * its deployments are redeployed at that commit. */
import { useState } from "react";

import type { AppSpec, CanvasEditIn } from "../api/types";
import { useManifest } from "../api/queries";
import { Dialog } from "../components/Dialog";
import { ErrorBox, Loading } from "../components/States";

/** `KEY=value` lines as a mapping; lines without `=` are skipped. */
export function parsePairs(text: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) pairs[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return pairs;
}

function pairsText(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
}

export function SettingsDialog(props: {
  project: string;
  app: string;
  onClose: () => void;
  onPreview: (body: CanvasEditIn) => void;
}) {
  const manifest = useManifest(props.project, "HEAD");
  const spec = manifest.data?.apps.find((a) => a.name === props.app);
  return (
    <Dialog title={`${props.app}: resources and environment`} open onClose={props.onClose}>
      {manifest.isPending ? (
        <Loading what="headwater.yaml" />
      ) : manifest.error ? (
        <ErrorBox error={manifest.error} />
      ) : spec ? (
        <SettingsForm spec={spec} onPreview={props.onPreview} />
      ) : (
        <ErrorBox error={new Error(`${props.app} is not in headwater.yaml at main`)} />
      )}
    </Dialog>
  );
}

function SettingsForm({ spec, onPreview }: { spec: AppSpec; onPreview: (body: CanvasEditIn) => void }) {
  const [replicas, setReplicas] = useState(String(spec.replicas));
  const [cpu, setCpu] = useState(String(spec.cpu));
  const [memory, setMemory] = useState(spec.memory);
  const [env, setEnv] = useState(pairsText(spec.env));
  const [secrets, setSecrets] = useState(pairsText(spec.secrets));
  const submit = () => {
    const newEnv = parsePairs(env);
    const newSecrets = parsePairs(secrets);
    const same = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(a) === JSON.stringify(b);
    onPreview({
      edit: {
        kind: "resources",
        app: spec.name,
        replicas: Number(replicas) !== spec.replicas ? Number(replicas) : null,
        cpu: Number(cpu) !== spec.cpu ? Number(cpu) : null,
        memory: memory !== spec.memory ? memory.trim() : null,
        env: same(newEnv, spec.env) ? null : newEnv,
        secrets: same(newSecrets, spec.secrets) ? null : newSecrets,
      },
      new_topics: [],
      cluster: null,
    });
  };
  // The dialog's own form holds the fields; this button sends them on.
  return (
    <div className="canvas-settings">
      <label>
        Replicas
        <input type="number" min={1} max={64} value={replicas} onChange={(e) => setReplicas(e.target.value)} />
      </label>
      <label>
        CPU (cores per replica)
        <input type="number" min={0.01} step={0.01} value={cpu} onChange={(e) => setCpu(e.target.value)} />
      </label>
      <label>
        Memory per replica
        <input value={memory} placeholder="256Mi" onChange={(e) => setMemory(e.target.value)} />
      </label>
      <label>
        Environment (KEY=value per line)
        <textarea className="code" rows={3} value={env} onChange={(e) => setEnv(e.target.value)} />
      </label>
      <label>
        Secrets (VARIABLE=secret-name per line)
        <textarea className="code" rows={2} value={secrets} onChange={(e) => setSecrets(e.target.value)} />
      </label>
      <button type="button" className="primary" onClick={submit}>
        Show the change
      </button>
    </div>
  );
}
