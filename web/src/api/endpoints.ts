/** Every platform endpoint the app uses, typed; pages call these, never fetch directly. */

import { type ApiClient, filePath, type Query, segment, withQuery } from "./client";
import type * as T from "./types";

export function endpoints(client: ApiClient) {
  const project = (name: string) => `/api/projects/${segment(name)}`;
  return {
    auth: {
      login: async (username: string, password: string): Promise<T.LoginResult> => {
        const result = await client.post<T.LoginResult>("/api/auth/login", { username, password });
        client.setCsrfToken(result.csrf_token);
        return result;
      },
      logout: async (): Promise<T.Ok> => {
        const result = await client.post<T.Ok>("/api/auth/logout");
        client.setCsrfToken(null);
        return result;
      },
      me: () => client.get<T.User>("/api/auth/me"),
      changePassword: (current_password: string, new_password: string) =>
        client.put<T.Ok>("/api/auth/password", { current_password, new_password }),
    },
    tokens: {
      list: () => client.get<T.ApiToken[]>("/api/tokens"),
      create: (name: string) => client.post<T.NewApiToken>("/api/tokens", { name }),
      revoke: (id: number) => client.delete<T.Ok>(`/api/tokens/${id}`),
    },
    users: {
      list: () => client.get<T.User[]>("/api/users"),
      create: (body: { username: string; password: string; role: T.Role }) =>
        client.post<T.User>("/api/users", body),
      update: (id: number, body: { role?: T.Role; password?: string }) =>
        client.patch<T.User>(`/api/users/${id}`, body),
      remove: (id: number) => client.delete<T.Ok>(`/api/users/${id}`),
    },
    clusters: {
      list: () => client.get<T.Cluster[]>("/api/clusters"),
      create: (body: T.ClusterIn) => client.post<T.Cluster>("/api/clusters", body),
      update: (name: string, body: T.ClusterPatch) =>
        client.patch<T.Cluster>(`/api/clusters/${segment(name)}`, body),
      remove: (name: string) => client.delete<T.Ok>(`/api/clusters/${segment(name)}`),
    },
    secrets: {
      list: (projectName: string) => client.get<T.Secret[]>(`${project(projectName)}/secrets`),
      put: (projectName: string, name: string, value: string) =>
        client.put<T.Secret>(`${project(projectName)}/secrets/${segment(name)}`, { value }),
      remove: (projectName: string, name: string) =>
        client.delete<T.Ok>(`${project(projectName)}/secrets/${segment(name)}`),
    },
    topics: {
      list: (cluster?: string) => client.get<T.Topic[]>("/api/topics", { cluster }),
      get: (name: string, cluster?: string) =>
        client.get<T.TopicDetail>(`/api/topics/${segment(name)}`, { cluster }),
      create: (body: T.TopicIn, cluster?: string) =>
        client.post<T.TopicDetail>("/api/topics", body, { cluster }),
      remove: (name: string, cluster?: string) =>
        client.delete<T.Ok>(`/api/topics/${segment(name)}`, { confirm: name, cluster }),
    },
    templates: {
      list: () => client.get<T.Template[]>("/api/templates"),
    },
    projects: {
      list: () => client.get<T.Project[]>("/api/projects"),
      get: (name: string) => client.get<T.Project>(project(name)),
      create: (body: T.ProjectIn) => client.post<T.Project>("/api/projects", body),
      remove: (name: string) => client.delete<T.Ok>(project(name)),
      files: (name: string, ref?: string) =>
        client.get<T.Tree>(`${project(name)}/files`, { ref }),
      readFile: (name: string, path: string, ref?: string) =>
        client.get<T.FileContent>(`${project(name)}/files/${filePath(path)}`, { ref }),
      writeFile: (name: string, path: string, content: string) =>
        client.put<T.ProjectFile>(`${project(name)}/files/${filePath(path)}`, { content }),
      deleteFile: (name: string, path: string) =>
        client.delete<T.Ok>(`${project(name)}/files/${filePath(path)}`),
      renameFile: (name: string, source: string, target: string) =>
        client.post<T.ProjectFile>(`${project(name)}/renames`, { source, target }),
      changes: (name: string) => client.get<T.Change[]>(`${project(name)}/changes`),
      discard: (name: string) => client.post<T.Ok>(`${project(name)}/changes/discard`),
      commits: (name: string, limit = 50) =>
        client.get<T.Commit[]>(`${project(name)}/commits`, { limit }),
      commit: (name: string, message: string) =>
        client.post<T.Commit>(`${project(name)}/commits`, { message }),
      diff: (name: string, base: string, target = "HEAD") =>
        client.get<T.Diff>(`${project(name)}/diff`, { base, target }),
      rollback: (name: string, commit: string) =>
        client.post<T.Commit>(`${project(name)}/rollback`, { commit }),
      manifest: (name: string, ref?: string) =>
        client.get<T.Manifest>(`${project(name)}/manifest`, { ref }),
      preview: (name: string, body: T.PreviewIn, cluster?: string) =>
        client.post<T.PreviewResult>(`${project(name)}/preview`, body, { cluster }),
    },
    deployments: {
      list: (projectName: string) =>
        client.get<T.Deployment[]>(`${project(projectName)}/deployments`),
      create: (projectName: string, body: T.DeploymentIn) =>
        client.post<T.Deployment>(`${project(projectName)}/deployments`, body),
      get: (id: number) => client.get<T.Deployment>(`/api/deployments/${id}`),
      update: (id: number, body: T.DeploymentPatch) =>
        client.patch<T.Deployment>(`/api/deployments/${id}`, body),
      remove: (id: number) => client.delete<T.Ok>(`/api/deployments/${id}`),
      stop: (id: number) => client.post<T.Deployment>(`/api/deployments/${id}/stop`),
      start: (id: number) => client.post<T.Deployment>(`/api/deployments/${id}/start`),
      replicas: (id: number) => client.get<T.Replica[]>(`/api/deployments/${id}/replicas`),
      steps: (id: number) => client.get<T.DeploymentSteps>(`/api/deployments/${id}/steps`),
      logs: (id: number, tail = 200) =>
        client.get<T.LogLine[]>(`/api/deployments/${id}/logs`, { tail }),
      /** For an EventSource: one `data:` JSON log line per event. */
      logStreamUrl: (id: number, tail = 0) =>
        withQuery(`/api/deployments/${id}/logs/stream`, { tail }),
    },
    graph: {
      get: (cluster?: string) => client.get<T.PipelineGraph>("/api/graph", { cluster }),
    },
    metrics: {
      topic: (name: string, cluster?: string) =>
        client.get<T.TopicMetrics>(`/api/metrics/topics/${segment(name)}`, { cluster }),
      deployment: (id: number) => client.get<T.DeploymentMetrics>(`/api/metrics/deployments/${id}`),
    },
    live: {
      /** A page of the topic's history: from `from`, or from a page's `cursor`. */
      page: (topic: string, options: PageOptions = {}) =>
        client.get<T.RecordsPage>(`/api/topics/${segment(topic)}/records`, {
          ...tailQuery(options),
          cursor: options.cursor,
          limit: options.limit,
        }),
      /** For an EventSource: `ready`, `record`, `skipped` and `error` events. */
      tailUrl: (topic: string, options: TailOptions = {}) =>
        withQuery(`/api/topics/${segment(topic)}/tail`, tailQuery(options)),
      /** A download link (the session cookie goes along on same-origin). */
      exportUrl: (topic: string, format: "csv" | "jsonl", options: ExportOptions = {}) =>
        withQuery(`/api/topics/${segment(topic)}/export`, {
          ...tailQuery(options),
          format,
          to: options.to,
          limit: options.limit,
        }),
    },
  };
}

export type Api = ReturnType<typeof endpoints>;

export interface TailOptions {
  /** latest, beginning, offset:<n> or timestamp:<epoch ms> */
  from?: string;
  partition?: number | null;
  /** a JMESPath expression over {topic, partition, offset, timestamp, key, value} */
  filter?: string | null;
  rate?: number;
  cluster?: string;
}

export interface PageOptions extends TailOptions {
  cursor?: string | null;
  limit?: number;
}

export interface ExportOptions extends TailOptions {
  to?: string;
  limit?: number;
}

function tailQuery(options: TailOptions): Query {
  return {
    from: options.from,
    partition: options.partition,
    filter: options.filter?.trim() ? options.filter.trim() : null,
    rate: options.rate,
    cluster: options.cluster,
  };
}
