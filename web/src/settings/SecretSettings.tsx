/**
 * A project's named secrets, for its deployments: editors set them; nobody reads them back.
 * Each secret belongs to one project, and only that project's deployments can use it.
 */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { queryKeys, useProjects, useSecrets } from "../api/queries";
import { api } from "../api";
import { Can } from "../auth/session";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { DataTable } from "../components/DataTable";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { SectionHeader } from "../components/SectionHeader";
import { Empty, ErrorBox, QueryView } from "../components/States";
import { useConfirmedRemoval } from "../components/useConfirmedRemoval";
import { useInvalidate } from "../components/useInvalidate";
import { formatAgo } from "../shaping/format";

const NAME = /^[A-Za-z0-9._-]+$/;

export function SecretSettings() {
  const projects = useProjects();
  const [chosen, setChosen] = useState<string | null>(null);
  const project = chosen ?? projects.data?.[0]?.name ?? null;
  return (
    <section>
      <QueryView query={projects} what="projects" empty={<Empty title="No projects yet" />}>
        {(list) => (
          <label className="inline-field">
            Project
            <select value={project ?? ""} onChange={(e) => setChosen(e.target.value)}>
              {list.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </QueryView>
      {project && <ProjectSecrets key={project} project={project} />}
    </section>
  );
}

function ProjectSecrets({ project }: { project: string }) {
  const key = queryKeys.secrets(project);
  const secrets = useSecrets(project);
  const [editing, setEditing] = useState<string | "new" | null>(null);
  const { pending: deleting, ask, cancel, confirm, removal } = useConfirmedRemoval(key, (name: string) =>
    api.secrets.remove(project, name),
  );
  return (
    <>
      <SectionHeader role="editor" addLabel="Add secret" onAdd={() => setEditing("new")}>
        The apps of <code>{project}</code> read these by name (<code>secrets:</code> in{" "}
        <code>headwater.yaml</code>); other projects cannot. Values are encrypted and never shown again after
        saving.
      </SectionHeader>
      <QueryView query={secrets} what="secrets" empty={<Empty title="No secrets" />}>
        {(list) => (
          <DataTable label="Secrets" columns={["Name", "Value", "Updated", ""]}>
            {list.map((s) => (
              <tr key={s.name}>
                <td>
                  <code>{s.name}</code>
                </td>
                <td className="muted">•••••• (write-only)</td>
                <td className="muted">{formatAgo(s.updated_at)}</td>
                <td className="row-actions">
                  <Can role="editor">
                    <button type="button" className="small" onClick={() => setEditing(s.name)}>
                      Replace
                    </button>
                    <button type="button" className="small danger-text" onClick={() => ask(s.name)}>
                      Delete
                    </button>
                  </Can>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryView>
      {editing && (
        <SecretDialog
          project={project}
          existing={editing === "new" ? null : editing}
          onClose={() => setEditing(null)}
        />
      )}
      <ConfirmDialog
        title={`Delete secret ${deleting ?? ""}?`}
        open={deleting !== null}
        onClose={cancel}
        onConfirm={confirm}
        confirmLabel="Delete secret"
        action={removal}
      >
        <p>Deployments that use it fail to start until it is set again.</p>
      </ConfirmDialog>
    </>
  );
}

function SecretDialog({
  project,
  existing,
  onClose,
}: {
  project: string;
  existing: string | null;
  onClose: () => void;
}) {
  const [name, setName] = useState(existing ?? "");
  const [value, setValue] = useState("");
  const refresh = useInvalidate(queryKeys.secrets(project));
  const save = useMutation({
    mutationFn: () => api.secrets.put(project, name, value),
    onSuccess: () => {
      setValue("");
      refresh();
      onClose();
    },
  });
  const problem = name && !NAME.test(name) ? "use letters, digits and . _ - only" : null;
  return (
    <Dialog
      title={existing ? `Replace ${existing}` : "Add secret"}
      open
      onClose={onClose}
      onSubmit={() => save.mutate()}
      submitting={save.isPending}
      canSubmit={!!name && !!value && !problem}
    >
      {!existing && (
        <Field label="Name" problem={problem}>
          <input name="secret-name" autoFocus value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
      )}
      <Field label="Value">
        <input
          name="secret-value"
          type="password"
          autoComplete="new-password"
          autoFocus={!!existing}
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
      </Field>
      {save.error && <ErrorBox error={save.error} />}
    </Dialog>
  );
}
