/** Every platform endpoint the app uses, typed; pages call these, never fetch directly. */

import { type ApiClient, filePath, type Query, segment, withQuery } from "./client";
import type * as T from "./types";
import type { Answer } from "./types";

export function endpoints(client: ApiClient) {
  const project = (name: string) => `/api/projects/${segment(name)}`;
  return {
    auth: {
      login: async (username: string, password: string): Promise<T.LoginResult> => {
        const result = await client.post<Answer<"/api/auth/login", "post">>("/api/auth/login", { username, password });
        client.setCsrfToken(result.csrf_token);
        return result;
      },
      logout: async (): Promise<T.Ok> => {
        const result = await client.post<Answer<"/api/auth/logout", "post">>("/api/auth/logout");
        client.setCsrfToken(null);
        return result;
      },
      me: () => client.get<Answer<"/api/auth/me", "get">>("/api/auth/me"),
      changePassword: (current_password: string, new_password: string) =>
        client.put<Answer<"/api/auth/password", "put">>("/api/auth/password", { current_password, new_password }),
    },
    tokens: {
      list: () => client.get<Answer<"/api/tokens", "get">>("/api/tokens"),
      create: (name: string) => client.post<Answer<"/api/tokens", "post">>("/api/tokens", { name }),
      revoke: (id: number) => client.delete<Answer<"/api/tokens/{token_id}", "delete">>(`/api/tokens/${id}`),
    },
    users: {
      list: () => client.get<Answer<"/api/users", "get">>("/api/users"),
      create: (body: { username: string; password: string; role: T.Role }) =>
        client.post<Answer<"/api/users", "post">>("/api/users", body),
      update: (id: number, body: { role?: T.Role; password?: string }) =>
        client.patch<Answer<"/api/users/{user_id}", "patch">>(`/api/users/${id}`, body),
      remove: (id: number) => client.delete<Answer<"/api/users/{user_id}", "delete">>(`/api/users/${id}`),
    },
    clusters: {
      list: () => client.get<Answer<"/api/clusters", "get">>("/api/clusters"),
      create: (body: T.ClusterIn) => client.post<Answer<"/api/clusters", "post">>("/api/clusters", body),
      update: (name: string, body: T.ClusterPatch) =>
        client.patch<Answer<"/api/clusters/{name}", "patch">>(`/api/clusters/${segment(name)}`, body),
      remove: (name: string) => client.delete<Answer<"/api/clusters/{name}", "delete">>(`/api/clusters/${segment(name)}`),
    },
    secrets: {
      list: (projectName: string) => client.get<Answer<"/api/projects/{project}/secrets", "get">>(`${project(projectName)}/secrets`),
      put: (projectName: string, name: string, value: string) =>
        client.put<Answer<"/api/projects/{project}/secrets/{name}", "put">>(`${project(projectName)}/secrets/${segment(name)}`, { value }),
      remove: (projectName: string, name: string) =>
        client.delete<Answer<"/api/projects/{project}/secrets/{name}", "delete">>(`${project(projectName)}/secrets/${segment(name)}`),
    },
    models: {
      list: (projectName: string) =>
        client.get<Answer<"/api/projects/{project}/models", "get">>(`${project(projectName)}/models`),
      upload: (projectName: string, name: string, file: Blob, query: T.ModelUpload) =>
        client.upload<Answer<"/api/projects/{project}/models/{name}/versions", "post">>(
          `${project(projectName)}/models/${segment(name)}/versions`,
          file,
          { ...query },
        ),
      promote: (projectName: string, name: string, alias: string, version: number) =>
        client.put<Answer<"/api/projects/{project}/models/{name}/aliases/{alias}", "put">>(
          `${project(projectName)}/models/${segment(name)}/aliases/${segment(alias)}`,
          { version },
        ),
      rollback: (projectName: string, name: string, alias: string) =>
        client.post<Answer<"/api/projects/{project}/models/{name}/aliases/{alias}/rollback", "post">>(
          `${project(projectName)}/models/${segment(name)}/aliases/${segment(alias)}/rollback`,
        ),
      scores: (projectName: string) =>
        client.get<Answer<"/api/projects/{project}/model-scores", "get">>(`${project(projectName)}/model-scores`),
    },
    topics: {
      list: (cluster?: string) => client.get<Answer<"/api/topics", "get">>("/api/topics", { cluster }),
      get: (name: string, cluster?: string) =>
        client.get<Answer<"/api/topics/{name}", "get">>(`/api/topics/${segment(name)}`, { cluster }),
      create: (body: T.TopicIn, cluster?: string) =>
        client.post<Answer<"/api/topics", "post">>("/api/topics", body, { cluster }),
      remove: (name: string, cluster?: string) =>
        client.delete<Answer<"/api/topics/{name}", "delete">>(`/api/topics/${segment(name)}`, { confirm: name, cluster }),
      config: (name: string, cluster?: string) =>
        client.get<Answer<"/api/topics/{name}/config", "get">>(`/api/topics/${segment(name)}/config`, { cluster }),
      changeConfig: (name: string, config: T.TopicConfigChange, cluster?: string) =>
        client.patch<Answer<"/api/topics/{name}/config", "patch">>(`/api/topics/${segment(name)}/config`, { config }, { cluster }),
      /** Only with the keyed-data warning accepted: keys map to other partitions afterwards. */
      growPartitions: (name: string, partitions: number, cluster?: string) =>
        client.post<Answer<"/api/topics/{name}/partitions", "post">>(
          `/api/topics/${segment(name)}/partitions`,
          { partitions, accept_key_remapping: true },
          { cluster },
        ),
    },
    groups: {
      list: (cluster?: string) => client.get<Answer<"/api/groups", "get">>("/api/groups", { cluster }),
      get: (group: string, cluster?: string) =>
        client.get<Answer<"/api/groups/{group}", "get">>(`/api/groups/${segment(group)}`, { cluster }),
      lag: (group: string, cluster?: string, minutes?: number) =>
        client.get<Answer<"/api/groups/{group}/lag", "get">>(`/api/groups/${segment(group)}/lag`, { cluster, minutes }),
    },
    templates: {
      list: () => client.get<Answer<"/api/templates", "get">>("/api/templates"),
    },
    projects: {
      list: () => client.get<Answer<"/api/projects", "get">>("/api/projects"),
      get: (name: string) => client.get<Answer<"/api/projects/{name}", "get">>(project(name)),
      create: (body: T.ProjectIn) => client.post<Answer<"/api/projects", "post">>("/api/projects", body),
      remove: (name: string) => client.delete<Answer<"/api/projects/{name}", "delete">>(project(name)),
      files: (name: string, ref?: string) =>
        client.get<Answer<"/api/projects/{name}/files", "get">>(`${project(name)}/files`, { ref }),
      readFile: (name: string, path: string, ref?: string) =>
        client.get<Answer<"/api/projects/{name}/files/{path}", "get">>(`${project(name)}/files/${filePath(path)}`, { ref }),
      writeFile: (name: string, path: string, content: string) =>
        client.put<Answer<"/api/projects/{name}/files/{path}", "put">>(`${project(name)}/files/${filePath(path)}`, { content }),
      deleteFile: (name: string, path: string) =>
        client.delete<Answer<"/api/projects/{name}/files/{path}", "delete">>(`${project(name)}/files/${filePath(path)}`),
      renameFile: (name: string, source: string, target: string) =>
        client.post<Answer<"/api/projects/{name}/renames", "post">>(`${project(name)}/renames`, { source, target }),
      changes: (name: string) => client.get<Answer<"/api/projects/{name}/changes", "get">>(`${project(name)}/changes`),
      discard: (name: string) => client.post<Answer<"/api/projects/{name}/changes/discard", "post">>(`${project(name)}/changes/discard`),
      commits: (name: string, limit = 50) =>
        client.get<Answer<"/api/projects/{name}/commits", "get">>(`${project(name)}/commits`, { limit }),
      commit: (name: string, message: string) =>
        client.post<Answer<"/api/projects/{name}/commits", "post">>(`${project(name)}/commits`, { message }),
      diff: (name: string, base: string, target = "HEAD") =>
        client.get<Answer<"/api/projects/{name}/diff", "get">>(`${project(name)}/diff`, { base, target }),
      rollback: (name: string, commit: string) =>
        client.post<Answer<"/api/projects/{name}/rollback", "post">>(`${project(name)}/rollback`, { commit }),
      manifest: (name: string, ref?: string) =>
        client.get<Answer<"/api/projects/{name}/manifest", "get">>(`${project(name)}/manifest`, { ref }),
      preview: (name: string, body: T.PreviewIn, cluster?: string) =>
        client.post<Answer<"/api/projects/{name}/preview", "post">>(`${project(name)}/preview`, body, { cluster }),
    },
    deployments: {
      list: (projectName: string) =>
        client.get<Answer<"/api/projects/{project}/deployments", "get">>(`${project(projectName)}/deployments`),
      create: (projectName: string, body: T.DeploymentIn) =>
        client.post<Answer<"/api/projects/{project}/deployments", "post">>(`${project(projectName)}/deployments`, body),
      get: (id: number) => client.get<Answer<"/api/deployments/{deployment_id}", "get">>(`/api/deployments/${id}`),
      update: (id: number, body: T.DeploymentPatch) =>
        client.patch<Answer<"/api/deployments/{deployment_id}", "patch">>(`/api/deployments/${id}`, body),
      remove: (id: number) => client.delete<Answer<"/api/deployments/{deployment_id}", "delete">>(`/api/deployments/${id}`),
      stop: (id: number) => client.post<Answer<"/api/deployments/{deployment_id}/stop", "post">>(`/api/deployments/${id}/stop`),
      start: (id: number) => client.post<Answer<"/api/deployments/{deployment_id}/start", "post">>(`/api/deployments/${id}/start`),
      replicas: (id: number) => client.get<Answer<"/api/deployments/{deployment_id}/replicas", "get">>(`/api/deployments/${id}/replicas`),
      steps: (id: number) => client.get<Answer<"/api/deployments/{deployment_id}/steps", "get">>(`/api/deployments/${id}/steps`),
      logs: (id: number, tail = 200) =>
        client.get<Answer<"/api/deployments/{deployment_id}/logs", "get">>(`/api/deployments/${id}/logs`, { tail }),
      /** For an EventSource: one `data:` JSON log line per event. */
      logStreamUrl: (id: number, tail = 0) =>
        withQuery(`/api/deployments/${id}/logs/stream`, { tail }),
    },
    graph: {
      /** With `project`, its apps not deployed on the cluster are drawn too (the canvas). */
      get: (cluster?: string, projectName?: string) =>
        client.get<Answer<"/api/graph", "get">>("/api/graph", { cluster, project: projectName }),
    },
    canvas: {
      preview: (name: string, body: T.CanvasEditIn) =>
        client.post<Answer<"/api/projects/{name}/canvas/preview", "post">>(`${project(name)}/canvas/preview`, body),
      commit: (name: string, body: T.CanvasCommitIn) =>
        client.post<Answer<"/api/projects/{name}/canvas/commit", "post">>(`${project(name)}/canvas/commit`, body),
      layout: (name: string) =>
        client.get<Answer<"/api/projects/{name}/canvas/layout", "get">>(`${project(name)}/canvas/layout`),
      saveLayout: (name: string, body: T.CanvasLayout) =>
        client.put<Answer<"/api/projects/{name}/canvas/layout", "put">>(`${project(name)}/canvas/layout`, body),
    },
    metrics: {
      topic: (name: string, cluster?: string) =>
        client.get<Answer<"/api/metrics/topics/{name}", "get">>(`/api/metrics/topics/${segment(name)}`, { cluster }),
      deployment: (id: number) => client.get<Answer<"/api/metrics/deployments/{deployment_id}", "get">>(`/api/metrics/deployments/${id}`),
    },
    live: {
      /** A page of the topic's history: from `from`, or from a page's `cursor`. */
      page: (topic: string, options: PageOptions = {}) =>
        // The document types records only as objects; TailRecord says which fields they carry.
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
