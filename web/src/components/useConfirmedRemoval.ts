import { type QueryKey, useMutation } from "@tanstack/react-query";
import { useCallback, useState } from "react";

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
  // Stable, so tables can take them as props; each clears the last attempt's error.
  const { reset } = removal;
  const ask = useCallback(
    (item: T) => {
      reset();
      setPending(() => item);
    },
    [reset],
  );
  const cancel = useCallback(() => {
    reset();
    setPending(null);
  }, [reset]);
  return {
    pending,
    ask,
    cancel,
    confirm: () => pending !== null && removal.mutate(pending),
    removal,
    refresh,
  };
}
