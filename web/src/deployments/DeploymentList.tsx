/** Every deployment of every project, with how many replicas run now. */
import { useQueries, useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";

import { api, type Deployment } from "../api";
import { DataTable } from "../components/DataTable";
import { Empty, ErrorBox, Loading } from "../components/States";
import { shortId } from "../shaping/format";
import { deploymentKeys, REFRESH_MS } from "./queries";

export function DeploymentList() {
  const projects = useQuery({ queryKey: ["projects"], queryFn: api.projects.list });
  const names = projects.data?.map((p) => p.name) ?? [];
  const perProject = useQueries({
    queries: names.map((name) => ({
      queryKey: deploymentKeys.project(name),
      queryFn: () => api.deployments.list(name),
      refetchInterval: REFRESH_MS * 2,
    })),
  });
  const deployments: Deployment[] = perProject.flatMap((q) => q.data ?? []).sort((a, b) => a.id - b.id);
  const failed = perProject.find((q) => q.error)?.error;
  const pending = projects.isPending || perProject.some((q) => q.isPending);
  return (
    <div className="page">
      <header className="page-header">
        <h1>Deployments</h1>
      </header>
      {projects.error && <ErrorBox error={projects.error} retry={() => void projects.refetch()} />}
      {failed ? <ErrorBox error={failed} /> : null}
      {pending ? (
        <Loading what="deployments" />
      ) : deployments.length === 0 ? (
        <Empty title="Nothing deployed">Open a project and press “Deploy” to run one of its apps.</Empty>
      ) : (
        <DataTable label="Deployments" columns={["Project", "App", "Commit", "Replicas", "Status"]}>
          {deployments.map((d) => (
            <DeploymentRow key={d.id} deployment={d} />
          ))}
        </DataTable>
      )}
    </div>
  );
}

function DeploymentRow({ deployment: d }: { deployment: Deployment }) {
  const replicas = useQuery({
    queryKey: deploymentKeys.replicas(d.id),
    queryFn: () => api.deployments.replicas(d.id),
    refetchInterval: REFRESH_MS * 2,
  });
  const running = replicas.data?.filter((r) => r.status === "running").length;
  return (
    <tr data-deployment={d.id}>
      <td>
        <Link to={`/projects/${encodeURIComponent(d.project)}`}>{d.project}</Link>
      </td>
      <td>
        <Link to={`/deployments/${d.id}`}>
          <strong>{d.app}</strong>
        </Link>
      </td>
      <td>
        <code>{shortId(d.commit)}</code>
      </td>
      <td>
        {running ?? "…"} / {d.replicas}
      </td>
      <td>
        <span className={`badge state-${d.desired_state}`}>{d.desired_state}</span>
      </td>
    </tr>
  );
}
