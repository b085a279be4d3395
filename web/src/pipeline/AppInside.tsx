/** Inside an expanded deployment, as the Flink web UI shows a job: each step's numbers, the
 * loop's busy share (backpressure), and the checkpoint history. */
import type { DeploymentSteps } from "../api/types";
import { TimeChart } from "../components/TimeChart";
import { formatCount, formatRate } from "../shaping/format";
import {
  busyChart,
  checkpointChart,
  formatLag,
  formatPercent,
  formatWatermark,
  isBusy,
  lastCheckpointMs,
} from "../shaping/inside";
import { stepLabel } from "../shaping/steps";

function optionalCount(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : formatCount(value);
}

export function AppInside({ app, steps, onClose }: { app: string; steps: DeploymentSteps; onClose: () => void }) {
  const checkpoints = checkpointChart(steps);
  const busy = busyChart(steps);
  const failures = (steps.checkpoints ?? []).reduce((sum, p) => sum + p.failures, 0);
  const lastMs = lastCheckpointMs(steps);
  return (
    <section className="app-inside" aria-label={`Inside ${app}`} data-deployment={steps.deployment}>
      <header className="app-inside-header">
        <div>
          <div className="crumbs">Inside the app</div>
          <h2>{app}</h2>
          <span className="muted">
            <span
              data-testid="app-busy"
              data-busy={steps.busy_ratio ?? ""}
              className={isBusy(steps.busy_ratio) ? "busy" : undefined}
            >
              busy {formatPercent(steps.busy_ratio)}
            </span>
            {" · "}
            <span data-testid="checkpoint-last" data-ms={lastMs ?? ""}>
              last checkpoint {lastMs === null ? "—" : `${Math.round(lastMs)} ms`}
            </span>
            {" · "}
            <span data-testid="checkpoint-failures">{failures} failed in the last hour</span>
          </span>
        </div>
        <button type="button" className="icon" aria-label="Hide the app's steps" onClick={onClose}>
          ✕
        </button>
      </header>
      <div className="app-inside-body">
        <table className="inside-steps">
          <thead>
            <tr>
              <th>Step</th>
              <th>In/s</th>
              <th>Out/s</th>
              <th>Busy</th>
              <th>Watermark</th>
              <th>Lag</th>
              <th>State</th>
              <th>Late</th>
              <th>Dead letters</th>
            </tr>
          </thead>
          <tbody>
            {steps.steps.map((step) => (
              <tr
                key={step.id}
                className={`inside-step${isBusy(step.busy_ratio) ? " busy" : ""}`}
                data-step={step.id}
                data-kind={step.kind}
                data-busy={step.busy_ratio ?? ""}
                data-watermark={step.watermark ?? ""}
              >
                <td title={step.label}>
                  <span className="muted">{step.kind}</span> {stepLabel(step)}
                </td>
                <td>{formatRate(step.records_in_per_second)}</td>
                <td>{formatRate(step.records_out_per_second)}</td>
                <td data-testid="step-busy">{formatPercent(step.busy_ratio)}</td>
                <td data-testid="step-watermark">{formatWatermark(step.watermark)}</td>
                <td>{formatLag(step.watermark_lag_seconds)}</td>
                <td>{optionalCount(step.state_entries)}</td>
                <td>{optionalCount(step.late_records)}</td>
                <td>{optionalCount(step.dead_letters)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="charts" data-testid="checkpoint-chart" data-points={checkpoints[0].length}>
          {checkpoints[0].length > 0 ? (
            <TimeChart title="Checkpoint duration (ms)" data={checkpoints} labels={["mean duration"]} height={140} />
          ) : (
            <p className="muted">No checkpoint yet: one is taken every few seconds while records flow.</p>
          )}
          {busy[0].length > 1 && <TimeChart title="Busy (% of the loop)" data={busy} labels={["busy"]} height={120} />}
        </div>
      </div>
    </section>
  );
}
