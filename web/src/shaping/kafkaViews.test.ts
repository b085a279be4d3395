import { describe, expect, it } from "vitest";

import type { ConfigEntry } from "../api/types";
import { assignmentText, lagChart } from "./groups";
import { configChange, configRows, editableValues } from "./topicConfig";

const entry = (value: string | null, editable = false): ConfigEntry => ({
  value,
  default: false,
  read_only: false,
  editable,
});

describe("topic settings", () => {
  const config = {
    "segment.bytes": entry("1024"),
    "cleanup.policy": entry("delete", true),
    "retention.ms": entry("604800000", true),
    "compression.type": entry("producer"),
  };

  it("shows the main settings first, the rest by name", () => {
    const rows = configRows(config);
    expect(rows.main.map((r) => r.key)).toEqual(["retention.ms", "cleanup.policy"]);
    expect(rows.others.map((r) => r.key)).toEqual(["compression.type", "segment.bytes"]);
  });

  it("sends only what changed, an emptied value as the broker's default", () => {
    const before = editableValues(config);
    expect(before).toEqual({ "cleanup.policy": "delete", "retention.ms": "604800000" });
    expect(configChange(before, { ...before })).toBeUndefined();
    expect(configChange(before, { ...before, "retention.ms": " 3600000 " })).toEqual({ "retention.ms": "3600000" });
    expect(configChange(before, { ...before, "cleanup.policy": "" })).toEqual({ "cleanup.policy": null });
  });
});

describe("consumer groups", () => {
  it("writes a member's partitions per topic, sorted", () => {
    const member = { member_id: "m", client_id: "c", host: "/h", assignment: [["b", 2], ["a", 1], ["b", 0]] as [string, number][] };
    expect(assignmentText(member)).toBe("a[1] b[0,2]");
    expect(assignmentText({ ...member, assignment: [] })).toBe("none");
  });

  it("draws one lag line per partition", () => {
    const chart = lagChart({
      cluster: "c",
      group: "g",
      sample_seconds: 5,
      keep_seconds: 3600,
      series: [
        { name: "lag", labels: { topic: "t", partition: "0" }, points: [[10, 3], [15, 1]] },
        { name: "lag", labels: { topic: "t", partition: "1" }, points: [[15, 0]] },
      ],
    });
    expect(chart.labels).toEqual(["t[0]", "t[1]"]);
    expect(chart.data).toEqual([[10, 15], [3, 1], [null, 0]]);
  });
});
