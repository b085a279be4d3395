/**
 * A topic's configuration as the broker reports it; editors change the editable settings and
 * grow the partitions, the latter only after the warning about keyed data.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api } from "../api";
import { queryKeys, useTopicConfig } from "../api/queries";
import type { TopicConfig } from "../api/types";
import { Can } from "../auth/session";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Dialog } from "../components/Dialog";
import { ErrorBox, QueryView } from "../components/States";
import { formatRetention } from "../shaping/format";
import { type ConfigRow, configChange, configRows, editableValues } from "../shaping/topicConfig";

const CLEANUP_POLICIES = ["delete", "compact", "compact,delete"];

/** The server's warning as a sentence of its own. */
function sentence(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

export function TopicSettings({ cluster, name }: { cluster: string; name: string }) {
  const config = useTopicConfig(cluster, name);
  const [editing, setEditing] = useState(false);
  const [growing, setGrowing] = useState(false);
  return (
    <section className="topic-settings" aria-label="Configuration">
      <div className="section-header">
        <h2>Configuration</h2>
        {config.data && (
          <Can role="editor">
            <div className="toolbar-actions">
              <button type="button" onClick={() => setEditing(true)}>
                Edit settings
              </button>
              <button type="button" onClick={() => setGrowing(true)}>
                Grow partitions
              </button>
            </div>
          </Can>
        )}
      </div>
      <QueryView query={config} what="configuration">
        {(data) => (
          <>
            <SettingsTable partitions={data.partitions} rows={configRows(data.config).main} />
            <details>
              <summary>All {Object.keys(data.config).length} settings the broker reports</summary>
              <SettingsTable rows={configRows(data.config).others} />
            </details>
            {editing && <EditSettingsDialog cluster={cluster} config={data} onClose={() => setEditing(false)} />}
            {growing && <GrowPartitionsDialog cluster={cluster} config={data} onClose={() => setGrowing(false)} />}
          </>
        )}
      </QueryView>
    </section>
  );
}

function SettingsTable({ rows, partitions }: { rows: ConfigRow[]; partitions?: number }) {
  return (
    <table className="table compact" aria-label="Settings">
      <thead>
        <tr>
          <th>Setting</th>
          <th>Value</th>
          <th>Source</th>
        </tr>
      </thead>
      <tbody>
        {partitions !== undefined && (
          <tr data-setting="partitions">
            <td>partitions</td>
            <td>{partitions}</td>
            <td className="muted">topic</td>
          </tr>
        )}
        {rows.map(({ key, entry }) => (
          <tr key={key} data-setting={key}>
            <td>{key}</td>
            <td title={key === "retention.ms" ? formatRetention(entry.value ?? undefined) : undefined}>
              {entry.value ?? <span className="muted">hidden</span>}
            </td>
            <td className="muted">
              {entry.default ? "default" : "set on topic"}
              {entry.read_only && " · read only"}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Saves the broker's answer to a change: the new settings, read back. */
function useSaved(cluster: string, name: string, onClose: () => void) {
  const queryClient = useQueryClient();
  return (answer: TopicConfig) => {
    queryClient.setQueryData(queryKeys.topicConfig(cluster, name), answer);
    void queryClient.invalidateQueries({ queryKey: queryKeys.topic(cluster, name) });
    void queryClient.invalidateQueries({ queryKey: queryKeys.topics(cluster) });
    onClose();
  };
}

function EditSettingsDialog(props: { cluster: string; config: TopicConfig; onClose: () => void }) {
  const { cluster, config, onClose } = props;
  const before = editableValues(config.config);
  const [values, setValues] = useState(before);
  const change = configChange(before, values);
  const save = useMutation({
    mutationFn: () => api.topics.changeConfig(config.topic, change ?? {}, cluster),
    onSuccess: useSaved(cluster, config.topic, onClose),
  });
  return (
    <Dialog
      title={`Settings of ${config.topic}`}
      open
      onClose={onClose}
      onSubmit={() => save.mutate()}
      submitLabel="Save settings"
      submitting={save.isPending}
      canSubmit={change !== undefined}
    >
      <p className="muted">Empty a field to hand the setting back to the broker's default.</p>
      {Object.keys(values).map((key) => (
        <label key={key}>
          {key}
          {key === "cleanup.policy" ? (
            <select name={key} value={values[key]} onChange={(e) => setValues({ ...values, [key]: e.target.value })}>
              {[...new Set([values[key] ?? "", ...CLEANUP_POLICIES])].map((policy) => (
                <option key={policy} value={policy}>
                  {policy || "(broker default)"}
                </option>
              ))}
            </select>
          ) : (
            <input name={key} value={values[key]} onChange={(e) => setValues({ ...values, [key]: e.target.value })} />
          )}
          {key === "retention.ms" && <span className="muted">{formatRetention(values[key] || undefined)}</span>}
        </label>
      ))}
      {save.error ? <ErrorBox error={save.error} /> : null}
    </Dialog>
  );
}

function GrowPartitionsDialog(props: { cluster: string; config: TopicConfig; onClose: () => void }) {
  const { cluster, config, onClose } = props;
  const [partitions, setPartitions] = useState(config.partitions + 1);
  const [accepted, setAccepted] = useState(false);
  const grow = useMutation({
    mutationFn: () => api.topics.growPartitions(config.topic, partitions, cluster),
    onSuccess: useSaved(cluster, config.topic, onClose),
  });
  return (
    <ConfirmDialog
      title={`Grow ${config.topic} to more partitions?`}
      onClose={onClose}
      onConfirm={() => grow.mutate()}
      confirmLabel="Grow partitions"
      action={grow}
      canConfirm={accepted && partitions > config.partitions}
    >
      <label>
        Partitions (now {config.partitions}; they never shrink)
        <input
          name="partitions"
          type="number"
          min={config.partitions + 1}
          value={partitions}
          onChange={(e) => setPartitions(Number(e.target.value))}
        />
      </label>
      <div className="warning" role="alert">
        <strong>Keyed records will map to different partitions.</strong> A key's partition is its hash modulo the
        partition count: {sentence(config.keyed_data_warning)} Joins of co-partitioned topics by key break for existing
        keys until both sides are reprocessed.
      </div>
      <label className="inline">
        <input type="checkbox" name="accept" checked={accepted} onChange={(e) => setAccepted(e.target.checked)} />
        I understand that existing keys move to other partitions
      </label>
    </ConfirmDialog>
  );
}
