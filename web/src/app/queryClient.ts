import { QueryClient } from "@tanstack/react-query";

import { ApiError } from "../api/errors";

/** Retry only what may pass on a second try: network trouble and 5xx, never a 4xx. */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (failures, error) =>
        failures < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      refetchOnWindowFocus: false,
      staleTime: 2_000,
    },
  },
});
