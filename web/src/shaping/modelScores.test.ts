import { describe, expect, it } from "vitest";

import type { ModelScorePoint } from "../api/types";
import { driftLevel, meanScore, scoreChart, versionsOf } from "./modelScores";

function point(at: number, version: string, bins: number[], rate = 10): ModelScorePoint {
  return { at, version, records_per_second: rate, batch_ms: 1, bins, drift: null };
}

const LOW = [4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const HIGH = [0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

describe("model scores", () => {
  it("takes each bin at its middle for the mean", () => {
    expect(meanScore(LOW)).toBeCloseTo(0.05);
    expect(meanScore([1, 0, 0, 0, 0, 0, 0, 0, 0, 1])).toBeCloseTo(0.5);
    expect(meanScore([0, 0])).toBeNull();
  });

  it("draws one line per version, each only where it scored", () => {
    const points = [point(1, "1", LOW), point(2, "2", HIGH), point(3, "1", LOW)];
    expect(versionsOf(points)).toEqual(["1", "2"]);
    const chart = scoreChart(points);
    expect(chart.labels).toEqual(["v1", "v2"]);
    expect(chart.scored).toBe(true);
    expect(chart.data[0]).toEqual([1, 2, 3]);
    expect(chart.data[1]?.[1]).toBeNull();
    expect(chart.data[2]?.[0]).toBeNull();
    expect(chart.data[2]?.[1]).toBeCloseTo(0.95);
  });

  it("charts records per second for a model without scores", () => {
    const chart = scoreChart([point(1, "", [], 12)]);
    expect(chart).toEqual({ data: [[1], [12]], labels: ["model file"], scored: false });
  });

  it("reads drift as people do", () => {
    expect(driftLevel(null)).toBe("unknown");
    expect(driftLevel(0.02)).toBe("stable");
    expect(driftLevel(0.2)).toBe("moderate");
    expect(driftLevel(0.9)).toBe("drifted");
  });
});
