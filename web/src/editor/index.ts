import { lazy } from "react";

/** The editor modules, split off so pages without an editor load fast. */
export const CodeEditor = lazy(() => import("./CodeEditor"));
export const CodeDiff = lazy(() =>
  import("./CodeEditor").then((module) => ({ default: module.CodeDiff })),
);
