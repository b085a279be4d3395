import { describe, expect, it } from "vitest";

import { endpoints } from "../api/endpoints";
import { ApiClient } from "../api/client";
import { parseLogLine, parseTailEvent } from "../api/sse";
import type { PreviewError, Series } from "../api/types";
import { alignSeries, errorLine, pickSeries, seriesLabel } from "./metrics";
import {
  appendCapped,
  columnsOf,
  fieldSeries,
  flatten,
  formatCell,
  numericFields,
  startPosition,
  type Row,
  tailRow,
  timeFields,
} from "./records";

describe("server-sent events", () => {
  it("parses tail events and drops malformed ones", () => {
    expect(parseTailEvent("ready", '{"topic":"orders","rate":200}')).toEqual({
      kind: "ready",
      topic: "orders",
      rate: 200,
    });
    const record = parseTailEvent(
      "record",
      '{"partition":1,"offset":7,"timestamp":1000,"key":"ann","value":{"amount":3}}',
    );
    expect(record).toEqual({
      kind: "record",
      record: { partition: 1, offset: 7, timestamp: 1000, key: "ann", value: { amount: 3 } },
    });
    expect(parseTailEvent("skipped", '{"skipped":12,"rate":5}')).toEqual({
      kind: "skipped",
      skipped: 12,
      rate: 5,
    });
    expect(parseTailEvent("error", '{"detail":"broker gone"}')).toEqual({
      kind: "error",
      detail: "broker gone",
    });
    expect(parseTailEvent("record", "not json")).toBeNull();
    expect(parseTailEvent("record", '{"offset":1}')).toBeNull();
    expect(parseTailEvent("other", "{}")).toBeNull();
  });

  it("parses log lines", () => {
    const line = parseLogLine('{"seq":3,"time":"2026-01-01T00:00:00Z","replica":0,"text":"hi"}');
    expect(line?.text).toBe("hi");
    expect(line?.replica).toBe(0);
    expect(parseLogLine('{"seq":"x"}')).toBeNull();
  });

  it("builds tail and export URLs, leaving out empty options", () => {
    const api = endpoints(new ApiClient());
    expect(api.live.tailUrl("my orders", { from: "offset:5", partition: 0, filter: "  " })).toBe(
      "/api/topics/my%20orders/tail?from=offset%3A5&partition=0",
    );
    expect(
      api.live.exportUrl("orders", "csv", { from: "beginning", filter: "value.amount > `1`" }),
    ).toBe("/api/topics/orders/export?from=beginning&filter=value.amount+%3E+%601%60&format=csv");
    expect(api.deployments.logStreamUrl(4, 50)).toBe("/api/deployments/4/logs/stream?tail=50");
  });
});

