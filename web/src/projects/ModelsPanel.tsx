/**
 * A project's model registry: upload a version (a file, or a .zip / .tar.gz of a folder), see
 * each model's versions with their signature and metrics, promote one to an alias and roll an
 * alias back. Deployments naming models:/NAME@ALIAS swap to the promoted version by themselves.
 */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { api, type ModelVersion, type RegisteredModel } from "../api";
import { queryKeys, useModels } from "../api/queries";
import { Can } from "../auth/session";
import { DataTable } from "../components/DataTable";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { SectionHeader } from "../components/SectionHeader";
import { Empty, ErrorBox, QueryView } from "../components/States";
import { useInvalidate } from "../components/useInvalidate";
import { formatAgo, formatBytes } from "../shaping/format";
import { ModelScoresPanel } from "./ModelScoresPanel";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const PRODUCTION = "production";

export function ModelsPanel({ project }: { project: string }) {
  const models = useModels(project);
  const [uploading, setUploading] = useState<string | "new" | null>(null);
  return (
    <section className="models-panel" aria-label="Models">
      <SectionHeader role="editor" addLabel="Upload model" onAdd={() => setUploading("new")}>
        Models of <code>{project}</code>, stored by the platform (not in Git). A pipeline names one as{" "}
        <code>sdf.predict("models:/NAME@production")</code>; promoting a version swaps it into running
        deployments within seconds, without a restart.
      </SectionHeader>
      <QueryView query={models} what="models" empty={<Empty title="No models yet" />}>
        {(list) => (
          <>
            {list.map((model) => (
              <ModelCard key={model.name} project={project} model={model} onUpload={() => setUploading(model.name)} />
            ))}
          </>
        )}
      </QueryView>
      <ModelScoresPanel project={project} />
      {uploading && (
        <UploadDialog
          project={project}
          existing={uploading === "new" ? null : uploading}
          onClose={() => setUploading(null)}
        />
      )}
    </section>
  );
}

function ModelCard({
  project,
  model,
  onUpload,
}: {
  project: string;
  model: RegisteredModel;
  onUpload: () => void;
}) {
  const refresh = useInvalidate(queryKeys.models(project));
  const promote = useMutation({
    mutationFn: (version: number) => api.models.promote(project, model.name, PRODUCTION, version),
    onSuccess: refresh,
  });
  const rollback = useMutation({
    mutationFn: () => api.models.rollback(project, model.name, PRODUCTION),
    onSuccess: refresh,
  });
  const live = model.aliases[PRODUCTION];
  const canRollBack = model.moves.some((m) => m.alias === PRODUCTION && m.from_version !== null);
  return (
    <article className="model-card" data-testid={`model-${model.name}`}>
      <header className="section-header">
        <h2>
          {model.name}{" "}
          <span className="muted" data-testid="model-aliases">
            {Object.entries(model.aliases)
              .map(([alias, version]) => `${alias} → v${version}`)
              .join(" · ") || "no alias yet"}
          </span>
        </h2>
        <Can role="editor">
          <div className="toolbar-actions">
            <button type="button" onClick={onUpload}>
              New version
            </button>
            <button
              type="button"
              disabled={!canRollBack || rollback.isPending}
              onClick={() => rollback.mutate()}
            >
              Roll back production
            </button>
          </div>
        </Can>
      </header>
      <p className="muted">
        In a pipeline: <code>{model.reference}</code>
      </p>
      <DataTable
        label={`Versions of ${model.name}`}
        columns={["Version", "Framework", "Features", "Metrics", "Size", "Uploaded", "Aliases", ""]}
      >
        {model.versions.map((version) => (
          <VersionRow
            key={version.version}
            version={version}
            live={version.version === live}
            promoting={promote.isPending}
            onPromote={() => promote.mutate(version.version)}
          />
        ))}
      </DataTable>
      {promote.error && <ErrorBox error={promote.error} />}
      {rollback.error && <ErrorBox error={rollback.error} />}
    </article>
  );
}

function VersionRow(props: {
  version: ModelVersion;
  live: boolean;
  promoting: boolean;
  onPromote: () => void;
}) {
  const { version, live, promoting, onPromote } = props;
  const metrics = Object.entries(version.metrics)
    .map(([name, value]) => `${name} ${value}`)
    .join(", ");
  return (
    <tr data-testid={`version-${version.version}`}>
      <td>v{version.version}</td>
      <td>{version.framework}</td>
      <td>
        <code>{version.features.map((f) => f.name).join(", ")}</code>
      </td>
      <td className="muted">{metrics || "—"}</td>
      <td className="muted">{formatBytes(version.size_bytes)}</td>
      <td className="muted">
        {version.author}, {formatAgo(version.created_at)}
      </td>
      <td>{version.aliases.join(", ")}</td>
      <td className="row-actions">
        <Can role="editor">
          {!live && (
            <button type="button" className="small" disabled={promoting} onClick={onPromote}>
              Promote to production
            </button>
          )}
        </Can>
      </td>
    </tr>
  );
}

function UploadDialog({
  project,
  existing,
  onClose,
}: {
  project: string;
  existing: string | null;
  onClose: () => void;
}) {
  const [name, setName] = useState(existing ?? "");
  const [file, setFile] = useState<File | null>(null);
  const [features, setFeatures] = useState("");
  const [metrics, setMetrics] = useState("");
  const refresh = useInvalidate(queryKeys.models(project));
  const upload = useMutation({
    mutationFn: (chosen: File) =>
      api.models.upload(project, name, chosen, {
        filename: chosen.name,
        features: features.trim() || null,
        metrics: metrics.trim() || null,
      }),
    onSuccess: () => {
      refresh();
      onClose();
    },
  });
  const problem = name && !NAME.test(name) ? "use letters, digits and . _ - only" : null;
  return (
    <Dialog
      title={existing ? `New version of ${existing}` : "Upload model"}
      open
      onClose={onClose}
      onSubmit={() => file && upload.mutate(file)}
      submitLabel="Upload"
      submitting={upload.isPending}
      canSubmit={!!name && !!file && !problem}
    >
      {!existing && (
        <Field label="Model name" problem={problem}>
          <input name="model-name" autoFocus value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
      )}
      <Field label="File (.joblib, .onnx, .ubj, .lgb, or a .zip / .tar.gz of a folder)" error={upload.error} field="file">
        <input name="model-file" type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </Field>
      <Field label="Features, if the file does not name them (comma-separated)" error={upload.error} field="features">
        <input name="model-features" value={features} onChange={(e) => setFeatures(e.target.value)} />
      </Field>
      <Field label='Metrics (JSON, e.g. {"auc": 0.91})' error={upload.error} field="metrics">
        <input name="model-metrics" value={metrics} onChange={(e) => setMetrics(e.target.value)} />
      </Field>
      {upload.error && <ErrorBox error={upload.error} />}
    </Dialog>
  );
}
