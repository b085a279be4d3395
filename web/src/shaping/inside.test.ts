import { describe, expect, it } from "vitest";

import type { DeploymentSteps } from "../api/types";
import { busyChart, checkpointChart, formatLag, formatPercent, formatWatermark, isBusy, lastCheckpointMs } from "./inside";

const STEPS: DeploymentSteps = {
  deployment: 1,
  sample_seconds: 5,
  window_seconds: 15,
  steps: [],
  busy_ratio: 0.8,
  busy_history: [
    { at: 100, ratio: 0.5 },
    { at: 105, ratio: 0.8 },
  ],
  checkpoints: [
    { at: 100, checkpoints: 2, mean_seconds: 0.05, offsets: 4, changelog_records: 10, failures: 0 },
    { at: 105, checkpoints: 0, mean_seconds: null, offsets: 0, changelog_records: 0, failures: 1 },
    { at: 110, checkpoints: 1, mean_seconds: 0.02, offsets: 2, changelog_records: 0, failures: 0 },
  ],
};

describe("inside an app", () => {
  it("marks a step busy from half of the loop's time", () => {
    expect(isBusy(0.5)).toBe(true);
    expect(isBusy(0.49)).toBe(false);
    expect(isBusy(null)).toBe(false);
    expect(isBusy(undefined)).toBe(false);
    expect(formatPercent(0.834)).toBe("83%");
    expect(formatPercent(null)).toBe("—");
  });

  it("charts only the samples where checkpoints completed, in milliseconds", () => {
    expect(checkpointChart(STEPS)).toEqual([
      [100, 110],
      [50, 20],
    ]);
    expect(lastCheckpointMs(STEPS)).toBe(20);
    expect(lastCheckpointMs({ ...STEPS, checkpoints: [] })).toBeNull();
    expect(busyChart(STEPS)).toEqual([
      [100, 105],
      [50, 80],
    ]);
  });

  it("writes lags and watermarks short", () => {
    expect(formatLag(0.25)).toBe("250 ms");
    expect(formatLag(12.34)).toBe("12.3 s");
    expect(formatLag(600)).toBe("10 min");
    expect(formatLag(null)).toBe("—");
    expect(formatWatermark(Date.UTC(2026, 0, 1, 12, 30, 5, 250))).toBe("12:30:05.250");
    expect(formatWatermark(undefined)).toBe("—");
  });
});
