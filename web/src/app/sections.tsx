/**
 * The app's top-level sections: one entry per navigation item; a new section is one more entry
 * here and nothing else in the shell changes.
 */
import { lazy, type ComponentType, type LazyExoticComponent } from "react";

import { type ClusterView, ToClusterView } from "../clusters/ClusterScope";

export interface Section {
  /** The first path segment, e.g. "projects" for /projects and /projects/:name. */
  path: string;
  label: string;
  /** Single-key shortcut with "g" first, e.g. g then p for Pipeline. */
  key: string;
  page: ComponentType | LazyExoticComponent<ComponentType>;
  /** A page of one cluster: its own URL is /clusters/:cluster/PATH, and /PATH leads there. */
  clusterView?: ClusterView;
}

const ProjectsSection = lazy(() => import("../projects/ProjectsSection"));
const TopicsSection = lazy(() => import("../topics/TopicsPage"));
const GroupsSection = lazy(() => import("../groups/GroupsPage"));
const SettingsPage = lazy(() => import("../settings/SettingsPage"));
const DeploymentsSection = lazy(() => import("../deployments/DeploymentsSection"));
const PipelinePage = lazy(() => import("../pipeline/PipelinePage"));

function PipelineOfDefaultCluster() {
  return <ToClusterView title="Pipeline" view="pipeline" />;
}

function TopicsOfDefaultCluster() {
  return <ToClusterView title="Topics" view="topics" />;
}

function GroupsOfDefaultCluster() {
  return <ToClusterView title="Consumer groups" view="groups" />;
}

export const SECTIONS: readonly Section[] = [
  {
    path: "pipeline",
    label: "Pipeline",
    key: "p",
    page: PipelineOfDefaultCluster,
    clusterView: "pipeline",
  },
  { path: "projects", label: "Projects", key: "r", page: ProjectsSection },
  { path: "topics", label: "Topics", key: "t", page: TopicsOfDefaultCluster, clusterView: "topics" },
  {
    path: "groups",
    label: "Consumer groups",
    key: "c",
    page: GroupsOfDefaultCluster,
    clusterView: "groups",
  },
  { path: "deployments", label: "Deployments", key: "d", page: DeploymentsSection },
  { path: "settings", label: "Settings", key: "s", page: SettingsPage },
];

/** The pages of one cluster, at /clusters/:cluster/VIEW. */
export const CLUSTER_VIEWS: readonly { view: ClusterView; page: LazyExoticComponent<ComponentType> }[] = [
  { view: "topics", page: TopicsSection },
  { view: "groups", page: GroupsSection },
  { view: "pipeline", page: PipelinePage },
];

/** Where "/" leads. */
export const HOME = "/projects";
