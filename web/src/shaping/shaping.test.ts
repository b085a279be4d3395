import { describe, expect, it } from "vitest";

import type { Topic } from "../api/types";
import { allows } from "../auth/roles";
import { axisWidth, TIME_TICK_SPACE, timeRange, valueTick } from "./chart";
import { buildFileTree, defaultFile, languageFor, pathProblem } from "./fileTree";
import { formatAgo, formatCount, formatRate, formatRetention } from "./format";
import { shapeTopics, topicNameProblem } from "./topics";

describe("file tree", () => {
  it("nests paths with folders first, each sorted by name", () => {
    const tree = buildFileTree(["z.py", "lib/b.py", "a.py", "lib/a/x.py", "headwater.yaml"]);
    expect(tree.map((n) => `${n.kind}:${n.path}`)).toEqual([
      "folder:lib",
      "file:a.py",
      "file:headwater.yaml",
      "file:z.py",
    ]);
    const lib = tree[0];
    expect(lib?.children.map((n) => n.path)).toEqual(["lib/a", "lib/b.py"]);
    expect(lib?.children[0]?.children.map((n) => n.path)).toEqual(["lib/a/x.py"]);
  });

  it("picks an editor language and a first file to open", () => {
    expect(languageFor("app.py")).toBe("python");
    expect(languageFor("headwater.yaml")).toBe("yaml");
    expect(languageFor("Makefile")).toBe("plaintext");
    expect(defaultFile(["headwater.yaml", "lib/x.py", "app.py"])).toBe("app.py");
    expect(defaultFile(["README.md"])).toBe("README.md");
    expect(defaultFile([])).toBeUndefined();
  });

  it("explains a bad new file path", () => {
    expect(pathProblem("", [])).toMatch(/enter a path/);
    expect(pathProblem("/abs.py", [])).toMatch(/relative/);
    expect(pathProblem("a/../b.py", [])).toMatch(/'\.\.'/);
    expect(pathProblem("app.py", ["app.py"])).toMatch(/exists already/);
    expect(pathProblem("lib/new.py", ["app.py"])).toBeNull();
  });
});

describe("formatting", () => {
  it("formats counts, rates and retention", () => {
    expect(formatCount(1234)).toBe("1,234");
    expect(formatCount(1_250_000)).toBe("1.3M");
    expect(formatRate(null)).toBe("—");
    expect(formatRate(0.25)).toBe("0.25/s");
    expect(formatRate(2520.4)).toBe("2,520/s");
    expect(formatRetention("604800000")).toBe("7 d");
    expect(formatRetention("-1")).toBe("forever");
    expect(formatRetention(undefined)).toBe("—");
  });

  it("labels chart axes so large numbers fit", () => {
    expect(valueTick(12_500)).toBe("12.5K");
    expect(valueTick(1_250_000)).toBe("1.3M");
    expect(valueTick(0.125)).toBe("0.13");
    expect(valueTick(250)).toBe("250");
    // Wide enough for the longest label: "1,234,567" would need 83 px, "1.2M" fits in 48.
    expect(axisWidth(["0", "1.2M"])).toBe(48);
    expect(axisWidth(["12,345.67"])).toBeGreaterThanOrEqual(9 * 7);
    expect(axisWidth([])).toBe(40);
  });

  it("keeps time ticks apart and a time axis of one instant short", () => {
    // uPlot's longest time label at seconds' resolution, on one line of its two.
    expect(TIME_TICK_SPACE).toBeGreaterThanOrEqual(axisWidth(["12:59:59pm"]));
    expect(timeRange(1_700_000_000, 1_700_000_000)).toEqual([1_699_999_999, 1_700_000_001]);
    expect(timeRange(10, 20)).toEqual([10, 20]);
  });

  it("says how long ago", () => {
    const now = new Date("2026-03-01T12:00:00Z");
    expect(formatAgo("2026-03-01T11:59:50Z", now)).toBe("just now");
    expect(formatAgo("2026-03-01T11:55:00Z", now)).toBe("5 min ago");
    expect(formatAgo("2026-01-01T00:00:00Z", now)).toBe("2026-01-01");
  });
});

describe("topics", () => {
  const topic = (name: string, messages: number, rate: number | null, internal = false): Topic => ({
    cluster: "default",
    name,
    partitions: 1,
    replication: 1,
    config: null,
    messages,
    rate,
    internal,
  });
  const all = [topic("orders", 10, 2), topic("__offsets", 5, null, true), topic("clicks", 3, null)];

  it("hides internal topics, sorts and totals", () => {
    const view = shapeTopics(all, "", false);
    expect(view.topics.map((t) => t.name)).toEqual(["clicks", "orders"]);
    expect(view.hiddenInternal).toBe(1);
    expect(view.totalMessages).toBe(13);
    expect(view.totalRate).toBe(2);
    expect(shapeTopics(all, "ORD", true).topics.map((t) => t.name)).toEqual(["orders"]);
    expect(shapeTopics([all[2]!], "", false).totalRate).toBeNull();
  });

  it("checks topic names like the server", () => {
    expect(topicNameProblem("orders.v1")).toBeNull();
    expect(topicNameProblem("has space")).toMatch(/letters, digits/);
    expect(topicNameProblem("__mine")).toMatch(/reserved/);
  });
});

describe("roles", () => {
  it("lets each role do what the ones below it may", () => {
    expect(allows("admin", "editor")).toBe(true);
    expect(allows("editor", "editor")).toBe(true);
    expect(allows("viewer", "editor")).toBe(false);
    expect(allows(undefined, "viewer")).toBe(false);
  });
});
