/** Query keys and hooks for one project, so every panel shares the same cache entries. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "../api";

export const keys = {
  projects: ["projects"] as const,
  project: (name: string) => ["project", name] as const,
  files: (name: string, ref?: string) => ["project", name, "files", ref ?? "workspace"] as const,
  file: (name: string, path: string, ref?: string) =>
    ["project", name, "file", path, ref ?? "workspace"] as const,
  changes: (name: string) => ["project", name, "changes"] as const,
  commits: (name: string) => ["project", name, "commits"] as const,
  diff: (name: string, base: string, target: string) =>
    ["project", name, "diff", base, target] as const,
};

export function useFiles(name: string) {
  return useQuery({ queryKey: keys.files(name), queryFn: () => api.projects.files(name) });
}

export function useFile(name: string, path: string | undefined, ref?: string) {
  return useQuery({
    queryKey: keys.file(name, path ?? "", ref),
    queryFn: () => api.projects.readFile(name, path ?? "", ref),
    enabled: path !== undefined,
  });
}

export function useChanges(name: string) {
  return useQuery({ queryKey: keys.changes(name), queryFn: () => api.projects.changes(name) });
}

export function useCommits(name: string) {
  return useQuery({ queryKey: keys.commits(name), queryFn: () => api.projects.commits(name) });
}

/** After anything that changes the working tree or history, everything of the project is stale. */
export function useInvalidateProject(name: string) {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: keys.project(name) });
}

export function useRollback(name: string) {
  const invalidate = useInvalidateProject(name);
  return useMutation({
    mutationFn: (commit: string) => api.projects.rollback(name, commit),
    onSuccess: invalidate,
  });
}
