/** A topic's history a page at a time, by offset or time, as far as its end: every record, none
 * skipped (the live tail, by contrast, is capped). */
import { useMemo, useState } from "react";

import { useRecordPage } from "../api/queries";
import { Empty, ErrorBox, Loading } from "../components/States";
import { RecordTable } from "../components/RecordTable";
import { formatCount } from "../shaping/format";
import { startPosition, type StartKind, tailRow } from "../shaping/records";
import { FieldChart } from "./FieldChart";

const PAGE_SIZES = [50, 100, 500];

export interface PageChoice {
  from: string;
  partition: number | null;
  filter: string;
  limit: number;
}

export function RecordPages(props: {
  name: string;
  cluster?: string | undefined;
  partitions: number;
  tableHeight?: number | undefined;
  filterHint: string;
  /** The range being browsed, for the export links. */
  onChoice: (choice: PageChoice) => void;
}) {
  const [startKind, setStartKind] = useState<Exclude<StartKind, "latest">>("beginning");
  const [offset, setOffset] = useState("0");
  const [time, setTime] = useState("");
  const [partition, setPartition] = useState<number | null>(null);
  const [filter, setFilter] = useState("");
  const [limit, setLimit] = useState(100);
  const [applied, setApplied] = useState<PageChoice>({ from: "beginning", partition: null, filter: "", limit: 100 });
  // The cursors of the pages before this one (for "Previous"), and this page's (null: the start).
  const [trail, setTrail] = useState<string[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const from = startPosition(startKind, offset, time);
  const page = useRecordPage(props.cluster, props.name, { ...applied, cursor });
  const rows = useMemo(() => (page.data?.records ?? []).map(tailRow), [page.data]);
  const apply = () => {
    if (from === null) return;
    const choice = { from, partition, filter, limit };
    setApplied(choice);
    props.onChoice(choice);
    setTrail([]);
    setCursor(null);
  };
  const data = page.data;
  const first = data ? data.before + 1 : 0;
  const last = data ? data.before + data.records.length : 0;
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
          From
          <select
            name="page-from"
            value={startKind}
            onChange={(e) => setStartKind(e.target.value as Exclude<StartKind, "latest">)}
          >
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
            name="page-partition"
            value={partition ?? ""}
            onChange={(e) => setPartition(e.target.value === "" ? null : Number(e.target.value))}
          >
            <option value="">all</option>
            {Array.from({ length: props.partitions }, (_, p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label className="inline grow">
          Filter
          <input name="page-filter" placeholder="value.amount > `100`" title={props.filterHint} value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
        <label className="inline">
          Page
          <select name="page-size" aria-label="Records per page" value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary" disabled={from === null}>
          Apply
        </button>
      </form>
      <div className="toolbar">
        <span role="status" data-testid="page-status">
          {data
            ? data.records.length === 0
              ? `No records here · ${formatCount(data.total)} in the topic`
              : `Records ${formatCount(first)}–${formatCount(last)} of ${formatCount(data.total)}`
            : "Reading…"}
          {data && (data.at_end ? " · end of topic" : "")}
          {applied.filter.trim() && " (filtered: positions count every record)"}
        </span>
        <span className="toolbar-actions">
          <button
            type="button"
            disabled={cursor === null || page.isFetching}
            onClick={() => {
              setTrail([]);
              setCursor(null);
            }}
          >
            First page
          </button>
          <button
            type="button"
            disabled={trail.length === 0 && cursor === null}
            onClick={() => {
              setCursor(trail.length ? (trail[trail.length - 1] ?? null) : null);
              setTrail(trail.slice(0, -1));
            }}
          >
            Previous
          </button>
          <button
            type="button"
            disabled={!data || data.at_end || page.isFetching}
            onClick={() => {
              if (!data) return;
              if (cursor !== null) setTrail([...trail, cursor]);
              else setTrail([]);
              setCursor(data.next);
            }}
          >
            Next
          </button>
          <button type="button" disabled={page.isFetching} onClick={() => void page.refetch()} title="Read this page again: newer records may have arrived">
            Refresh
          </button>
        </span>
      </div>
      {page.error ? <ErrorBox error={page.error} retry={() => void page.refetch()} /> : null}
      {page.isPending ? (
        <Loading what="records" />
      ) : rows.length === 0 ? (
        <Empty title="No records on this page">The topic holds none from here{applied.filter.trim() ? " that match the filter" : ""}.</Empty>
      ) : (
        <RecordTable rows={rows} label="Records page" height={props.tableHeight} />
      )}
      <FieldChart rows={rows} />
    </>
  );
}
