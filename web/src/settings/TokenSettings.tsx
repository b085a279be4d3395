/** One's own API tokens; a new token is shown once, right after it is made. */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { queryKeys, useTokens } from "../api/queries";
import { api, type NewApiToken } from "../api";
import { DataTable } from "../components/DataTable";
import { Empty, ErrorBox, FieldError, QueryView } from "../components/States";
import { useInvalidate } from "../components/useInvalidate";
import { formatAgo } from "../shaping/format";


export function TokenSettings() {
  const tokens = useTokens();
  const [name, setName] = useState("");
  const [made, setMade] = useState<NewApiToken | null>(null);
  const [copied, setCopied] = useState(false);
  const refresh = useInvalidate(queryKeys.tokens);
  const create = useMutation({
    mutationFn: () => api.tokens.create(name),
    onSuccess: (token) => {
      setMade(token);
      setCopied(false);
      setName("");
      refresh();
    },
  });
  const revoke = useMutation({ mutationFn: (id: number) => api.tokens.revoke(id), onSuccess: refresh });
  return (
    <section>
      <p className="muted">
        Tokens let scripts, the CLI and Git act as you: send one as <code>Authorization: Bearer TOKEN</code>.
      </p>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <input
          name="token-name"
          aria-label="Token name"
          placeholder="What the token is for, e.g. ci"
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" className="primary" disabled={!name || create.isPending}>
          Create token
        </button>
      </form>
      <FieldError error={create.error} field="name" />
      {create.error && <ErrorBox error={create.error} />}
      {made && (
        <div className="notice" role="status">
          <strong>Token “{made.name}” — copy it now; it is not shown again.</strong>
          <div className="row">
            <code className="secret-value" data-testid="new-token">
              {made.token}
            </code>
            <button
              type="button"
              onClick={() =>
                navigator.clipboard.writeText(made.token).then(
                  () => setCopied(true),
                  () => setCopied(false),
                )
              }
            >
              {copied ? "Copied" : "Copy"}
            </button>
            <button type="button" className="link" onClick={() => setMade(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      {revoke.error && <ErrorBox error={revoke.error} />}
      <QueryView query={tokens} what="tokens" empty={<Empty title="No API tokens" />}>
        {(list) => (
          <DataTable label="API tokens" columns={["Name", "Starts with", "Created", "Last used", ""]}>
            {list.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td className="muted">{formatAgo(t.created_at)}</td>
                <td className="muted">{t.last_used_at ? formatAgo(t.last_used_at) : "never"}</td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="small danger-text"
                    disabled={revoke.isPending}
                    onClick={() => revoke.mutate(t.id)}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryView>
    </section>
  );
}
