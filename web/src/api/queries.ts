/**
 * Server state: every query key and query hook of the app, in one place. Pages read through
 * these hooks (and write through `api` with the keys here), never with ad-hoc fetches.
 */
import {
  type UseQueryResult,
  keepPreviousData,
  useMutation,
  useQueries,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";

import { api } from "./index";
import type { Deployment, DeploymentPatch, DeploymentSteps } from "./types";
import type { PageOptions } from "./endpoints";

/** How often live figures are fetched again. */
export const REFRESH_MS = {
  deployment: 2_000,
  graph: 2_500,
  steps: 3_000,
  topics: 5_000,
  metrics: 5_000,
} as const;

export const queryKeys = {
  clusters: ["clusters"] as const,
  /** Topics of `cluster`; without one, of the server's default cluster. */
  topics: (cluster?: string) => ["topics", cluster] as const,
  allTopics: ["topics"] as const,
  topic: (cluster: string | undefined, name: string) => ["topic", cluster, name] as const,
  records: (cluster: string | undefined, name: string, options: PageOptions) =>
    ["records", cluster, name, options] as const,
  topicConfig: (cluster: string | undefined, name: string) => ["topic", cluster, name, "config"] as const,
  groups: (cluster: string) => ["groups", cluster] as const,
  group: (cluster: string, group: string) => ["groups", cluster, group] as const,
  groupLag: (cluster: string, group: string) => ["groups", cluster, group, "lag"] as const,
  topicMetrics: (cluster: string | undefined, name: string) =>
    ["metrics", "topic", cluster, name] as const,
  deploymentMetrics: (id: number) => ["metrics", "deployment", id] as const,
  graph: (cluster: string, project?: string) => ["graph", cluster, project ?? null] as const,
  templates: ["templates"] as const,
  projects: ["projects"] as const,
  project: (name: string) => ["project", name] as const,
  files: (name: string, ref?: string) => ["project", name, "files", ref ?? "workspace"] as const,
  file: (name: string, path: string, ref?: string) =>
    ["project", name, "file", path, ref ?? "workspace"] as const,
  changes: (name: string) => ["project", name, "changes"] as const,
  commits: (name: string) => ["project", name, "commits"] as const,
  diff: (name: string, base: string, target: string) =>
    ["project", name, "diff", base, target] as const,
  manifest: (name: string, ref?: string) => ["project", name, "manifest", ref] as const,
  users: ["users"] as const,
  tokens: ["tokens"] as const,
  secrets: (project: string) => ["secrets", project] as const,
  models: (project: string) => ["models", project] as const,
  modelScores: (project: string) => ["models", project, "scores"] as const,
  deployments: {
    all: ["deployments"] as const,
    project: (project: string) => ["deployments", "project", project] as const,
    one: (id: number) => ["deployments", id] as const,
    replicas: (id: number) => ["deployments", id, "replicas"] as const,
    steps: (id: number) => ["deployments", id, "steps"] as const,
  },
};

// Clusters and topics

export function useClusters() {
  return useQuery({ queryKey: queryKeys.clusters, queryFn: api.clusters.list });
}

/** The topics of `cluster` (the server's default cluster without one), refreshed. */
export function useTopics(cluster?: string, options: { enabled?: boolean; live?: boolean } = {}) {
  return useQuery({
    queryKey: queryKeys.topics(cluster),
    queryFn: () => api.topics.list(cluster),
    enabled: options.enabled ?? true,
    ...(options.live ? { refetchInterval: REFRESH_MS.topics } : {}),
  });
}

export function useTopic(cluster: string | undefined, name: string) {
  return useQuery({
    queryKey: queryKeys.topic(cluster, name),
    queryFn: () => api.topics.get(name, cluster),
    refetchInterval: REFRESH_MS.topics,
  });
}

export function useTopicMetrics(cluster: string | undefined, name: string) {
  return useQuery({
    queryKey: queryKeys.topicMetrics(cluster, name),
    queryFn: () => api.metrics.topic(name, cluster),
    refetchInterval: REFRESH_MS.metrics,
  });
}

/** The topic's configuration and partition count, as the broker reports them. */
export function useTopicConfig(cluster: string | undefined, name: string) {
  return useQuery({
    queryKey: queryKeys.topicConfig(cluster, name),
    queryFn: () => api.topics.config(name, cluster),
  });
}

/** The consumer groups of `cluster`, refreshed. */
export function useGroups(cluster: string) {
  return useQuery({
    queryKey: queryKeys.groups(cluster),
    queryFn: () => api.groups.list(cluster),
    refetchInterval: REFRESH_MS.topics,
  });
}

/** One group's members, assignment and lag per partition, refreshed. */
export function useGroup(cluster: string, group: string) {
  return useQuery({
    queryKey: queryKeys.group(cluster, group),
    queryFn: () => api.groups.get(group, cluster),
    refetchInterval: REFRESH_MS.topics,
  });
}

/** The group's lag per partition over the last hour, as the platform sampled it. */
export function useGroupLag(cluster: string, group: string) {
  return useQuery({
    queryKey: queryKeys.groupLag(cluster, group),
    queryFn: () => api.groups.lag(group, cluster),
    refetchInterval: REFRESH_MS.metrics,
  });
}

/** A page of a topic's history; the previous page stays shown while the next one loads. */
export function useRecordPage(cluster: string | undefined, name: string, options: PageOptions) {
  return useQuery({
    queryKey: queryKeys.records(cluster, name, options),
    queryFn: () => api.live.page(name, { ...options, ...(cluster ? { cluster } : {}) }),
    placeholderData: keepPreviousData,
    retry: false,
  });
}

/** The pipeline of `cluster`; with `project` (edited on the canvas), its undeployed apps too. */
export function useGraph(cluster: string, project?: string) {
  return useQuery({
    queryKey: queryKeys.graph(cluster, project),
    queryFn: () => api.graph.get(cluster, project),
    refetchInterval: REFRESH_MS.graph,
  });
}

// Projects

export function useTemplates(enabled = true) {
  return useQuery({ queryKey: queryKeys.templates, queryFn: api.templates.list, enabled });
}

export function useProjects(enabled = true) {
  return useQuery({ queryKey: queryKeys.projects, queryFn: api.projects.list, enabled });
}

export function useProject(name: string) {
  return useQuery({ queryKey: queryKeys.project(name), queryFn: () => api.projects.get(name) });
}

export function useFiles(name: string) {
  return useQuery({ queryKey: queryKeys.files(name), queryFn: () => api.projects.files(name) });
}

export function useFile(name: string, path: string | undefined, ref?: string) {
  return useQuery({
    queryKey: queryKeys.file(name, path ?? "", ref),
    queryFn: () => api.projects.readFile(name, path ?? "", ref),
    enabled: path !== undefined,
  });
}

export function useChanges(name: string) {
  return useQuery({ queryKey: queryKeys.changes(name), queryFn: () => api.projects.changes(name) });
}

export function useCommits(name: string) {
  return useQuery({ queryKey: queryKeys.commits(name), queryFn: () => api.projects.commits(name) });
}

export function useDiff(name: string, base: string, target: string, enabled = true) {
  return useQuery({
    queryKey: queryKeys.diff(name, base, target),
    queryFn: () => api.projects.diff(name, base, target),
    enabled,
  });
}

/** headwater.yaml at `ref` (the working tree without one); a project may have none. */
export function useManifest(name: string, ref?: string, enabled = true) {
  return useQuery({
    queryKey: queryKeys.manifest(name, ref),
    queryFn: () => api.projects.manifest(name, ref),
    retry: false,
    enabled,
  });
}

/** After anything that changes the working tree or history, everything of the project is stale. */
export function useInvalidateProject(name: string) {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: queryKeys.project(name) });
}

