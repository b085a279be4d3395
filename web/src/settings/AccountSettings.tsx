import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { api } from "../api";
import { useSession } from "../auth/session";
import { ErrorBox, FieldError } from "../components/States";

export function AccountSettings() {
  const { user } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const change = useMutation({
    mutationFn: () => api.auth.changePassword(current, next),
    onSuccess: () => {
      setCurrent("");
      setNext("");
    },
  });
  return (
    <section className="narrow">
      <p>
        Logged in as <strong>{user.username}</strong> ({user.role}).
      </p>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          change.mutate();
        }}
      >
        <h2>Change password</h2>
        <label>
          Current password
          <input
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
        </label>
        <label>
          New password
          <input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />
        </label>
        <FieldError error={change.error} field="new_password" />
        {change.error && <ErrorBox error={change.error} />}
        {change.isSuccess && <div className="notice">Password changed; your other sessions ended.</div>}
        <div>
          <button type="submit" className="primary" disabled={!current || !next || change.isPending}>
            Change password
          </button>
        </div>
      </form>
    </section>
  );
}
