/** Every deployment of every project, with its status and how many replicas are ready. */
import { Link } from "react-router-dom";

import type { Deployment } from "../api";
import { DataTable } from "../components/DataTable";
import { Empty, ErrorBox, Loading } from "../components/States";
import { shortId } from "../shaping/format";
import { useProjectDeployments, useProjects } from "../api/queries";
import { StatusBadge } from "./StatusBadge";

export function DeploymentList() {
  const projects = useProjects();
  const names = projects.data?.map((p) => p.name) ?? [];
  const perProject = useProjectDeployments(names);
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
  return (
    <tr data-deployment={d.id} data-status={d.status}>
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
      <td title="replicas ready / desired">
        {d.ready_replicas} / {d.replicas}
      </td>
      <td>
        <StatusBadge deployment={d} />
      </td>
    </tr>
  );
}