export function useRollback(name: string) {
  const invalidate = useInvalidateProject(name);
  return useMutation({
    mutationFn: (commit: string) => api.projects.rollback(name, commit),
    onSuccess: invalidate,
  });
}

export function useSecrets(project: string) {
  return useQuery({ queryKey: queryKeys.secrets(project), queryFn: () => api.secrets.list(project) });
}

export function useModels(project: string) {
  return useQuery({ queryKey: queryKeys.models(project), queryFn: () => api.models.list(project) });
}

/** What the project's deployments scored with its models, sample by sample. */
export function useModelScores(project: string) {
  return useQuery({
    queryKey: queryKeys.modelScores(project),
    queryFn: () => api.models.scores(project),
    refetchInterval: REFRESH_MS.metrics,
  });
}

// Users and tokens

export function useUsers() {
  return useQuery({ queryKey: queryKeys.users, queryFn: api.users.list });
}

export function useTokens() {
  return useQuery({ queryKey: queryKeys.tokens, queryFn: api.tokens.list });
}

// Deployments

export function useDeployment(id: number) {
  return useQuery({
    queryKey: queryKeys.deployments.one(id),
    queryFn: () => api.deployments.get(id),
    refetchInterval: REFRESH_MS.deployment * 2,
  });
}

export function useReplicas(id: number) {
  return useQuery({
    queryKey: queryKeys.deployments.replicas(id),
    queryFn: () => api.deployments.replicas(id),
    refetchInterval: REFRESH_MS.deployment,
  });
}

/** The deployments of each project in `projects`, one query per project, refreshed. */
export function useProjectDeployments(projects: string[]) {
  return useQueries({
    queries: projects.map((name) => ({
      queryKey: queryKeys.deployments.project(name),
      queryFn: () => api.deployments.list(name),
      refetchInterval: REFRESH_MS.deployment,
    })),
  });
}

export function useDeploymentMetrics(id: number) {
  return useQuery({
    queryKey: queryKeys.deploymentMetrics(id),
    queryFn: () => api.metrics.deployment(id),
    refetchInterval: REFRESH_MS.metrics,
  });
}

/** A write to the deployment; its answer replaces the cached deployment, replicas reload. */
export function useDeploymentChange(
  id: number,
  change: (body: DeploymentPatch | "stop" | "start") => Promise<Deployment>,
) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: change,
    onSuccess: (deployment) => {
      queryClient.setQueryData(queryKeys.deployments.one(id), deployment);
      void queryClient.invalidateQueries({ queryKey: queryKeys.deployments.all });
    },
  });
}

/** Outside the hook: a stable function lets React Query keep the map while nothing changed. */
function stepsByDeployment(
  results: UseQueryResult<DeploymentSteps>[],
): ReadonlyMap<number, DeploymentSteps> {
  const found = new Map<number, DeploymentSteps>();
  for (const result of results) if (result.data) found.set(result.data.deployment, result.data);
  return found;
}

/** Each expanded deployment's steps with their rates, by deployment id, once loaded. */
export function useDeploymentSteps(ids: readonly number[]): ReadonlyMap<number, DeploymentSteps> {
  return useQueries({
    queries: ids.map((id) => ({
      queryKey: queryKeys.deployments.steps(id),
      queryFn: () => api.deployments.steps(id),
      refetchInterval: REFRESH_MS.steps,
    })),
    combine: stepsByDeployment,
  });
}
