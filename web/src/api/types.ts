/**
 * Shapes of the platform API's JSON: names for the types generated from the server's OpenAPI
 * document (schema.d.ts, written by scripts/web_types.sh; never edited by hand).
 */

import type { components, paths } from "./schema";

type Schemas = components["schemas"];
type Json<R> = R extends { content: { "application/json": infer J } } ? J : never;

/**
 * The JSON a successful `method` on `path` answers, as the OpenAPI document says: what each
 * endpoint in endpoints.ts reads its response as, so a response is never cast to a hand-picked
 * type. A path or method the document lacks does not compile.
 */
export type Answer<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: infer R;
}
  ? R extends { 200: infer Ok }
    ? Json<Ok>
    : R extends { 201: infer Made }
      ? Json<Made>
      : never
  : never;

export type Role = Schemas["Role"];
export type User = Schemas["UserOut"];
export type LoginResult = Schemas["LoginOut"];
export type Ok = Schemas["OkOut"];
export type ApiToken = Schemas["TokenOut"];
export type NewApiToken = Schemas["NewTokenOut"];

export type TopicSlot = Schemas["TopicSlotOut"];
export type Template = Schemas["TemplateOut"];
/** An existing topic, or one to create (with `partitions`). */
export type TopicChoice = Schemas["TopicChoiceIn"];
export type ProjectIn = Schemas["ProjectIn"];
export type Project = Schemas["ProjectOut"];
export type ProjectFile = Schemas["FileOut"];
export type Tree = Schemas["TreeOut"];
export type FileContent = Schemas["FileContentOut"];
export type Change = Schemas["ChangeOut"];
export type ChangeStatus = Change["status"];
export type FileDiff = Schemas["FileDiffOut"];
export type Diff = Schemas["DiffOut"];
export type Commit = Schemas["CommitOut"];

export type Topic = Schemas["TopicOut"];
export type PartitionOffsets = Schemas["headwater__platform__api__topics__PartitionOut"];
export type GroupLag = Schemas["GroupOut"];
export type TopicDetail = Schemas["TopicDetailOut"];
export type TopicIn = Schemas["TopicIn"];
/** A topic's configuration as the broker reports it, and its partition count. */
export type TopicConfig = Schemas["TopicConfigOut"];
export type ConfigEntry = Schemas["ConfigEntryOut"];
/** The settings the Topics page changes; null hands one back to the broker's default. */
export type TopicConfigChange = Schemas["TopicConfigPatch"]["config"];

export type GroupSummary = Schemas["GroupSummaryOut"];
export type GroupDetail = Schemas["GroupDetailOut"];
export type GroupMember = Schemas["MemberOut"];
export type GroupPartitionLag = Schemas["GroupPartitionLagOut"];
/** Lag per partition over time: series named `lag`, labelled `topic` and `partition`. */
export type GroupLagHistory = Schemas["GroupLagHistoryOut"];

export type Cluster = Schemas["ClusterOut"];
export type OptionValue = Cluster["options"][string];
export type ClusterIn = Schemas["ClusterIn"];
export type ClusterPatch = Schemas["ClusterPatch"];
export type DeployTarget = Schemas["DeployTarget"];
export type Secret = Schemas["SecretOut"];
export type RegisteredModel = Schemas["ModelOut"];
export type ModelVersion = Schemas["VersionOut"];
export type ModelScores = Schemas["ModelScoresOut"];
export type ModelStepScores = Schemas["ModelStepOut"];
export type ModelScorePoint = Schemas["ScorePointOut"];
/** What an upload says of the file besides its bytes (query parameters of the upload). */
export type ModelUpload = NonNullable<paths["/api/projects/{project}/models/{name}/versions"]["post"]["parameters"]["query"]>;

export type AppSpec = Schemas["AppSpec"];
export type Manifest = Schemas["ManifestOut"];
export type PreviewIn = Schemas["PreviewIn"];
export type Frame = Schemas["FrameOut"];
export type PreviewError = Schemas["PreviewErrorOut"];
/** An output record: the value's fields plus `_key` and `_timestamp`. */
export type OutputRecord = Record<string, unknown>;
export type PreviewResult = Schemas["PreviewOut"];

export type Deployment = Schemas["DeploymentOut"];
export type DesiredState = Deployment["desired_state"];
/** One rule for the list, the page and the graph (see the server's deployments/status.py). */
export type DeploymentStatus = Deployment["status"];
export type Resource = Deployment["overrides"][number];
export type DeploymentIn = Schemas["DeploymentIn"];
export type DeploymentPatch = Schemas["DeploymentPatch"];
export type Replica = Schemas["ReplicaOut"];
export type LogLine = Schemas["LogLineOut"];

/** [epoch seconds, value], oldest first. */
export type Point = [number, number];
export type Series = Schemas["SeriesOut"];
export type TopicMetrics = Schemas["TopicMetricsOut"];
/** `in` (what its group consumed), `lag` (its group's) and `out` per topic, labelled `topic`. */
export type DeploymentMetrics = Schemas["DeploymentMetricsOut"];

/** A step of a deployed app (from its topology) with its records in and out per second. */
export type DeploymentStep = Schemas["StepOut"];
export type DeploymentSteps = Schemas["DeploymentStepsOut"];

/**
 * One record of a live tail (an event of the tail's stream, which the document does not
 * describe) or of a page.
 */
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
export type RecordsPage = Omit<Schemas["PageOut"], "records"> & { records: TailRecord[] };

export type GraphNode = Schemas["GraphNode"];
export type GraphNodeKind = GraphNode["kind"];
export type GraphNodeStatus = GraphNode["status"];
export type GraphEdge = Schemas["GraphEdge"];
export type PipelineGraph = Schemas["Graph"];

export type CanvasEditIn = Schemas["CanvasEditIn"];
export type CanvasEdit = CanvasEditIn["edit"];
export type CanvasCommitIn = Schemas["CanvasCommitIn"];
export type CanvasPreview = Schemas["CanvasPreviewOut"];
export type CanvasCommit = Schemas["CanvasCommitOut"];
export type CanvasLayout = Schemas["LayoutIO"];
