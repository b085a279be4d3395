/** What deployments scored with the project's models, shaped for the Models tab's charts. */
import type uPlot from "uplot";

import type { ModelScorePoint } from "../api/types";

/** The mean of a histogram of scores per tenth of [0, 1] (each bin at its middle); null when empty. */
export function meanScore(bins: number[]): number | null {
  const total = bins.reduce((sum, n) => sum + n, 0);
  if (total <= 0) return null;
  return bins.reduce((sum, n, i) => sum + n * ((i + 0.5) / bins.length), 0) / total;
}

/** The versions that scored, in the order they first did. */
export function versionsOf(points: ModelScorePoint[]): string[] {
  return [...new Set(points.map((p) => p.version))];
}

export function versionLabel(version: string): string {
  return version === "" ? "model file" : `v${version}`;
}

/**
 * The mean score per sample, one line per version (a point belongs to the version that scored
 * it, so a swap shows as one line ending and the next starting); records per second instead for
 * a model without scores (a regressor).
 */
export function scoreChart(points: ModelScorePoint[]): { data: uPlot.AlignedData; labels: string[]; scored: boolean } {
  const scored = points.some((p) => p.bins.length > 0);
  const versions = versionsOf(points);
  const value = (p: ModelScorePoint) => (scored ? meanScore(p.bins) : p.records_per_second);
  const data: uPlot.AlignedData = [
    points.map((p) => p.at),
    ...versions.map((v) => points.map((p) => (p.version === v ? value(p) : null))),
  ];
  return { data, labels: versions.map(versionLabel), scored };
}

/** Population stability index read as people do: below 0.1 stable, above 0.25 drifted. */
export function driftLevel(drift: number | null | undefined): "unknown" | "stable" | "moderate" | "drifted" {
  if (drift === null || drift === undefined) return "unknown";
  if (drift < 0.1) return "stable";
  return drift <= 0.25 ? "moderate" : "drifted";
}
