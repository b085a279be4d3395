/** The steps of the deployments expanded in the graph, each refreshed every few seconds. */
import { type UseQueryResult, useQueries } from "@tanstack/react-query";

import { api, type DeploymentSteps } from "../api";

export const STEPS_REFRESH_MS = 3_000;

/** Outside the hook: a stable function lets React Query keep the map while nothing changed. */
function byDeployment(results: UseQueryResult<DeploymentSteps>[]): ReadonlyMap<number, DeploymentSteps> {
  const found = new Map<number, DeploymentSteps>();
  for (const result of results) if (result.data) found.set(result.data.deployment, result.data);
  return found;
}

/** Each expanded deployment's steps with their rates, by deployment id, once loaded. */
export function useDeploymentSteps(ids: readonly number[]): ReadonlyMap<number, DeploymentSteps> {
  return useQueries({
    queries: ids.map((id) => ({
      queryKey: ["deployment-steps", id],
      queryFn: () => api.deployments.steps(id),
      refetchInterval: STEPS_REFRESH_MS,
    })),
    combine: byDeployment,
  });
}
