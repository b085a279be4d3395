/** Named secrets for deployments: admins set them; nobody reads them back. */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";

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

const KEY = ["secrets"];
const NAME = /^[A-Za-z0-9._-]+$/;

export function SecretSettings() {
  const secrets = useQuery({ queryKey: KEY, queryFn: api.secrets.list });
  const [editing, setEditing] = useState<string | "new" | null>(null);
  const { pending: deleting, ask, cancel, confirm, removal } = useConfirmedRemoval(KEY, (name: string) =>
    api.secrets.remove(name),
  );
  return (
    <section>
      <SectionHeader role="admin" addLabel="Add secret" onAdd={() => setEditing("new")}>
        Apps read secrets by name (see <code>headwater.yaml</code>). Values are encrypted and never shown
        again after saving.
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
                  <Can role="admin">
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
      {editing && <SecretDialog existing={editing === "new" ? null : editing} onClose={() => setEditing(null)} />}
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
    </section>
  );
}

function SecretDialog({ existing, onClose }: { existing: string | null; onClose: () => void }) {
  const [name, setName] = useState(existing ?? "");
  const [value, setValue] = useState("");
  const refresh = useInvalidate(KEY);
  const save = useMutation({
    mutationFn: () => api.secrets.put(name, value),
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
