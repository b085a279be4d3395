/** Metric series of the platform shaped for uPlot, and preview errors for the editor. */

import type { Frame, PreviewError, Series } from "../api/types";

export interface ChartData {
  /** uPlot's columns: shared x (epoch seconds), then one y per series (null where missing). */
  data: [number[], ...(number | null)[][]];
  labels: string[];
}

/** A series' legend label: its name and labels, e.g. `lag group=billing`. */
export function seriesLabel(series: Series): string {
  const labels = Object.entries(series.labels).map(([k, v]) => `${k}=${v}`);
  return labels.length ? `${series.name} ${labels.join(",")}` : series.name;
}

/** Several series on one shared time axis, the union of their times. */
export function alignSeries(series: readonly Series[]): ChartData {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const column: (number | null)[] = times.map(() => null);
    for (const [t, v] of s.points) column[index.get(t) ?? 0] = v;
    return column;
  });
  return { data: [times, ...ys], labels: series.map(seriesLabel) };
}

/** The series called one of `names`, in that order of names. */
export function pickSeries(series: readonly Series[], ...names: string[]): Series[] {
  return names.flatMap((name) => series.filter((s) => s.name === name));
}

/** The line to mark in `path` for a preview error: the deepest frame in that file. */
export function errorLine(error: PreviewError | null | undefined, path: string): Frame | undefined {
  if (!error) return undefined;
  const frames = error.frames.filter((f) => f.file === path);
  return frames[frames.length - 1];
}
