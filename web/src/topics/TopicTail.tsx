/** A topic's records: "Live" follows new records as they arrive (capped in rate, and it says
 * so), "Pages" reads its history a page at a time; both export what they show. */
import { useMemo, useState } from "react";

import { api } from "../api";
import { Empty, ErrorBox } from "../components/States";
import { RecordTable } from "../components/RecordTable";
import { useTail, type TailStatus } from "../live/useTail";
import { formatCount } from "../shaping/format";
import { tailRow } from "../shaping/records";
import { FieldChart } from "./FieldChart";
import { type PageChoice, RecordPages } from "./RecordPages";

const FILTER_HINT =
  "JMESPath over {topic, partition, offset, timestamp, key, value, headers}, e.g. value.amount > `100` && key == 'ann'";
const STATUS_TEXT: Record<TailStatus, string> = {
  idle: "not started",
  connecting: "connecting…",
  live: "live",
  paused: "paused",
  ended: "ended",
  failed: "stopped",
};
/** Records a second the live view is sent at most (the server's default cap). */
const LIVE_RATE = 200;

export interface TopicTailProps {
  name: string;
  cluster?: string | undefined;
  /** The topic's partition count, for the partition choice (0 while unknown). */
  partitions: number;
  /** Height of the record table in pixels. */
  tableHeight?: number;
}

export function TopicTail(props: TopicTailProps) {
  const [mode, setMode] = useState<"live" | "pages">("live");
  const [range, setRange] = useState<{ from: string; partition: number | null; filter: string }>({
    from: "beginning",
    partition: null,
    filter: "",
  });
  const exportOptions = { ...range, ...(props.cluster ? { cluster: props.cluster } : {}) };
  return (
    <>
      <div className="toolbar mode-bar">
        <div className="segmented" role="group" aria-label="Records">
          <button type="button" aria-pressed={mode === "live"} onClick={() => setMode("live")}>
            Live
          </button>
          <button type="button" aria-pressed={mode === "pages"} onClick={() => setMode("pages")}>
            Pages
          </button>
        </div>
        <span className="muted">
          {mode === "live" ? "new records as they arrive" : "the topic's history, page by page, every record"}
        </span>
        <span className="toolbar-actions">
          <a className="button" href={api.live.exportUrl(props.name, "csv", exportOptions)} download>
            Export CSV
          </a>
          <a className="button" href={api.live.exportUrl(props.name, "jsonl", exportOptions)} download>
            Export JSON lines
          </a>
        </span>
      </div>
      {mode === "live" ? (
        <LiveTail {...props} onChoice={(partition, filter) => setRange({ from: "beginning", partition, filter })} />
      ) : (
        <RecordPages
          name={props.name}
          cluster={props.cluster}
          partitions={props.partitions}
          tableHeight={props.tableHeight}
          filterHint={FILTER_HINT}
          onChoice={(choice: PageChoice) => setRange(choice)}
        />
      )}
    </>
  );
}

function LiveTail(props: TopicTailProps & { onChoice: (partition: number | null, filter: string) => void }) {
  const { name, cluster, partitions, tableHeight } = props;
  const [partition, setPartition] = useState<number | null>(null);
  const [filter, setFilter] = useState("");
  // What the running tail uses: changed by "Apply", not by each keystroke.
  const [applied, setApplied] = useState({ partition: null as number | null, filter: "" });
  const [generation, setGeneration] = useState(0);
  const [paused, setPaused] = useState(false);
  const [view, setView] = useState<"table" | "json">("table");
  const url = api.live.tailUrl(name, { from: "latest", ...applied, rate: LIVE_RATE, ...(cluster ? { cluster } : {}) });
  const tail = useTail(url, paused, generation);
  const rows = useMemo(() => tail.records.map(tailRow), [tail.records]);
  const apply = () => {
    setApplied({ partition, filter });
    props.onChoice(partition, filter);
    setGeneration((g) => g + 1);
    setPaused(false);
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
        <button type="submit" className="primary">
          Apply
        </button>
      </form>
      <div className="muted hint">{FILTER_HINT}</div>
      <div className="toolbar">
        <span role="status" data-testid="tail-status">
          <span className={`dot dot-${tail.status}`} aria-hidden="true" /> {STATUS_TEXT[tail.status]} ·{" "}
          <span data-testid="tail-count">{tail.records.length}</span> records
          {tail.held > 0 && ` · ${tail.held} held`}
          {tail.skipped > 0 &&
            ` · ${formatCount(tail.skipped)} skipped: the live view shows at most ${LIVE_RATE} a second; Pages shows every record`}
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
        </span>
      </div>
      {tail.error && <ErrorBox error={tail.error} retry={tail.status === "failed" ? apply : undefined} />}
      {rows.length === 0 ? (
        <Empty title="No records yet">New records show up here as they arrive; Pages shows those already there.</Empty>
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
      <FieldChart rows={rows} />
    </>
  );
}
