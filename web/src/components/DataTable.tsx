/** A plain table: its accessible name, one header row, then the rows it is given. */
import type { ReactNode } from "react";

export function DataTable({ label, columns, children }: { label?: string; columns: string[]; children: ReactNode }) {
  return (
    <table className="table" aria-label={label}>
      <thead>
        <tr>
          {columns.map((column, i) => (
            <th key={i}>{column}</th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
