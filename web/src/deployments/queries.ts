/** Query keys and hooks of deployments, shared by the list and the detail page. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Deployment, type DeploymentPatch } from "../api";

export const REFRESH_MS = 2_000;

export const deploymentKeys = {
  all: ["deployments"] as const,
  project: (project: string) => ["deployments", "project", project] as const,
  one: (id: number) => ["deployments", id] as const,
  replicas: (id: number) => ["deployments", id, "replicas"] as const,
};

export function useDeployment(id: number) {
  return useQuery({
    queryKey: deploymentKeys.one(id),
    queryFn: () => api.deployments.get(id),
    refetchInterval: REFRESH_MS * 2,
  });
}

export function useReplicas(id: number) {
  return useQuery({
    queryKey: deploymentKeys.replicas(id),
    queryFn: () => api.deployments.replicas(id),
    refetchInterval: REFRESH_MS,
  });
}

/** A write to the deployment; its answer replaces the cached deployment, replicas reload. */
export function useDeploymentChange(id: number, change: (body: DeploymentPatch | "stop" | "start") => Promise<Deployment>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: change,
    onSuccess: (deployment) => {
      queryClient.setQueryData(deploymentKeys.one(id), deployment);
      void queryClient.invalidateQueries({ queryKey: deploymentKeys.all });
    },
  });
}
