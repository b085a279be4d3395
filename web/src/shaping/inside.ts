/** What a deployment's app reports about itself, shaped for the "inside the app" panel. */
import type uPlot from "uplot";

import type { DeploymentStep, DeploymentSteps } from "../api/types";

/** A step (or app) at or above this share of the loop's time is busy: it holds the loop back. */
export const BUSY_AT = 0.5;

export function isBusy(ratio: number | null | undefined): boolean {
  return ratio !== null && ratio !== undefined && ratio >= BUSY_AT;
}

export function formatPercent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? "—" : `${Math.round(ratio * 100)}%`;
}

/** A lag in seconds as a short duration: 850 ms, 12.3 s, 4 min. */
export function formatLag(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** An event-time watermark (epoch ms) as the time of day it stands at. */
export function formatWatermark(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "—" : new Date(ms).toISOString().slice(11, 23);
}

/** The mean checkpoint duration per sample, in milliseconds, for a chart. */
export function checkpointChart(steps: DeploymentSteps): uPlot.AlignedData {
  const points = (steps.checkpoints ?? []).filter((p) => p.mean_seconds !== null);
  return [points.map((p) => p.at), points.map((p) => (p.mean_seconds ?? 0) * 1000)];
}

/** The loop's busy share over time, in percent, for a chart. */
export function busyChart(steps: DeploymentSteps): uPlot.AlignedData {
  const points = steps.busy_history ?? [];
  return [points.map((p) => p.at), points.map((p) => p.ratio * 100)];
}

export function lastCheckpointMs(steps: DeploymentSteps): number | null {
  const done = (steps.checkpoints ?? []).filter((p) => p.mean_seconds !== null);
  const last = done[done.length - 1];
  return last?.mean_seconds == null ? null : last.mean_seconds * 1000;
}

export function stepHasEventTime(step: DeploymentStep): boolean {
  return step.watermark !== null && step.watermark !== undefined;
}
