/** Shapes of the platform API's JSON (see the server's /openapi.json). */

export type Role = "viewer" | "editor" | "admin";

export interface User {
  id: number;
  username: string;
  role: Role;
  created_at: string;
}

export interface LoginResult {
  user: User;
  csrf_token: string;
  expires_at: string;
}

export interface Ok {
  ok: boolean;
}

export interface ApiToken {
  id: number;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

export interface NewApiToken extends ApiToken {
  token: string;
}

export interface Template {
  id: string;
  title: string;
  description: string;
}

export interface Project {
  name: string;
  description: string;
  template: string | null;
  created_by: string;
  created_at: string;
  head: string | null;
  git_path: string;
}

export interface ProjectFile {
  path: string;
  size: number;
}

export interface Tree {
  ref: string;
  files: ProjectFile[];
}

export interface FileContent {
  path: string;
  ref: string;
  size: number;
  encoding: "utf-8" | "base64";
  content: string;
}

export type ChangeStatus = "added" | "modified" | "deleted";

export interface Change {
  path: string;
  status: ChangeStatus;
}

export interface FileDiff extends Change {
  patch: string;
}

export interface Diff {
  base: string;
  target: string;
  files: FileDiff[];
}

export interface Commit {
  id: string;
  message: string;
  author: string;
  timestamp: string;
  parents: string[];
}

export interface Topic {
  cluster: string;
  name: string;
  partitions: number;
  replication: number;
  config: Record<string, string> | null;
  messages: number;
  rate: number | null;
  internal: boolean;
}

export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

export interface GroupLag {
  group: string;
  lag: number;
  partitions: { partition: number; committed: number; lag: number }[];
}

export interface TopicDetail extends Topic {
  offsets: PartitionOffsets[];
  consumer_groups: GroupLag[] | null;
  consumer_groups_note: string | null;
}

export interface TopicIn {
  name: string;
  partitions: number;
  replication?: number;
  retention_ms?: number | null;
  compacted?: boolean;
}

export type OptionValue = string | number | boolean;

export interface Cluster {
  id: number;
  name: string;
  bootstrap_servers: string;
  options: Record<string, OptionValue>;
  secret_options: string[];
  created_at: string;
  updated_at: string;
}

export interface ClusterIn {
  name: string;
  bootstrap_servers: string;
  options?: Record<string, OptionValue>;
  secret_options?: Record<string, string>;
}

export interface ClusterPatch {
  bootstrap_servers?: string;
  options?: Record<string, OptionValue>;
  secret_options?: Record<string, string | null>;
}

export interface Secret {
  project: string;
  name: string;
  created_at: string;
  updated_at: string;
}

export interface AppSpec {
  name: string;
  entrypoint: string;
  inputs: string[];
  outputs: string[];
  replicas: number;
  cpu: number;
  memory: string;
  env: Record<string, string>;
  secrets: Record<string, string>;
}

export interface Manifest {
  ref: string;
  apps: AppSpec[];
}

export interface PreviewIn {
  app?: string | null;
  commit?: string | null;
  records?: number | null;
  seconds?: number | null;
  timeout?: number;
}

export interface Frame {
  file: string;
  line: number;
  function: string;
}

export interface PreviewError {
  /** import, read, run, timeout or crash */
  stage: string;
  type: string;
  message: string;
  traceback: string;
  frames: Frame[];
}

/** An output record: the value's fields plus `_key` and `_timestamp`. */
export type OutputRecord = Record<string, unknown>;

export interface PreviewResult {
  app: string;
  ref: string;
  inputs: Record<string, number>;
  outputs: Record<string, OutputRecord[]>;
  output_counts: Record<string, number>;
  dead_letters: Record<string, unknown>[];
  logs: string;
  error: PreviewError | null;
  timed_out: boolean;
  duration_ms: number;
}

export type DesiredState = "running" | "stopped";

export interface Deployment {
  id: number;
  project: string;
  app: string;
  cluster: string;
  commit: string;
  replicas: number;
  cpu: number;
  memory: string;
  env: Record<string, string>;
  secrets: Record<string, string>;
  desired_state: DesiredState;
  enforcement: string;
  limits: string;
  created_by: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
}

export interface DeploymentIn {
  app: string;
  commit?: string | null;
  cluster?: string | null;
  replicas?: number | null;
  state?: DesiredState;
}

export interface DeploymentPatch {
  replicas?: number | null;
  commit?: string | null;
}

export interface Replica {
  index: number;
  status: "running" | "backoff" | "stopping";
  pid: number | null;
  commit: string;
  restarts: number;
  started_at: string | null;
  last_exit_code: number | null;
  partitions: { topic: string; partition: number }[] | null;
  enforcement: string;
}

export interface LogLine {
  seq: number;
  time: string;
  /** null for the supervisor's own lines */
  replica: number | null;
  text: string;
}

/** [epoch seconds, value], oldest first. */
export type Point = [number, number];

export interface Series {
  name: string;
  labels: Record<string, string>;
  points: Point[];
}

export interface TopicMetrics {
  cluster: string;
  topic: string;
  sample_seconds: number;
  keep_seconds: number;
  series: Series[];
}

export interface DeploymentMetrics {
  deployment: string;
  keep_seconds: number;
  series: Series[];
}

/** One record of a live tail. */
export interface TailRecord {
  partition: number;
  offset: number;
  timestamp: number | null;
  key: unknown;
  value: unknown;
  headers?: [string, string][];
  error?: string;
}

export type GraphNodeKind = "deployment" | "external_producer" | "external_group" | "sink";
export type GraphNodeStatus = "running" | "pending" | "backoff" | "stopped" | "active" | "idle";

/** A deployment, an outside producer or consumer group, or a sink of the pipeline graph. */
export interface GraphNode {
  /** deployment:ID, producer:TOPIC, group:NAME or sink:TOPIC */
  id: string;
  kind: GraphNodeKind;
  label: string;
  status: GraphNodeStatus;
  deployment: number | null;
  project: string | null;
  app: string | null;
  commit: string | null;
  group: string | null;
  /** desired replicas */
  replicas: number | null;
  running_replicas: number | null;
  /** records/s consumed from topics other nodes write */
  throughput_in: number | null;
  /** records/s written to topics other nodes read */
  throughput_out: number | null;
  /** consumer lag over all inputs */
  lag: number | null;
}

/** A topic from its writer to one reader, with its write rate (null until sampled twice). */
export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  topic: string;
  internal: boolean;
  rate: number | null;
  lag: number | null;
}

export interface PipelineGraph {
  cluster: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}
