import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { queryKeys, useUsers } from "../api/queries";
import { api, type Role, type User } from "../api";
import { ROLES } from "../auth/roles";
import { useSession } from "../auth/session";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { DataTable } from "../components/DataTable";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { SectionHeader } from "../components/SectionHeader";
import { ErrorBox, QueryView } from "../components/States";
import { useConfirmedRemoval } from "../components/useConfirmedRemoval";
import { formatAgo } from "../shaping/format";


export function UserSettings() {
  const users = useUsers();
  const { user: me } = useSession();
  const [creating, setCreating] = useState(false);
  const { pending: deleting, ask, cancel, confirm, removal, refresh } = useConfirmedRemoval(queryKeys.users, (user: User) =>
    api.users.remove(user.id),
  );
  const update = useMutation({
    mutationFn: ({ id, role }: { id: number; role: Role }) => api.users.update(id, { role }),
    onSettled: refresh,
  });
  return (
    <section>
      <SectionHeader addLabel="Add user" onAdd={() => setCreating(true)}>
        Viewers read everything; editors also change projects; admins also manage users, clusters and
        secrets.
      </SectionHeader>
      {update.error && <ErrorBox error={update.error} />}
      <QueryView query={users} what="users">
        {(list) => (
          <DataTable label="Users" columns={["User", "Role", "Created", ""]}>
            {list.map((u) => (
              <tr key={u.id}>
                <td>
                  <strong>{u.username}</strong>
                  {u.id === me.id && <span className="badge">you</span>}
                </td>
                <td>
                  <select
                    aria-label={`Role of ${u.username}`}
                    value={u.role}
                    // One's own role is changed by another admin: a demotion could not be undone.
                    disabled={update.isPending || u.id === me.id}
                    title={u.id === me.id ? "Another admin can change your role" : undefined}
                    onChange={(e) => update.mutate({ id: u.id, role: e.target.value as Role })}
                  >
                    {ROLES.map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </select>
                </td>
                <td className="muted">{formatAgo(u.created_at)}</td>
                <td className="row-actions">
                  {u.id !== me.id && (
                    <button type="button" className="small danger-text" onClick={() => ask(u)}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryView>
      {creating && <NewUserDialog onClose={() => setCreating(false)} onDone={refresh} />}
      <ConfirmDialog
        title={`Delete user ${deleting?.username ?? ""}?`}
        open={deleting !== null}
        onClose={cancel}
        onConfirm={confirm}
        confirmLabel="Delete user"
        action={removal}
      >
        <p>Their sessions and API tokens stop working.</p>
      </ConfirmDialog>
    </section>
  );
}

function NewUserDialog({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const create = useMutation({
    mutationFn: () => api.users.create({ username, password, role }),
    onSuccess: () => {
      onDone();
      onClose();
    },
  });
  return (
    <Dialog
      title="Add user"
      open
      onClose={onClose}
      onSubmit={() => create.mutate()}
      submitLabel="Add user"
      submitting={create.isPending}
      canSubmit={!!username && !!password}
    >
      <Field label="User name" error={create.error} field="username">
        <input name="new-username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />
      </Field>
      <Field label="Password" error={create.error} field="password">
        <input
          name="new-password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </Field>
      <label>
        Role
        <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </label>
      {create.error && <ErrorBox error={create.error} />}
    </Dialog>
  );
}
