/** A topic's live records: start position, partition, filter, pause, table or JSON, export, a field chart. */
import { useMemo, useState } from "react";

import { api } from "../api";
import { Empty, ErrorBox } from "../components/States";
import { RecordTable } from "../components/RecordTable";
import { TimeChart } from "../components/TimeChart";
import { useTail, type TailStatus } from "../live/useTail";
import {
  fieldSeries,
  numericFields,
  startPosition,
  type StartKind,
  tailRow,
  timeFields,
} from "../shaping/records";

const FILTER_HINT =
  "JMESPath over {topic, partition, offset, timestamp, key, value}, e.g. value.amount > `100` && key == 'ann'";
const STATUS_TEXT: Record<TailStatus, string> = {
  idle: "not started",
  connecting: "connecting…",
  live: "live",
  paused: "paused",
  ended: "ended",
  failed: "stopped",
};

export interface TopicTailProps {
  name: string;
  cluster?: string | undefined;
  /** The topic's partition count, for the partition choice (0 while unknown). */
  partitions: number;
  /** Where the tail starts before the user picks: "latest" (new records only) or "beginning". */
  start?: "latest" | "beginning";
  /** Height of the record table in pixels. */
  tableHeight?: number;
}

export function TopicTail({ name, cluster, partitions, start = "latest", tableHeight }: TopicTailProps) {
  const [startKind, setStartKind] = useState<StartKind>(start);
  const [offset, setOffset] = useState("0");
  const [time, setTime] = useState("");
  const [partition, setPartition] = useState<number | null>(null);
  const [filter, setFilter] = useState("");
  // What the running tail uses: changed by "Apply", not by each keystroke.
  const [applied, setApplied] = useState({ from: start as string, partition: null as number | null, filter: "" });
  const [generation, setGeneration] = useState(0);
  const [paused, setPaused] = useState(false);
  const [view, setView] = useState<"table" | "json">("table");
  const [field, setField] = useState("");
  const [timeField, setTimeField] = useState("timestamp");
  const from = startPosition(startKind, offset, time);
  const url = api.live.tailUrl(name, { ...applied, ...(cluster ? { cluster } : {}) });
  const tail = useTail(url, paused, generation);
  const rows = useMemo(() => tail.records.map(tailRow), [tail.records]);
  const times = useMemo(() => timeFields(rows), [rows]);
  const axis = times.includes(timeField) ? timeField : "timestamp";
  const fields = useMemo(() => numericFields(rows).filter((f) => f !== axis), [rows, axis]);
  const charted = fields.includes(field) ? field : fields[0];
  const chart = useMemo(
    () => (charted ? fieldSeries(rows, charted, axis) : null),
    [rows, charted, axis],
  );
  const apply = () => {
    if (from === null) return;
    setApplied({ from, partition, filter });
    setGeneration((g) => g + 1);
    setPaused(false);
  };
  const exportOptions = {
    from: applied.from === "latest" ? "beginning" : applied.from,
    partition: applied.partition,
    filter: applied.filter,
    ...(cluster ? { cluster } : {}),
  };
  return (
    <>
      <form
        className="tail-controls"
        onSubmit={(event) => {
          event.preventDefault();
          apply();
        }}
      >
        <label className="inline">
          Start
          <select name="start" value={startKind} onChange={(e) => setStartKind(e.target.value as StartKind)}>
            <option value="latest">latest</option>
            <option value="beginning">beginning</option>
            <option value="offset">offset</option>
            <option value="time">time</option>
          </select>
        </label>
        {startKind === "offset" && (
          <input aria-label="Start offset" type="number" min={0} value={offset} onChange={(e) => setOffset(e.target.value)} />
        )}
        {startKind === "time" && (
          <input aria-label="Start time" type="datetime-local" step={1} value={time} onChange={(e) => setTime(e.target.value)} />
        )}
        <label className="inline">
          Partition
          <select
            name="partition"
            value={partition ?? ""}
            onChange={(e) => setPartition(e.target.value === "" ? null : Number(e.target.value))}
          >
            <option value="">all</option>
            {Array.from({ length: partitions }, (_, p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label className="inline grow">
          Filter
          <input
            name="filter"
            placeholder="value.amount > `100`"
            title={FILTER_HINT}
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
          />
        </label>
        <button type="submit" className="primary" disabled={from === null}>
          Apply
        </button>
      </form>
      <div className="muted hint">{FILTER_HINT}</div>
      <div className="toolbar">
        <span role="status" data-testid="tail-status">
          <span className={`dot dot-${tail.status}`} aria-hidden="true" /> {STATUS_TEXT[tail.status]} ·{" "}
          <span data-testid="tail-count">{tail.records.length}</span> records
          {tail.held > 0 && ` · ${tail.held} held`}
          {tail.skipped > 0 && ` · ${tail.skipped} skipped (rate cap)`}
        </span>
        <span className="toolbar-actions">
          <button type="button" onClick={() => setPaused(!paused)} disabled={tail.status === "failed"}>
            {paused ? "Resume" : "Pause"}
          </button>
          <div className="segmented" role="group" aria-label="View">
            <button type="button" aria-pressed={view === "table"} onClick={() => setView("table")}>
              Table
            </button>
            <button type="button" aria-pressed={view === "json"} onClick={() => setView("json")}>
              JSON
            </button>
          </div>
          <a className="button" href={api.live.exportUrl(name, "csv", exportOptions)} download>
            Export CSV
          </a>
          <a className="button" href={api.live.exportUrl(name, "jsonl", exportOptions)} download>
            Export JSON lines
          </a>
        </span>
      </div>
      {tail.error && <ErrorBox error={tail.error} retry={tail.status === "failed" ? apply : undefined} />}
      {rows.length === 0 ? (
        <Empty title="No records yet">
          {applied.from === "latest" ? "New records show up here as they arrive." : "Waiting for records."}
        </Empty>
      ) : view === "table" ? (
        <RecordTable rows={rows} label="Live records" height={tableHeight} />
      ) : (
        <pre className="json-view" aria-label="Live records as JSON">
          {tail.records
            .slice(-200)
            .map((r) => JSON.stringify(r))
            .join("\n")}
        </pre>
      )}
      {fields.length > 0 && chart && charted && (
        <div className="chart-block">
          <div className="chart-controls">
            <label className="inline">
              Chart field
              <select name="chart-field" aria-label="Chart field" value={charted} onChange={(e) => setField(e.target.value)}>
                {fields.map((f) => (
                  <option key={f}>{f}</option>
                ))}
              </select>
            </label>
            <label className="inline">
              over
              <select name="time-field" aria-label="Time axis" value={axis} onChange={(e) => setTimeField(e.target.value)}>
                {times.map((f) => (
                  <option key={f} value={f}>
                    {f === "timestamp" ? "record time" : `${f} (event time)`}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <TimeChart title={`${charted} over ${axis === "timestamp" ? "record time" : axis}`} data={chart} labels={[charted]} />
        </div>
      )}
    </>
  );
}
