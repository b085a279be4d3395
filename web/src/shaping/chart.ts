/** Axes of the time charts: value ticks that fit however large the numbers, dates that do not
 * collide. */

const COMPACT = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
const ROUNDED = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });

/** A value axis tick: compact from ten thousand up (12.5K, 1.3M), rounded below. */
export function valueTick(value: number): string {
  return Math.abs(value) >= 10_000 ? COMPACT.format(value) : ROUNDED.format(value);
}

/** Pixels the value axis needs so its longest label is not clipped (about 7 px a character at
 * the chart's 12 px font, plus the tick and a gap). */
export function axisWidth(labels: readonly (string | null | undefined)[], charPx = 7): number {
  const longest = Math.max(0, ...labels.map((label) => (label ?? "").length));
  return Math.max(40, Math.ceil(longest * charPx) + 20);
}

/** Least pixels between two time ticks: a date-and-time label is about 80 px wide. */
export const TIME_TICK_SPACE = 90;

/** The time axis' range: points all at one time (a batch produced at once) span two seconds
 * around it, where uPlot would stretch the axis over years. */
export function timeRange(min: number, max: number): [number, number] {
  return min === max ? [min - 1, max + 1] : [min, max];
}
