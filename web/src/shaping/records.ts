/** Records (tail records, preview outputs) shaped for tables and charts. */

import type { TailRecord } from "../api/types";

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

/** Nested objects become dotted columns (`user.name`); arrays are shown as JSON. */
export function flatten(value: unknown, prefix = "", into: Row = {}): Row {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) into[prefix] = "{}";
    for (const [key, inner] of entries) flatten(inner, prefix ? `${prefix}.${key}` : key, into);
    return into;
  }
  const key = prefix || "value";
  if (value === null || value === undefined) into[key] = null;
  else if (typeof value === "number" || typeof value === "boolean" || typeof value === "string")
    into[key] = value;
  else into[key] = JSON.stringify(value);
  return into;
}

/** A tail record as a row: position, time and key first, then each header (`headers.NAME`, the
 * last one of a name), then the value's fields. */
export function tailRow(record: TailRecord): Row {
  const row: Row = {
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null || record.key === undefined ? null : cellText(record.key),
  };
  for (const [name, text] of record.headers ?? []) row[`headers.${name}`] = text;
  const value = isPlainObject(record.value) ? flatten(record.value) : { value: cellOf(record.value) };
  for (const [name, cell] of Object.entries(value)) row[name in row ? `value.${name}` : name] = cell;
  if (record.error) row.error = record.error;
  return row;
}

function isPlainObject(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function cellOf(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "string")
    return value;
  return JSON.stringify(value);
}

function cellText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Every column of the rows, in the order they first appear. */
export function columnsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
  return [...seen];
}

const POSITION_COLUMNS = new Set(["partition", "offset", "timestamp", "_timestamp"]);

/** Columns that hold a number in some row, positions and times (epoch milliseconds, such as
 * window bounds) left out: what can be charted. */
export function numericFields(rows: readonly Row[]): string[] {
  const times = new Set(timeFields(rows));
  const found = new Set<string>();
  for (const row of rows)
    for (const [key, value] of Object.entries(row))
      if (typeof value === "number" && Number.isFinite(value) && !POSITION_COLUMNS.has(key) && !times.has(key))
        found.add(key);
  return [...found].sort();
}

const EPOCH_MS_MIN = 946_684_800_000; // 2000-01-01
const EPOCH_MS_MAX = 4_102_444_800_000; // 2100-01-01

/**
 * Columns that can be the chart's time axis: the record's `timestamp`, then value fields holding
 * epoch milliseconds in every row that has them (event times such as `ts`).
 */
export function timeFields(rows: readonly Row[]): string[] {
  const candidates = new Map<string, boolean>();
  for (const row of rows)
    for (const [key, value] of Object.entries(row)) {
      if (key === "timestamp" || key === "offset" || key === "partition" || value === null) continue;
      const fits = typeof value === "number" && value >= EPOCH_MS_MIN && value <= EPOCH_MS_MAX;
      candidates.set(key, (candidates.get(key) ?? true) && fits);
    }
  const found = [...candidates].filter(([, fits]) => fits).map(([key]) => key).sort();
  return ["timestamp", ...found];
}

/**
 * `[x, y]` arrays for uPlot: epoch seconds of each record's timestamp and its `field`, sorted by
 * time; records without a timestamp or a number in the field are left out.
 */
export function fieldSeries(rows: readonly Row[], field: string, time = "timestamp"): [number[], number[]] {
  const points: [number, number][] = [];
  for (const row of rows) {
    const at = row[time];
    const value = row[field];
    if (typeof at === "number" && typeof value === "number" && Number.isFinite(value))
      points.push([at / 1000, value]);
  }
  points.sort((a, b) => a[0] - b[0]);
  return [points.map((p) => p[0]), points.map((p) => p[1])];
}

/** `items` after `list`, keeping the newest `max`. */
export function appendCapped<T>(list: readonly T[], items: readonly T[], max: number): T[] {
  const joined = list.concat(items);
  return joined.length > max ? joined.slice(joined.length - max) : joined;
}

export type StartKind = "latest" | "beginning" | "offset" | "time";

/** The tail's `from` for a start choice; null when the offset or time is not filled in right. */
export function startPosition(kind: StartKind, offset: string, time: string): string | null {
  if (kind === "latest" || kind === "beginning") return kind;
  if (kind === "offset") return /^\d+$/.test(offset.trim()) ? `offset:${offset.trim()}` : null;
  const ms = Date.parse(time);
  return Number.isNaN(ms) || ms < 0 ? null : `timestamp:${ms}`;
}

const SMALL = new Intl.NumberFormat("en", { maximumSignificantDigits: 4 });
const LARGE = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });

/** A date (UTC, to the millisecond) for epoch milliseconds. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** Floats rounded for reading (two decimals, or four significant digits below 1); whole numbers
 * as they are. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1 ? LARGE.format(value) : SMALL.format(value);
}

/** A cell as shown, and its raw value for a tooltip when they differ: times (the record's
 * timestamp and the `times` columns, such as window bounds) as dates, floats rounded, null as an
 * em dash. */
export function formatCell(
  column: string,
  value: Cell | undefined,
  times: ReadonlySet<string> = new Set(),
): { text: string; raw?: string } {
  if (value === null || value === undefined) return { text: "—" };
  if (typeof value === "number") {
    const isTime = column === "timestamp" || column === "_timestamp" || times.has(column);
    const text = isTime ? formatTime(value) : formatNumber(value);
    return text === String(value) ? { text } : { text, raw: String(value) };
  }
  return { text: String(value) };
}
