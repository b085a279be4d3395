import { useState } from "react";
import { Link } from "react-router-dom";

import { Can } from "../auth/session";
import { DataTable } from "../components/DataTable";
import { Empty, QueryView } from "../components/States";
import { formatAgo, shortId } from "../shaping/format";
import { NewProjectDialog } from "./NewProjectDialog";
import { useProjects } from "../api/queries";

export function ProjectList() {
  const projects = useProjects();
  const [creating, setCreating] = useState(false);
  return (
    <div className="page">
      <header className="page-header">
        <h1>Projects</h1>
        <Can role="editor">
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New project
          </button>
        </Can>
      </header>
      <QueryView
        query={projects}
        what="projects"
        empty={
          <Empty title="No projects yet">
            A project is a Git repository with your stream apps. Create one from a template with “New
            project”.
          </Empty>
        }
      >
        {(list) => (
          <DataTable columns={["Name", "Description", "Template", "Head", "Created"]}>
            {list.map((p) => (
              <tr key={p.name}>
                <td>
                  <Link to={`/projects/${encodeURIComponent(p.name)}`}>{p.name}</Link>
                </td>
                <td className="muted">{p.description || "—"}</td>
                <td>{p.template ?? "—"}</td>
                <td>
                  <code>{shortId(p.head)}</code>
                </td>
                <td className="muted">
                  {formatAgo(p.created_at)} by {p.created_by}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryView>
      <NewProjectDialog open={creating} onClose={() => setCreating(false)} />
    </div>
  );
}
