/** A live topic tail as React state: records batched into renders, pause holding them back. */
import { useEffect, useRef, useState } from "react";

import { openStream, parseTailEvent } from "../api/sse";
import type { TailRecord } from "../api/types";
import { appendCapped } from "../shaping/records";

export const KEEP_RECORDS = 5_000;
const FLUSH_MS = 200;

export type TailStatus = "idle" | "connecting" | "live" | "paused" | "ended" | "failed";

export interface TailState {
  records: TailRecord[];
  status: TailStatus;
  error: string | null;
  /** Records the server left out to keep to the rate cap. */
  skipped: number;
  /** Records that arrived while paused, shown on resume. */
  held: number;
}

const EMPTY: TailState = { records: [], status: "idle", error: null, skipped: 0, held: 0 };

/** Tail `url` (null: nothing); a new `generation` starts over with the same URL. */
export function useTail(url: string | null, paused: boolean, generation: number): TailState {
  const [state, setState] = useState<TailState>(EMPTY);
  const pending = useRef<TailRecord[]>([]);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    pending.current = [];
    if (url === null) {
      setState(EMPTY);
      return;
    }
    setState({ ...EMPTY, status: "connecting" });
    const close = openStream(url, ["ready", "record", "skipped", "error"], {
      onEvent: (type, data) => {
        const event = parseTailEvent(type, data);
        if (!event) return;
        if (event.kind === "record") pending.current.push(event.record);
        else if (event.kind === "ready") setState((s) => ({ ...s, status: pausedRef.current ? "paused" : "live" }));
        else if (event.kind === "skipped") setState((s) => ({ ...s, skipped: s.skipped + event.skipped }));
        else setState((s) => ({ ...s, error: event.detail }));
      },
      onError: (message) => setState((s) => ({ ...s, status: "failed", error: message })),
    });
    const flush = window.setInterval(() => {
      if (pausedRef.current) {
        const held = pending.current.length;
        setState((s) => (s.held === held ? s : { ...s, held }));
        return;
      }
      if (pending.current.length === 0) return;
      const batch = pending.current;
      pending.current = [];
      setState((s) => ({ ...s, held: 0, records: appendCapped(s.records, batch, KEEP_RECORDS) }));
    }, FLUSH_MS);
    return () => {
      close();
      window.clearInterval(flush);
    };
  }, [url, generation]);

  useEffect(() => {
    setState((s) =>
      s.status === "live" || s.status === "paused" ? { ...s, status: paused ? "paused" : "live" } : s,
    );
  }, [paused]);
  return state;
}
