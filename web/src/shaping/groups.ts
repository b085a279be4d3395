/** Consumer groups shaped for their page: assignments as text and lag per partition as a chart. */

import type { GroupLagHistory, GroupMember } from "../api/types";
import { alignSeries, type ChartData } from "./metrics";

/** A member's partitions, e.g. "orders[0,2] payments[1]"; "none" while it has none. */
export function assignmentText(member: GroupMember): string {
  const byTopic = new Map<string, number[]>();
  for (const [topic, partition] of member.assignment) {
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  }
  if (byTopic.size === 0) return "none";
  return [...byTopic.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([topic, partitions]) => `${topic}[${partitions.sort((a, b) => a - b).join(",")}]`)
    .join(" ");
}

/** One line per partition, labelled "topic[partition]", on a shared time axis. */
export function lagChart(history: GroupLagHistory | undefined): ChartData {
  const chart = alignSeries(history?.series ?? []);
  const labels = (history?.series ?? []).map((s) => `${s.labels.topic ?? "?"}[${s.labels.partition ?? "?"}]`);
  return { data: chart.data, labels };
}
