/** One deployment: status, replicas, resources, scale, stop/start, redeploy at another commit,
 * live logs, charts. */
import { useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";

import { api, type Deployment, type Series } from "../api";
import { useCan } from "../auth/session";
import { DataTable } from "../components/DataTable";
import { Dialog } from "../components/Dialog";
import { Empty, ErrorBox, QueryView } from "../components/States";
import { TimeChart } from "../components/TimeChart";
import { useLogStream } from "../live/useLogStream";
import { formatAgo, shortId } from "../shaping/format";
import { alignSeries } from "../shaping/metrics";
import { resourceSource } from "../shaping/resources";
import { useCommits, useDeployment, useDeploymentChange, useDeploymentMetrics, useReplicas } from "../api/queries";
import { ResourcesDialog } from "./ResourcesDialog";
import { StatusBadge } from "./StatusBadge";

export function DeploymentDetail() {
  const id = Number(useParams().id);
  const deployment = useDeployment(id);
  return (
    <div className="page deployment">
      <QueryView query={deployment} what="deployment">
        {(d) => <DeploymentView deployment={d} />}
      </QueryView>
    </div>
  );
}

/** The deployment's controls (editors), replicas, charts and logs: the page, or the pipeline's drawer. */
export function DeploymentView({ deployment: d }: { deployment: Deployment }) {
  const canEdit = useCan("editor");
  const change = useDeploymentChange(d.id, (body) =>
    body === "stop"
      ? api.deployments.stop(d.id)
      : body === "start"
        ? api.deployments.start(d.id)
        : api.deployments.update(d.id, body),
  );
  const [redeploying, setRedeploying] = useState(false);
  const [sizing, setSizing] = useState(false);
  const running = d.desired_state === "running";
  return (
    <>
      <header className="page-header">
        <div>
          <div className="crumbs">
            <Link to="/deployments">Deployments</Link> /{" "}
            <Link to={`/projects/${encodeURIComponent(d.project)}`}>{d.project}</Link> /
          </div>
          <h1>{d.app}</h1>
        </div>
        <span className="muted">
          <StatusBadge deployment={d} /> {d.ready_replicas} of {d.replicas} ready · commit{" "}
          <code data-testid="deployment-commit">{shortId(d.commit)}</code> · cluster {d.cluster}
        </span>
      </header>
      <dl className="resources" aria-label="Resources">
        <div>
          <dt>Replicas</dt>
          <dd data-testid="resource-replicas">
            {d.replicas} <span className="muted">({resourceSource(d, "replicas")})</span>
          </dd>
        </div>
        <div>
          <dt>CPU per replica</dt>
          <dd data-testid="resource-cpu">
            {d.cpu} <span className="muted">({resourceSource(d, "cpu")})</span>
          </dd>
        </div>
        <div>
          <dt>Memory per replica</dt>
          <dd data-testid="resource-memory">
            {d.memory} <span className="muted">({resourceSource(d, "memory")})</span>
          </dd>
        </div>
        <div>
          <dt>Enforced by</dt>
          <dd title={d.limits}>{d.enforcement}</dd>
        </div>
      </dl>
      {canEdit && (
        <div className="toolbar deployment-controls">
          <span className="inline" role="group" aria-label="Replicas">
            <button
              type="button"
              aria-label="Remove a replica"
              disabled={change.isPending || d.replicas <= 1}
              onClick={() => change.mutate({ replicas: d.replicas - 1 })}
            >
              −
            </button>
            <span data-testid="desired-replicas">{d.replicas}</span> replicas
            <button
              type="button"
              aria-label="Add a replica"
              disabled={change.isPending || d.replicas >= 64}
              onClick={() => change.mutate({ replicas: d.replicas + 1 })}
            >
              +
            </button>
          </span>
          <span className="toolbar-actions">
            <button type="button" disabled={change.isPending} onClick={() => change.mutate(running ? "stop" : "start")}>
              {running ? "Stop" : "Start"}
            </button>
            <button type="button" onClick={() => setSizing(true)}>
              Resources…
            </button>
            <button type="button" onClick={() => setRedeploying(true)}>
              Redeploy at commit…
            </button>
          </span>
        </div>
      )}
      {change.error && <ErrorBox error={change.error} />}
      <Replicas id={d.id} />
      <Charts deployment={d} />
      <Logs id={d.id} />
      {canEdit && sizing && (
        <ResourcesDialog
          deployment={d}
          onClose={() => setSizing(false)}
          onSubmit={(patch) => change.mutate(patch, { onSuccess: () => setSizing(false) })}
          submitting={change.isPending}
          error={change.error}
        />
      )}
      {canEdit && redeploying && (
        <RedeployDialog
          deployment={d}
          onClose={() => setRedeploying(false)}
          onSubmit={(commit) => change.mutate({ commit }, { onSuccess: () => setRedeploying(false) })}
          submitting={change.isPending}
          error={change.error}
        />
      )}
    </>
  );
}

function Replicas({ id }: { id: number }) {
  const replicas = useReplicas(id);
  return (
    <section aria-label="Replicas">
      <h2>Replicas</h2>
      <QueryView
        query={replicas}
        what="replicas"
        empty={<Empty title="No replica runs">The deployment is stopped, or its replicas are starting.</Empty>}
      >
        {(list) => (
          <DataTable
            label="Replicas"
            columns={["#", "Status", "Ready", "PID", "Restarts", "Commit", "Started", "Last exit", "Partitions"]}
          >
            {list.map((r) => (
              <tr key={`${r.index}-${r.pid ?? r.status}`} data-replica={r.index} data-status={r.status}>
                <td>{r.index}</td>
                <td>
                  <span className={`badge replica-${r.status}`}>{r.status}</span>
                </td>
                <td>{r.ready ? "yes" : "no"}</td>
                <td>{r.pid ?? "—"}</td>
                <td>{r.restarts}</td>
                <td>
                  <code>{shortId(r.commit)}</code>
                </td>
                <td>{r.started_at ? formatAgo(r.started_at) : "—"}</td>
                <td>{r.last_exit_code ?? "—"}</td>
                <td>
                  {r.partitions === null
                    ? "not reported yet"
                    : r.partitions.map((p) => `${p.topic}[${p.partition}]`).join(", ") || "none"}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryView>
    </section>
  );
}

/** Throughput and lag of the deployment itself: "in" is what its own consumer group consumed,
 * "out" what it wrote, lag its group's alone (never another app's on the same topic). */
function Charts({ deployment: d }: { deployment: Deployment }) {
  const metrics = useDeploymentMetrics(d.id);
  const named = (s: Series): Series => ({ ...s, name: s.labels.topic ? `${s.name} ${s.labels.topic}` : s.name, labels: {} });
  const series = (metrics.data?.series ?? []).map(named);
  const throughput = alignSeries(series.filter((s) => !s.name.startsWith("lag")));
  const lag = alignSeries(series.filter((s) => s.name.startsWith("lag")));
  const group = metrics.data?.group;
  return (
    <section aria-label="Metrics" className="charts">
      {throughput.labels.length > 0 && throughput.data[0].length > 1 ? (
        <TimeChart title="Throughput (records/s)" data={throughput.data} labels={throughput.labels} />
      ) : (
        <Empty title="No throughput yet">
          {group === null
            ? "“In” shows once a replica has joined its consumer group."
            : "Rates show once the topics have been sampled (every few seconds)."}
        </Empty>
      )}
      {lag.labels.length > 0 && lag.data[0].length > 1 ? (
        <TimeChart title={`Consumer lag of ${group ?? "its group"} (records)`} data={lag.data} labels={lag.labels} />
      ) : (
        <Empty title="No lag measured yet" />
      )}
    </section>
  );
}

function Logs({ id }: { id: number }) {
  const { lines, error } = useLogStream(api.deployments.logStreamUrl(id, 200));
  const box = useRef<HTMLPreElement>(null);
  const [follow, setFollow] = useState(true);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);
  return (
    <section aria-label="Logs">
      <div className="toolbar">
        <h2>Logs</h2>
        <label className="inline">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
          Follow
        </label>
      </div>
      {error && <ErrorBox error={error} />}
      <pre className="logs" ref={box} data-testid="deployment-logs">
        {lines.length === 0
          ? "No output yet."
          : lines
              .map((l) => `${new Date(l.time).toLocaleTimeString()} ${l.replica === null ? "[supervisor]" : `[${l.replica}]`} ${l.text}`)
              .join("\n")}
      </pre>
    </section>
  );
}

function RedeployDialog(props: {
  deployment: Deployment;
  onClose: () => void;
  onSubmit: (commit: string) => void;
  submitting: boolean;
  error: unknown;
}) {
  const commits = useCommits(props.deployment.project);
  const [commit, setCommit] = useState(props.deployment.commit);
  const list = commits.data ?? [];
  const position = list.findIndex((c) => c.id === commit);
  const current = list.findIndex((c) => c.id === props.deployment.commit);
  const older = current >= 0 && position > current;
  return (
    <Dialog
      title="Redeploy at commit"
      open
      onClose={props.onClose}
      onSubmit={() => props.onSubmit(commit)}
      submitLabel={older ? "Roll back" : "Redeploy"}
      submitting={props.submitting}
      canSubmit={commit !== props.deployment.commit}
    >
      <label>
        Commit
        <select name="redeploy-commit" value={commit} onChange={(e) => setCommit(e.target.value)}>
          {list.map((c, i) => (
            <option key={c.id} value={c.id}>
              {shortId(c.id)} {c.message.split("\n")[0]}
              {i === 0 ? " (HEAD)" : ""}
              {c.id === props.deployment.commit ? " (deployed)" : ""}
            </option>
          ))}
        </select>
      </label>
      <p className="muted">
        Every replica restarts on the chosen commit{older ? ": an older one rolls the deployment back" : ""}.
      </p>
      {props.error ? <ErrorBox error={props.error} /> : null}
    </Dialog>
  );
}
