/** Numbers, rates and dates as the pages show them. */

const COMPACT = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
const PLAIN = new Intl.NumberFormat("en");

/** 1234 -> "1,234"; 1_250_000 -> "1.3M". */
export function formatCount(value: number): string {
  return Math.abs(value) < 100_000 ? PLAIN.format(value) : COMPACT.format(value);
}

/** Records per second, with an optional unit ("msg" -> "12 msg/s"); null (not measured yet) -> "—". */
export function formatRate(rate: number | null | undefined, unit = ""): string {
  if (rate === null || rate === undefined || Number.isNaN(rate)) return "—";
  const per = unit ? ` ${unit}/s` : "/s";
  if (rate === 0) return `0${per}`;
  if (rate < 1) return `${rate.toFixed(2)}${per}`;
  if (rate < 10) return `${rate.toFixed(1)}${per}`;
  return `${formatCount(Math.round(rate))}${per}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago", else the date. */
export function formatAgo(iso: string, now: Date = new Date()): string {
  const then = new Date(iso);
  const seconds = Math.round((now.getTime() - then.getTime()) / 1000);
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  if (seconds < 7 * 86_400) return `${Math.round(seconds / 86_400)} d ago`;
  return then.toISOString().slice(0, 10);
}

export function shortId(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 8) : "—";
}

/** A retention in ms as "7 d", "forever" (-1) or "—" when the broker did not say. */
export function formatRetention(ms: string | undefined): string {
  if (ms === undefined) return "—";
  const value = Number(ms);
  if (value < 0) return "forever";
  if (value % 86_400_000 === 0) return `${value / 86_400_000} d`;
  if (value % 3_600_000 === 0) return `${value / 3_600_000} h`;
  if (value % 60_000 === 0) return `${value / 60_000} min`;
  return `${value} ms`;
}
