/** A deployment's status, one rule everywhere: running, starting, degraded, failing, stopped. */
import type { Deployment, DeploymentStatus } from "../api";

const MEANING: Record<DeploymentStatus, string> = {
  running: "every replica is ready",
  starting: "replicas are starting",
  degraded: "some replicas are ready, not all",
  failing: "no replica is ready and one has crashed: see the logs",
  stopped: "stopped on purpose",
};

export function StatusBadge({ deployment: d }: { deployment: Deployment }) {
  return (
    <span
      className={`badge status-${d.status}`}
      data-testid="deployment-status"
      title={`${d.ready_replicas} of ${d.replicas} replicas ready: ${MEANING[d.status]}`}
    >
      {d.status}
    </span>
  );
}
