/** Topic lists shaped for the Topics page. */

import type { Topic } from "../api/types";

export interface TopicListView {
  topics: Topic[];
  hiddenInternal: number;
  totalMessages: number;
  totalRate: number | null;
}

/** Filter by a search text, hide internal topics unless asked, sort by name. */
export function shapeTopics(topics: readonly Topic[], search: string, showInternal: boolean) {
  const needle = search.trim().toLowerCase();
  const visible = topics
    .filter((t) => showInternal || !t.internal)
    .filter((t) => !needle || t.name.toLowerCase().includes(needle))
    .sort((a, b) => a.name.localeCompare(b.name));
  const rates = visible.map((t) => t.rate).filter((r): r is number => r !== null);
  const view: TopicListView = {
    topics: visible,
    hiddenInternal: showInternal ? 0 : topics.filter((t) => t.internal).length,
    totalMessages: visible.reduce((sum, t) => sum + t.messages, 0),
    totalRate: rates.length ? rates.reduce((a, b) => a + b, 0) : null,
  };
  return view;
}

/** Why a topic name is not acceptable (the server's rules), or null. */
export function topicNameProblem(name: string): string | null {
  if (!name) return "enter a name";
  if (name.length > 249) return "at most 249 characters";
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return "use letters, digits and . _ - only";
  if (name === "." || name === "..") return "'.' and '..' are not valid topic names";
  if (name.startsWith("__")) return "names starting with '__' are reserved for Kafka";
  return null;
}
