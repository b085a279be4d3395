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

export interface TopicSlot {
  /** the key to choose this topic with in a new project's `topics` */
  name: string;
  role: "input" | "output";
  /** the topic used when none is chosen; {project} stands for the project's name */
  default: string;
  description: string;
}

export interface Template {
  id: string;
  title: string;
  description: string;
  topics: TopicSlot[];
}

/** An existing topic, or one to create (with `partitions`). */
export interface TopicChoice {
  name: string;
  partitions?: number | null;
}

export interface ProjectIn {
  name: string;
  description?: string;
  template?: string | null;
  topics?: Record<string, TopicChoice>;
  cluster?: string | null;
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
  /** unsaved editor contents, path -> text: the run uses them instead of the saved files */
  files?: Record<string, string>;
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
  /** files run as the editor had them, not as saved */
  unsaved: string[];
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
/** One rule for the list, the page and the graph (see the server's deployments/status.py). */
export type DeploymentStatus = "running" | "starting" | "degraded" | "failing" | "stopped";
export type Resource = "replicas" | "cpu" | "memory";

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
  status: DeploymentStatus;
  ready_replicas: number;
  /** resources set on the deployment; the others follow headwater.yaml */
  overrides: Resource[];
  /** headwater.yaml's values at the deployed commit */
  manifest: { replicas: number; cpu: number; memory: string } | null;
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
  cpu?: number | null;
  memory?: string | null;
  state?: DesiredState;
}

export interface DeploymentPatch {
  replicas?: number | null;
  cpu?: number | null;
  memory?: string | null;
  commit?: string | null;
  /** resources to take from headwater.yaml again */
  reset?: Resource[];
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
  /** reported its partitions, or runs steadily without */
  ready: boolean;
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

/** `in` (what its group consumed), `lag` (its group's) and `out` per topic, labelled `topic`. */
export interface DeploymentMetrics {
  deployment: number;
  group: string | null;
  keep_seconds: number;
  series: Series[];
}

/** A step of a deployed app (from its topology) with its records in and out per second. */
export interface DeploymentStep {
  /** the step's id in the app's topology */
  id: string;
  kind: string;
  label: string;
  /** ids of the steps whose records it receives */
  inputs: string[];
  /** summed over replicas; null until the replicas have been scraped twice */
  records_in_per_second: number | null;
  records_out_per_second: number | null;
}

export interface DeploymentSteps {
  deployment: number;
  sample_seconds: number;
  window_seconds: number;
  /** empty until a replica has reported them */
  steps: DeploymentStep[];
}

/** One record of a live tail or a page. */
export interface TailRecord {
  partition: number;
  offset: number;
  timestamp: number | null;
  key: unknown;
  value: unknown;
  headers?: [string, string][];
  error?: string;
}

/** A page of a topic's history; `next` is the cursor of the page after it. */
export interface RecordsPage {
  records: TailRecord[];
  start: string;
  next: string;
  at_end: boolean;
  total: number;
  before: number;
}

export type GraphNodeKind = "deployment" | "external_producer" | "external_group" | "sink";
export type GraphNodeStatus = DeploymentStatus | "active" | "idle";

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
