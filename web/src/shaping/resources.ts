/** Replicas, CPU and memory of a deployment: headwater.yaml's values unless set on it. */
import type { Deployment, Resource } from "../api/types";

const MEMORY = /^[1-9][0-9]*(Mi|Gi)$/;

/** Where a deployment's value comes from, as the page says it. */
export function resourceSource(deployment: Deployment, resource: Resource): string {
  if (!deployment.overrides.includes(resource)) return "from headwater.yaml";
  const manifest = deployment.manifest?.[resource];
  return manifest === undefined ? "set here" : `set here; headwater.yaml says ${manifest}`;
}

/** What is wrong with a memory size as typed, or null: e.g. 256Mi or 2Gi. */
export function memoryProblem(text: string): string | null {
  return MEMORY.test(text.trim()) ? null : "a size such as 256Mi or 2Gi";
}

/** What is wrong with a CPU figure as typed (cores, 0.5 is half a core), or null. */
export function cpuProblem(text: string): string | null {
  const value = Number(text);
  return text.trim() !== "" && Number.isFinite(value) && value > 0 && value <= 64
    ? null
    : "cores, more than 0 and at most 64 (0.5 is half a core)";
}
