/** Kafka cluster connections; credentials are write-only (their names show, never values). */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { queryKeys, useClusters } from "../api/queries";
import { api, type Cluster, type DeployTarget } from "../api";
import { Can } from "../auth/session";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { DataTable } from "../components/DataTable";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { SectionHeader } from "../components/SectionHeader";
import { Empty, ErrorBox, QueryView } from "../components/States";
import { useConfirmedRemoval } from "../components/useConfirmedRemoval";
import { useInvalidate } from "../components/useInvalidate";
import { formatAgo } from "../shaping/format";

const KEY = queryKeys.clusters;

export function ClusterSettings() {
  const clusters = useClusters();
  const [editing, setEditing] = useState<Cluster | "new" | null>(null);
  const { pending: deleting, ask, cancel, confirm, removal } = useConfirmedRemoval(KEY, (name: string) =>
    api.clusters.remove(name),
  );
  return (
    <section>
      <SectionHeader role="admin" addLabel="Add cluster" onAdd={() => setEditing("new")}>
        The Kafka clusters that topics and deployments use.
      </SectionHeader>
      <QueryView
        query={clusters}
        what="clusters"
        empty={<Empty title="No cluster yet">An admin adds the broker connection here.</Empty>}
      >
        {(list) => (
          <DataTable
            label="Clusters"
            columns={["Name", "Bootstrap servers", "Options", "Credentials", "Deployments run on", "Updated", ""]}
          >
            {list.map((c) => (
              <tr key={c.id}>
                <td>
                  <strong>{c.name}</strong>
                </td>
                <td>
                  <code>{c.bootstrap_servers}</code>
                </td>
                <td className="muted">
                  {Object.entries(c.options)
                    .map(([k, v]) => `${k}=${String(v)}`)
                    .join(", ") || "—"}
                </td>
                <td className="muted">
                  {c.secret_options.length ? `${c.secret_options.join(", ")} (set)` : "—"}
                </td>
                <td data-testid="deploy-target">{targetLabel(c.deploy_target)}</td>
                <td className="muted">{formatAgo(c.updated_at)}</td>
                <td className="row-actions">
                  <Can role="admin">
                    <button type="button" className="small" onClick={() => setEditing(c)}>
                      Edit
                    </button>
                    <button type="button" className="small danger-text" onClick={() => ask(c.name)}>
                      Delete
                    </button>
                  </Can>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryView>
      {editing && <ClusterDialog cluster={editing} onClose={() => setEditing(null)} />}
      <ConfirmDialog
        title={`Delete cluster ${deleting ?? ""}?`}
        open={deleting !== null}
        onClose={cancel}
        onConfirm={confirm}
        confirmLabel="Delete cluster"
        action={removal}
      >
        <p>Only the connection is removed; the cluster and its topics are untouched.</p>
      </ConfirmDialog>
    </section>
  );
}

/** Where a cluster's deployments run, in a few words. */
function targetLabel(target: DeployTarget): string {
  return target.kind === "kubernetes" ? `Kubernetes · ${target.namespace ?? "default"}` : "This machine";
}

/** The Kubernetes target's text fields, in the order the form shows them. */
const TARGET_FIELDS = [
  { key: "namespace", label: "Namespace", placeholder: "default" },
  { key: "image", label: "Image that runs apps (Python with headwater)", placeholder: "headwater:0.1.0" },
  { key: "git_url", label: "Platform address as pods reach it", placeholder: "http://headwater.headwater.svc:8080" },
  { key: "state_size", label: "State volume per replica", placeholder: "1Gi" },
  { key: "storage_class", label: "Storage class (empty: the cluster's default)", placeholder: "" },
  { key: "context", label: "Kubeconfig context (empty: the current one)", placeholder: "" },
] as const;
type TargetField = (typeof TARGET_FIELDS)[number]["key"];

// What Kubernetes accepts as a namespace (an RFC 1123 label); the server checks it too.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What is wrong with a typed namespace, before it is sent; null when it is fine or empty. */
function namespaceProblem(value: string): string | null {
  const name = value.trim();
  if (!name) return null;
  if (name.length > 63) return "at most 63 characters";
  return NAMESPACE.test(name) ? null : "lowercase letters, digits and -, starting and ending with a letter or digit";
}

/** The form's target: empty fields are left out so the server's defaults apply. */
function targetBody(kind: DeployTarget["kind"], values: Record<TargetField, string>): DeployTarget {
  if (kind !== "kubernetes") return { kind: "local" };
  const filled = Object.entries(values).filter(([, v]) => v.trim() !== "");
  return { kind, ...Object.fromEntries(filled.map(([k, v]) => [k, v.trim()])) };
}

/** "key=value" lines to options; numbers and booleans keep their type. */
function parseOptions(text: string): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const line of text.split("\n")) {
    const [key, ...rest] = line.split("=");
    if (!key?.trim()) continue;
    const value = rest.join("=").trim();
    out[key.trim()] =
      value === "true" ? true : value === "false" ? false : value !== "" && !Number.isNaN(Number(value)) ? Number(value) : value;
  }
  return out;
}

function ClusterDialog({ cluster, onClose }: { cluster: Cluster | "new"; onClose: () => void }) {
  const isNew = cluster === "new";
  const [name, setName] = useState(isNew ? "default" : cluster.name);
  const [bootstrap, setBootstrap] = useState(isNew ? "" : cluster.bootstrap_servers);
  const [options, setOptions] = useState(
    isNew ? "" : Object.entries(cluster.options).map(([k, v]) => `${k}=${String(v)}`).join("\n"),
  );
  const [secretKey, setSecretKey] = useState("");
  const [secretValue, setSecretValue] = useState("");
  const stored = isNew ? undefined : cluster.deploy_target;
  const [kind, setKind] = useState<DeployTarget["kind"]>(stored?.kind ?? "local");
  const [target, setTarget] = useState<Record<TargetField, string>>(
    () =>
      Object.fromEntries(TARGET_FIELDS.map(({ key }) => [key, stored?.[key] ?? ""])) as Record<
        TargetField,
        string
      >,
  );
  const refresh = useInvalidate(KEY);
  const save = useMutation({
    mutationFn: () => {
      const secrets = secretKey.trim() && secretValue ? { [secretKey.trim()]: secretValue } : undefined;
      return isNew
        ? api.clusters.create({
            name,
            bootstrap_servers: bootstrap,
            options: parseOptions(options),
            deploy_target: targetBody(kind, target),
            ...(secrets ? { secret_options: secrets } : {}),
          })
        : api.clusters.update(cluster.name, {
            bootstrap_servers: bootstrap,
            options: parseOptions(options),
            deploy_target: targetBody(kind, target),
            ...(secrets ? { secret_options: secrets } : {}),
          });
    },
    onSuccess: () => {
      refresh();
      onClose();
    },
  });
  return (
    <Dialog
      title={isNew ? "Add cluster" : `Edit ${cluster.name}`}
      open
      onClose={onClose}
      onSubmit={() => save.mutate()}
      submitting={save.isPending}
      canSubmit={!!name && !!bootstrap && (kind === "local" || !namespaceProblem(target.namespace))}
    >
      {isNew && (
        <Field label="Name" error={save.error} field="name">
          <input name="cluster-name" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
      )}
      <Field label="Bootstrap servers" error={save.error} field="bootstrap_servers">
        <input
          name="bootstrap"
          autoFocus
          placeholder="localhost:9092"
          value={bootstrap}
          onChange={(e) => setBootstrap(e.target.value)}
        />
      </Field>
      <Field
        label="Options (one key=value per line, e.g. security.protocol=SASL_SSL)"
        error={save.error}
        field="options"
      >
        <textarea rows={3} value={options} onChange={(e) => setOptions(e.target.value)} />
      </Field>
      <fieldset>
        <legend>Credential (write-only)</legend>
        {!isNew && cluster.secret_options.length > 0 && (
          <p className="muted">Set: {cluster.secret_options.join(", ")}. Values are never shown.</p>
        )}
        <div className="row">
          <input
            aria-label="Credential name"
            placeholder="sasl.password"
            value={secretKey}
            onChange={(e) => setSecretKey(e.target.value)}
          />
          <input
            aria-label="Credential value"
            type="password"
            autoComplete="new-password"
            value={secretValue}
            onChange={(e) => setSecretValue(e.target.value)}
          />
        </div>
      </fieldset>
      <fieldset>
        <legend>Deployments run on</legend>
        <Field label="Target" error={save.error} field="deploy_target.kind">
          <select
            name="deploy-target"
            aria-label="Deployments run on"
            value={kind}
            onChange={(e) => setKind(e.target.value as DeployTarget["kind"])}
          >
            <option value="local">This machine (supervised processes)</option>
            <option value="kubernetes">A Kubernetes namespace (StatefulSets)</option>
          </select>
        </Field>
        {kind === "kubernetes" &&
          TARGET_FIELDS.map(({ key, label, placeholder }) => (
            <Field
              key={key}
              label={label}
              error={save.error}
              field={`deploy_target.${key}`}
              problem={key === "namespace" ? namespaceProblem(target.namespace) : null}
            >
              <input
                name={`target-${key}`}
                placeholder={placeholder}
                value={target[key]}
                onChange={(e) => setTarget({ ...target, [key]: e.target.value })}
              />
            </Field>
          ))}
        {kind === "kubernetes" && (
          <p className="muted">
            Applies to deployments from their next change on. The platform applies each app's
            StatefulSet, Service and Secret with the kubeconfig it runs with.
          </p>
        )}
      </fieldset>
      {save.error && <ErrorBox error={save.error} />}
    </Dialog>
  );
}
