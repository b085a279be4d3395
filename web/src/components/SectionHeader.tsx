/** A settings section's intro with its "Add …" button (shown only to `role`, if given). */
import type { ReactNode } from "react";

import type { Role } from "../api";
import { Can } from "../auth/session";

export function SectionHeader({
  children,
  addLabel,
  onAdd,
  role,
}: {
  children: ReactNode;
  addLabel: string;
  onAdd: () => void;
  role?: Role;
}) {
  const add = (
    <button type="button" className="primary" onClick={onAdd}>
      {addLabel}
    </button>
  );
  return (
    <div className="section-header">
      <p className="muted">{children}</p>
      {role ? <Can role={role}>{add}</Can> : add}
    </div>
  );
}
