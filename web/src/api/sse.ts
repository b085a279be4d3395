/**
 * Server-Sent Event streams of the platform (topic tails, deployment logs) on the browser's
 * EventSource: same origin, so the session cookie goes along. Parsing is kept apart from the
 * EventSource so it can be tested without a browser.
 */

import { errorFromBody, messageOf } from "./errors";
import type { LogLine, TailRecord } from "./types";

export type TailEvent =
  | { kind: "ready"; topic: string; rate: number }
  | { kind: "record"; record: TailRecord }
  | { kind: "skipped"; skipped: number; rate: number }
  | { kind: "error"; detail: string };

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One event of a topic tail, or null for anything malformed (never thrown: a stream goes on). */
export function parseTailEvent(type: string, data: string): TailEvent | null {
  const body = parseJson(data);
  if (!isObject(body)) return null;
  switch (type) {
    case "ready":
      return { kind: "ready", topic: String(body.topic ?? ""), rate: Number(body.rate ?? 0) };
    case "record":
      if (typeof body.partition !== "number" || typeof body.offset !== "number") return null;
      return { kind: "record", record: body as unknown as TailRecord };
    case "skipped":
      return { kind: "skipped", skipped: Number(body.skipped ?? 0), rate: Number(body.rate ?? 0) };
    case "error":
      return { kind: "error", detail: String(body.detail ?? "the tail failed") };
    default:
      return null;
  }
}

/** One line of a deployment's log stream, or null. */
export function parseLogLine(data: string): LogLine | null {
  const body = parseJson(data);
  if (!isObject(body) || typeof body.seq !== "number" || typeof body.text !== "string") return null;
  return body as unknown as LogLine;
}

export interface StreamHandlers {
  /** Each named event (a plain `data:` event is named "message"). */
  onEvent: (type: string, data: string) => void;
  onOpen?: () => void;
  /** The stream ended for good: the server refused it (its own message) or the link broke. */
  onError: (message: string) => void;
}

/**
 * Open `url` as an EventSource listening to `types`; returns the close function. The browser's
 * automatic reconnect is turned off: a tail would start over from its `from`. When the server
 * refuses the stream (a bad filter, say) its JSON explanation is fetched and reported.
 */
export function openStream(url: string, types: readonly string[], handlers: StreamHandlers): () => void {
  const source = new EventSource(url, { withCredentials: true });
  let opened = false;
  let closed = false;
  const close = () => {
    closed = true;
    source.close();
  };
  for (const type of types) {
    source.addEventListener(type, (event) => {
      if (!closed) handlers.onEvent(type, (event as MessageEvent<string>).data);
    });
  }
  source.onopen = () => {
    opened = true;
    handlers.onOpen?.();
  };
  source.onerror = () => {
    if (closed) return;
    close();
    if (opened) {
      handlers.onError("the stream was interrupted (the server restarted or the network failed)");
      return;
    }
    void explainRefusal(url).then(handlers.onError);
  };
  return close;
}

/** Why the server did not open a stream: ask again with fetch and read its error body. */
async function explainRefusal(url: string): Promise<string> {
  const abort = new AbortController();
  try {
    const response = await fetch(url, { credentials: "same-origin", signal: abort.signal });
    if (response.ok) return "the stream could not be opened; try again";
    const type = response.headers.get("content-type") ?? "";
    const body = type.includes("json") ? ((await response.json()) as unknown) : null;
    return errorFromBody(response.status, response.statusText, body).detail;
  } catch (error) {
    return messageOf(error);
  } finally {
    abort.abort();
  }
}