describe("records", () => {
  it("flattens nested values into dotted columns", () => {
    expect(flatten({ a: 1, b: { c: "x", d: { e: true } }, list: [1, 2], none: null })).toEqual({
      a: 1,
      "b.c": "x",
      "b.d.e": true,
      list: "[1,2]",
      none: null,
    });
    expect(flatten(5)).toEqual({ value: 5 });
  });

  it("shapes a tail record into a row, keeping position columns apart", () => {
    const row = tailRow({
      partition: 0,
      offset: 9,
      timestamp: 1_000,
      key: { id: 1 },
      value: { amount: 2.5, offset: "theirs" },
    });
    expect(row).toEqual({
      partition: 0,
      offset: 9,
      timestamp: 1_000,
      key: '{"id":1}',
      amount: 2.5,
      "value.offset": "theirs",
    });
    expect(tailRow({ partition: 0, offset: 1, timestamp: null, key: null, value: "text" }).value).toBe(
      "text",
    );
  });

  it("finds columns and the numeric fields to chart", () => {
    const rows: Row[] = [
      { partition: 0, offset: 1, timestamp: 2_000, amount: 3, user: "ann" },
      { partition: 0, offset: 2, timestamp: 1_000, total: 4, user: "bob", amount: null },
    ];
    expect(columnsOf(rows)).toEqual(["partition", "offset", "timestamp", "amount", "user", "total"]);
    expect(numericFields(rows)).toEqual(["amount", "total"]);
    expect(fieldSeries(rows, "amount")).toEqual([[2], [3]]);
    expect(fieldSeries(rows.concat([{ ...rows[0]!, timestamp: 500, amount: 1 }]), "amount")).toEqual([
      [0.5, 2],
      [1, 3],
    ]);
  });

  it("offers epoch-millisecond fields as the chart's time axis", () => {
    const rows: Row[] = [
      { partition: 0, offset: 1, timestamp: 5, ts: 1_767_225_600_000, amount: 3, seen: null },
      { partition: 0, offset: 2, timestamp: 6, ts: 1_767_225_660_000, amount: 1_767_225_600_000 },
      { partition: 0, offset: 3, timestamp: 7, amount: 2 },
    ];
    expect(timeFields(rows)).toEqual(["timestamp", "ts"]);
    expect(fieldSeries(rows, "amount", "ts")).toEqual([
      [1_767_225_600, 1_767_225_660],
      [3, 1_767_225_600_000],
    ]);
  });

  it("keeps the newest records only", () => {
    expect(appendCapped([1, 2, 3], [4, 5], 4)).toEqual([2, 3, 4, 5]);
    expect(appendCapped([1], [2], 4)).toEqual([1, 2]);
  });

  it("turns start choices into a tail position", () => {
    expect(startPosition("latest", "", "")).toBe("latest");
    expect(startPosition("offset", " 42 ", "")).toBe("offset:42");
    expect(startPosition("offset", "-1", "")).toBeNull();
    expect(startPosition("time", "", "2026-01-01T00:00:00Z")).toBe("timestamp:1767225600000");
    expect(startPosition("time", "", "")).toBeNull();
  });

  it("formats cells: dates for times (raw on hover), rounded floats", () => {
    expect(formatCell("timestamp", 0)).toEqual({ text: "1970-01-01 00:00:00.000", raw: "0" });
    expect(formatCell("window_end", 1_767_225_600_000, new Set(["window_end"]))).toEqual({
      text: "2026-01-01 00:00:00.000",
      raw: "1767225600000",
    });
    expect(formatCell("window_end", 5)).toEqual({ text: "5" });
    expect(formatCell("score", 0.123456789)).toEqual({ text: "0.1235", raw: "0.123456789" });
    expect(formatCell("spend", 1234.5678)).toEqual({ text: "1,234.57", raw: "1234.5678" });
    expect(formatCell("orders", 3)).toEqual({ text: "3" });
    expect(formatCell("amount", null)).toEqual({ text: "—" });
    expect(formatCell("ok", true)).toEqual({ text: "true" });
  });

  it("shows each header as a column, after the key", () => {
    const row = tailRow({
      partition: 0,
      offset: 1,
      timestamp: 5,
      key: "k",
      value: { n: 1 },
      headers: [
        ["headwater.error.reason", "price is not a number"],
        ["trace", "a"],
        ["trace", "b"],
      ],
    });
    expect(Object.keys(row)).toEqual([
      "partition",
      "offset",
      "timestamp",
      "key",
      "headers.headwater.error.reason",
      "headers.trace",
      "n",
    ]);
    expect(row["headers.trace"]).toBe("b");
  });

  it("never offers an epoch-millisecond field as the default chart field", () => {
    const rows: Row[] = [
      { partition: 0, offset: 1, timestamp: 5, window_start: 1_767_225_600_000, orders: 3 },
      { partition: 0, offset: 2, timestamp: 6, window_start: 1_767_225_605_000, orders: 4 },
    ];
    expect(numericFields(rows)).toEqual(["orders"]);
  });
});

describe("metrics", () => {
  const series: Series[] = [
    { name: "rate", labels: {}, points: [[10, 1], [20, 2]] },
    { name: "lag", labels: { group: "g" }, points: [[20, 5], [30, 6]] },
    { name: "messages", labels: {}, points: [[10, 100]] },
  ];

  it("aligns series on a shared time axis", () => {
    const chart = alignSeries(pickSeries(series, "rate", "lag"));
    expect(chart.data).toEqual([
      [10, 20, 30],
      [1, 2, null],
      [null, 5, 6],
    ]);
    expect(chart.labels).toEqual(["rate", "lag group=g"]);
    expect(seriesLabel(series[2]!)).toBe("messages");
    expect(alignSeries([]).data).toEqual([[]]);
  });

  it("finds the line of a preview error in a file", () => {
    const error: PreviewError = {
      stage: "run",
      type: "ZeroDivisionError",
      message: "division by zero",
      traceback: "",
      frames: [
        { file: "app.py", line: 3, function: "<module>" },
        { file: "lib.py", line: 8, function: "f" },
        { file: "app.py", line: 12, function: "g" },
      ],
    };
    expect(errorLine(error, "app.py")?.line).toBe(12);
    expect(errorLine(error, "other.py")).toBeUndefined();
    expect(errorLine(null, "app.py")).toBeUndefined();
  });
});
