import { type QueryKey, useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { useInvalidate } from "./useInvalidate";

/** A removal that waits for the user's confirmation: `ask(item)` opens it, `confirm()` removes
 * the item and, once it is gone, closes it and reloads the queries under `queryKey`. */
export function useConfirmedRemoval<T>(queryKey: QueryKey, removeItem: (item: T) => Promise<unknown>) {
  const [pending, setPending] = useState<T | null>(null);
  const refresh = useInvalidate(queryKey);
  const removal = useMutation({
    mutationFn: removeItem,
    onSuccess: () => {
      setPending(null);
      refresh();
    },
  });
  return {
    pending,
    ask: (item: T) => setPending(item),
    cancel: () => setPending(null),
    confirm: () => pending !== null && removal.mutate(pending),
    removal,
    refresh,
  };
}
