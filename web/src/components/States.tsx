/** Loading, empty and error states, the same on every page. */
import type { ReactNode } from "react";

import { ApiError, messageOf } from "../api/errors";

export function Loading({ what }: { what: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state empty">
      <strong>{title}</strong>
      {children && <div className="muted">{children}</div>}
    </div>
  );
}

/** An error with the server's explanation (which says how to fix it) and an optional retry. */
export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const status = error instanceof ApiError && error.status ? ` (${error.status})` : "";
  return (
    <div className="error-box" role="alert">
      <span>
        {messageOf(error)}
        {status && <span className="muted">{status}</span>}
      </span>
      {retry && (
        <button type="button" className="link" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** A field's own error under its input, if the server named that field. */
export function FieldError({ error, field }: { error: unknown; field: string }) {
  const message = error instanceof ApiError ? error.forField(field) : undefined;
  return message ? (
    <div className="field-error" role="alert">
      {message}
    </div>
  ) : null;
}

/** Renders a query's states: loading, error with retry, `empty` for an empty list, then the data. */
export function QueryView<T>({
  query,
  what,
  empty,
  children,
}: {
  query: { data: T | undefined; error: unknown; isPending: boolean; refetch: () => unknown };
  what: string;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading what={what} />;
  if (query.error || query.data === undefined)
    return <ErrorBox error={query.error} retry={() => void query.refetch()} />;
  if (empty !== undefined && Array.isArray(query.data) && query.data.length === 0) return <>{empty}</>;
  return <>{children(query.data)}</>;
}
