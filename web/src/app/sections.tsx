/**
 * The app's top-level sections: one entry per navigation item; a new section is one more entry
 * here and nothing else in the shell changes.
 */
import { lazy, type ComponentType, type LazyExoticComponent } from "react";

export interface Section {
  /** The first path segment, e.g. "projects" for /projects and /projects/:name. */
  path: string;
  label: string;
  /** Single-key shortcut with "g" first, e.g. g then p for Pipeline. */
  key: string;
  page: ComponentType | LazyExoticComponent<ComponentType>;
}

const ProjectsSection = lazy(() => import("../projects/ProjectsSection"));
const TopicsPage = lazy(() => import("../topics/TopicsPage"));
const SettingsPage = lazy(() => import("../settings/SettingsPage"));
const DeploymentsSection = lazy(() => import("../deployments/DeploymentsSection"));
const PipelinePage = lazy(() => import("../pipeline/PipelinePage"));

export const SECTIONS: readonly Section[] = [
  {
    path: "pipeline",
    label: "Pipeline",
    key: "p",
    page: PipelinePage,
  },
  { path: "projects", label: "Projects", key: "r", page: ProjectsSection },
  { path: "topics", label: "Topics", key: "t", page: TopicsPage },
  { path: "deployments", label: "Deployments", key: "d", page: DeploymentsSection },
  { path: "settings", label: "Settings", key: "s", page: SettingsPage },
];

/** Where "/" leads. */
export const HOME = "/projects";
