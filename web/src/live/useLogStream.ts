/** A deployment's log lines, the last ones first and then live (Server-Sent Events). */
import { useEffect, useRef, useState } from "react";

import { openStream, parseLogLine } from "../api/sse";
import type { LogLine } from "../api/types";
import { appendCapped } from "../shaping/records";

const KEEP_LINES = 2_000;
const FLUSH_MS = 250;

export function useLogStream(url: string): { lines: LogLine[]; error: string | null } {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<string | null>(null);
  const pending = useRef<LogLine[]>([]);
  useEffect(() => {
    setLines([]);
    setError(null);
    pending.current = [];
    const close = openStream(url, ["message"], {
      onEvent: (_type, data) => {
        const line = parseLogLine(data);
        if (line) pending.current.push(line);
      },
      onOpen: () => setError(null),
      onError: setError,
    });
    const flush = window.setInterval(() => {
      if (pending.current.length === 0) return;
      const batch = pending.current;
      pending.current = [];
      setLines((old) => appendCapped(old, batch, KEEP_LINES));
    }, FLUSH_MS);
    return () => {
      close();
      window.clearInterval(flush);
    };
  }, [url]);
  return { lines, error };
}
