/** A labelled input with its errors under it: the form's own check, then the server's. */
import type { ReactNode } from "react";

import { FieldError } from "./States";

export function Field({
  label,
  children,
  problem,
  error,
  field,
}: {
  label: ReactNode;
  children: ReactNode;
  /** What the form itself finds wrong with the value, before sending it. */
  problem?: string | null;
  /** The failed request's error; shown when the server named `field`. */
  error?: unknown;
  field?: string;
}) {
  return (
    <>
      <label>
        {label}
        {children}
      </label>
      {problem && <div className="field-error">{problem}</div>}
      {field && <FieldError error={error} field={field} />}
    </>
  );
}
