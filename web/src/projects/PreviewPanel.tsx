/** Preview: run an app of the project over the last records of its inputs; see what it writes.
 * It runs what the editor holds, unsaved changes included, and opens in view. */
import { useMutation } from "@tanstack/react-query";

import { useManifest } from "../api/queries";
import { useEffect, useMemo, useRef, useState } from "react";

import { api, type AppSpec, type PreviewResult } from "../api";
import { Empty, ErrorBox, Loading } from "../components/States";
import { RecordTable } from "../components/RecordTable";
import { flatten } from "../shaping/records";


export function PreviewPanel(props: {
  project: string;
  /** The editor's unsaved files, path -> text: the run uses them instead of the saved ones. */
  unsaved: Record<string, string>;
  result: PreviewResult | null;
  onResult: (result: PreviewResult | null) => void;
  onOpenFile: (path: string) => void;
  onClose: () => void;
}) {
  const manifest = useManifest(props.project);
  const apps: AppSpec[] = manifest.data?.apps ?? [];
  const [app, setApp] = useState("");
  const [records, setRecords] = useState(10);
  const chosen = app || apps[0]?.name || "";
  const unsavedPaths = Object.keys(props.unsaved).sort();
  const run = useMutation({
    mutationFn: () =>
      api.projects.preview(props.project, { app: chosen || null, records, files: props.unsaved }),
    onMutate: () => props.onResult(null),
    onSuccess: props.onResult,
  });
  // Opened below the editor, the panel would sit under the fold: bring it into view, and its
  // outcome when one arrives.
  const panel = useRef<HTMLElement>(null);
  useEffect(() => {
    panel.current?.scrollIntoView({ block: "start", behavior: "smooth" });
  }, [props.result]);
  return (
    <section className="preview-panel" aria-label="Preview" ref={panel}>
      <div className="toolbar">
        <strong>Preview</strong>
        <span className="muted" data-testid="preview-source">
          runs the editor's files
          {unsavedPaths.length > 0 ? `, unsaved changes included (${unsavedPaths.join(", ")})` : " (all saved)"}, over the
          last records of each input; nothing is produced
        </span>
        <span className="toolbar-actions">
          <button type="button" className="link" onClick={props.onClose}>
            Close
          </button>
        </span>
      </div>
      {manifest.error ? (
        <ErrorBox error={manifest.error} retry={() => void manifest.refetch()} />
      ) : (
        <form
          className="filters"
          onSubmit={(event) => {
            event.preventDefault();
            run.mutate();
          }}
        >
          <label className="inline">
            App
            <select name="preview-app" value={chosen} onChange={(e) => setApp(e.target.value)}>
              {apps.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name} ({a.inputs.join(", ")} → {a.outputs.join(", ") || "nothing"})
                </option>
              ))}
            </select>
          </label>
          <label className="inline">
            Records
            <input
              name="preview-records"
              type="number"
              min={1}
              max={10000}
              value={records}
              onChange={(e) => setRecords(Math.max(1, Number(e.target.value) || 1))}
            />
          </label>
          <button type="submit" className="primary" disabled={run.isPending || !chosen}>
            {run.isPending ? "Running…" : "Run preview"}
          </button>
        </form>
      )}
      {run.isPending && <Loading what="preview" />}
      {run.error && <ErrorBox error={run.error} />}
      {props.result && <PreviewOutcome result={props.result} onOpenFile={props.onOpenFile} />}
    </section>
  );
}

function PreviewOutcome({ result, onOpenFile }: { result: PreviewResult; onOpenFile: (path: string) => void }) {
  const topics = useMemo(() => Object.keys(result.outputs), [result]);
  const [tab, setTab] = useState<string>("");
  const current = tab === "logs" || tab === "dead" || topics.includes(tab) ? tab : (topics[0] ?? "logs");
  const rows = useMemo(
    () => (topics.includes(current) ? (result.outputs[current] ?? []).map((r) => flatten(r)) : []),
    [result, current, topics],
  );
  const deadRows = useMemo(() => result.dead_letters.map((r) => flatten(r)), [result]);
  const read = Object.entries(result.inputs)
    .map(([t, n]) => `${n} from ${t}`)
    .join(", ");
  return (
    <div className="preview-outcome">
      <div className="muted" data-testid="preview-summary">
        Read {read || "nothing"} · wrote{" "}
        {Object.entries(result.output_counts)
          .map(([t, n]) => `${n} to ${t}`)
          .join(", ") || "nothing"}{" "}
        · {result.duration_ms} ms · at{" "}
        {result.ref !== "workspace"
          ? result.ref.slice(0, 8)
          : result.unsaved.length > 0
            ? `the editor's files, unsaved ${result.unsaved.join(", ")} included`
            : "the saved files"}
        {result.timed_out && <span className="badge">timed out</span>}
      </div>
      {result.error && (
        <div className="preview-error" role="alert">
          <strong>
            {result.error.type}: {result.error.message}
          </strong>{" "}
          <span className="muted">({result.error.stage})</span>
          {result.error.frames.length > 0 && (
            <div className="frames">
              {result.error.frames.map((f, i) => (
                <button key={i} type="button" className="link" onClick={() => onOpenFile(f.file)}>
                  {f.file}:{f.line} in {f.function}
                </button>
              ))}
            </div>
          )}
          {result.error.traceback.trim() && <pre className="traceback">{result.error.traceback}</pre>}
        </div>
      )}
      <div className="tabs" role="tablist" aria-label="Preview output">
        {topics.map((t) => (
          <button key={t} type="button" role="tab" aria-selected={current === t} onClick={() => setTab(t)}>
            {t} ({result.output_counts[t] ?? 0})
          </button>
        ))}
        <button type="button" role="tab" aria-selected={current === "logs"} onClick={() => setTab("logs")}>
          Logs
        </button>
        {result.dead_letters.length > 0 && (
          <button type="button" role="tab" aria-selected={current === "dead"} onClick={() => setTab("dead")}>
            Dead letters ({result.dead_letters.length})
          </button>
        )}
      </div>
      {current === "logs" ? (
        result.logs ? (
          <pre className="logs">{result.logs}</pre>
        ) : (
          <Empty title="The app printed nothing" />
        )
      ) : current === "dead" ? (
        <RecordTable rows={deadRows} label="Dead letters" />
      ) : rows.length === 0 ? (
        <Empty title={`No records for ${current}`}>
          Windows close only when later records move the watermark past them: read more records.
        </Empty>
      ) : (
        <RecordTable rows={rows} label={`Preview output ${current}`} height={300} />
      )}
    </div>
  );
}
