/** Add a step: a new app reading topics, its code from a cell, a template or a project file. */
import { useState } from "react";

import type { CanvasEditIn } from "../api/types";
import { useFiles, useTemplates, useTopics } from "../api/queries";
import { Dialog } from "../components/Dialog";
import { missingTopics, parseTopics } from "./topicList";

export const DEFAULT_CELL = `def transform(df: pd.DataFrame) -> pd.DataFrame:
    """One micro-batch of records as a pandas DataFrame; the records returned are written on."""
    return df
`;

type Source = "cell" | "template" | "file";

export function AddStepDialog(props: {
  project: string;
  cluster: string;
  inputs: string[];
  onClose: () => void;
  onPreview: (body: CanvasEditIn) => void;
}) {
  const [name, setName] = useState("");
  const [reads, setReads] = useState(props.inputs.join(", "));
  const [writes, setWrites] = useState("");
  const [source, setSource] = useState<Source>("cell");
  const [cell, setCell] = useState(DEFAULT_CELL);
  const [template, setTemplate] = useState("");
  const [file, setFile] = useState("");
  const topics = useTopics(props.cluster);
  const templates = useTemplates();
  const files = useFiles(props.project);
  // A step is one app reading one topic and writing one: templates of that shape.
  const oneStep = (templates.data ?? []).filter(
    (t) => t.topics.filter((s) => s.role === "input").length === 1 && t.topics.filter((s) => s.role === "output").length === 1,
  );
  const pyFiles = (files.data?.files ?? []).map((f) => f.path).filter((p) => p.endsWith(".py"));
  const inputs = parseTopics(reads);
  const outputs = parseTopics(writes);
  const existing = topics.data?.map((t) => t.name);
  const created = missingTopics([...inputs, ...outputs], existing);
  const ready =
    /^[a-z][a-z0-9-]{0,62}$/.test(name) &&
    !!topics.data &&
    inputs.length > 0 &&
    (source !== "template" || !!template) &&
    (source !== "file" || !!file);
  const submit = () =>
    props.onPreview({
      edit: {
        kind: "add_step",
        name,
        inputs,
        outputs,
        source,
        cell,
        template: source === "template" ? template : null,
        file: source === "file" ? file : null,
      },
      new_topics: created,
      cluster: props.cluster,
    });
  return (
    <Dialog title="Add a step" open wide onClose={props.onClose} onSubmit={submit} submitLabel="Show the change" canSubmit={ready}>
      <label>
        Step name
        <input autoFocus value={name} placeholder="enrich" onChange={(e) => setName(e.target.value.trim())} />
      </label>
      <label>
        Reads
        <input value={reads} placeholder="payments" onChange={(e) => setReads(e.target.value)} />
      </label>
      <label>
        Writes
        <input value={writes} placeholder="enriched-payments" onChange={(e) => setWrites(e.target.value)} />
      </label>
      {created.length > 0 && (
        <p className="muted" data-testid="new-topics">
          New topics, created with the commit (1 partition): {created.map((t) => t.name).join(", ")}
        </p>
      )}
      <label>
        Code from
        <select value={source} onChange={(e) => setSource(e.target.value as Source)}>
          <option value="cell">a code cell</option>
          <option value="template">a template</option>
          <option value="file">a file of the project</option>
        </select>
      </label>
      {source === "cell" && (
        <label>
          Code cell
          <textarea className="code" rows={8} spellCheck={false} value={cell} onChange={(e) => setCell(e.target.value)} />
        </label>
      )}
      {source === "template" && (
        <label>
          Template
          <select value={template} onChange={(e) => setTemplate(e.target.value)}>
            <option value="">choose…</option>
            {oneStep.map((t) => (
              <option key={t.id} value={t.id}>
                {t.title}
              </option>
            ))}
          </select>
        </label>
      )}
      {source === "file" && (
        <label>
          File
          <select value={file} onChange={(e) => setFile(e.target.value)}>
            <option value="">choose…</option>
            {pyFiles.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
      )}
    </Dialog>
  );
}
