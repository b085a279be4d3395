/**
 * Model monitoring in the Models tab: per deployment and model step, the version scoring now,
 * records per second, scoring time per batch, drift of the scores from the version's first ones,
 * and the scores over time with one line per version (a promotion shows as the next version's
 * line taking over).
 */
import type { ModelStepScores } from "../api";
import { useModelScores } from "../api/queries";
import { TimeChart } from "../components/TimeChart";
import { ErrorBox } from "../components/States";
import { formatRate } from "../shaping/format";
import { driftLevel, scoreChart, versionLabel, versionsOf } from "../shaping/modelScores";

export function ModelScoresPanel({ project }: { project: string }) {
  const scores = useModelScores(project);
  if (scores.error) return <ErrorBox error={scores.error} />;
  const steps = scores.data?.steps ?? [];
  return (
    <section className="model-scores" aria-label="Scoring in deployments">
      <h2>Scoring in deployments</h2>
      {steps.length === 0 ? (
        <p className="muted">
          No deployment has scored with a model yet: deploy an app with a <code>predict</code> step and its scores
          show here, sampled every {scores.data?.sample_seconds ?? 5} s.
        </p>
      ) : (
        steps.map((step) => <ModelStepCard key={`${step.deployment}:${step.step}`} step={step} />)
      )}
    </section>
  );
}

function ModelStepCard({ step }: { step: ModelStepScores }) {
  const last = step.points[step.points.length - 1];
  const chart = scoreChart(step.points);
  const level = driftLevel(last?.drift);
  return (
    <article
      className="model-step"
      data-testid={`model-scores-${step.app}`}
      data-deployment={step.deployment}
      aria-label={`${step.app} scoring with ${step.model}`}
    >
      <header>
        <strong>{step.app}</strong> <code>{step.model}</code>{" "}
        <span data-testid="scoring-version" data-version={last?.version ?? ""}>
          {last ? `scoring with ${versionLabel(last.version)}` : "not scored yet"}
        </span>
      </header>
      <p className="muted">
        <span data-testid="scoring-rate">{formatRate(last?.records_per_second, "records")}</span>
        {" · "}
        <span data-testid="scoring-batch">
          {last?.batch_ms == null ? "—" : `${last.batch_ms.toFixed(1)} ms per batch`}
        </span>
        {" · "}
        <span data-testid="scoring-drift" data-drift={last?.drift ?? ""} className={`drift-${level}`}>
          drift {last?.drift == null ? "—" : `${last.drift.toFixed(3)} (${level})`}
        </span>
      </p>
      <div
        data-testid="score-chart"
        data-points={step.points.length}
        data-versions={versionsOf(step.points).join(",")}
      >
        <TimeChart
          title={chart.scored ? "Mean score, per version" : "Records scored per second, per version"}
          data={chart.data}
          labels={chart.labels}
          height={160}
        />
      </div>
    </article>
  );
}
