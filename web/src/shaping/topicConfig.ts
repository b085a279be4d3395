/** A topic's configuration shaped for its settings panel: order of rows and what an edit changes. */

import type { ConfigEntry, TopicConfig, TopicConfigChange } from "../api/types";

/** Settings shown first, in this order; the rest follow by name. */
export const MAIN_SETTINGS = ["retention.ms", "retention.bytes", "cleanup.policy", "min.insync.replicas"] as const;

export interface ConfigRow {
  key: string;
  entry: ConfigEntry;
}

/** The main settings the broker reported, then every other one by name. */
export function configRows(config: TopicConfig["config"]): { main: ConfigRow[]; others: ConfigRow[] } {
  const main: ConfigRow[] = [];
  for (const key of MAIN_SETTINGS) {
    const entry = config[key];
    if (entry) main.push({ key, entry });
  }
  const others = Object.keys(config)
    .filter((key) => !(MAIN_SETTINGS as readonly string[]).includes(key))
    .sort()
    .map((key) => ({ key, entry: config[key] as ConfigEntry }));
  return { main, others };
}

/** The editable settings and their current values, as the edit form starts. */
export function editableValues(config: TopicConfig["config"]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config)
      .filter(([, entry]) => entry.editable)
      .map(([key, entry]) => [key, entry.value ?? ""]),
  );
}

/**
 * What to send for the form's values: only the settings that changed; an emptied one goes back
 * to the broker's default (null). Undefined when nothing changed.
 */
export function configChange(
  before: Record<string, string>,
  after: Record<string, string>,
): TopicConfigChange | undefined {
  const change: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(after)) {
    const trimmed = value.trim();
    if (trimmed === (before[key] ?? "").trim()) continue;
    change[key] = trimmed === "" ? null : trimmed;
  }
  return Object.keys(change).length ? (change as TopicConfigChange) : undefined;
}
