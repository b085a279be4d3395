import { type QueryKey, useQueryClient } from "@tanstack/react-query";

/** A function that marks the queries under `queryKey` stale, so they load again. */
export function useInvalidate(queryKey: QueryKey): () => void {
  const queryClient = useQueryClient();
  return () => void queryClient.invalidateQueries({ queryKey });
}
