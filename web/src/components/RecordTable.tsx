/** Records in a table whose rows are virtualised: thousands of records stay smooth. Times show
 * as dates and floats rounded; hovering a cell shows its raw value. */
import {
  type ColumnDef,
  flexRender,
  getCoreRowModel,
  useReactTable,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useMemo, useRef } from "react";

import { type Row, columnsOf, formatCell, timeFields } from "../shaping/records";

const ROW_HEIGHT = 28;

export function RecordTable({ rows, label, height = 360 }: { rows: Row[]; label: string; height?: number }) {
  const names = useMemo(() => columnsOf(rows), [rows]);
  const times = useMemo(() => new Set(timeFields(rows)), [rows]);
  const columns = useMemo<ColumnDef<Row>[]>(
    () =>
      names.map((name) => ({
        id: name,
        header: name,
        accessorFn: (row: Row) => row[name],
        cell: (c) => {
          const { text, raw } = formatCell(name, c.getValue<Row[string] | undefined>(), times);
          // The full text on hover too: long cells (a traceback header) are cut to the column.
          return <span title={raw ?? (text.length > 40 ? text : undefined)}>{text}</span>;
        },
      })),
    [names, times],
  );
  const table = useReactTable({ data: rows, columns, getCoreRowModel: getCoreRowModel() });
  const scroller = useRef<HTMLDivElement>(null);
  const all = table.getRowModel().rows;
  const virtual = useVirtualizer({
    count: all.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtual.getVirtualItems();
  const before = items[0]?.start ?? 0;
  const after = virtual.getTotalSize() - (items[items.length - 1]?.end ?? 0);
  return (
    <div className="record-table" ref={scroller} style={{ maxHeight: height }}>
      <table className="table compact" aria-label={label} aria-rowcount={all.length}>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th key={header.id}>{flexRender(header.column.columnDef.header, header.getContext())}</th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {before > 0 && (
            <tr aria-hidden="true">
              <td style={{ height: before, padding: 0 }} colSpan={names.length} />
            </tr>
          )}
          {items.map((item) => {
            const row = all[item.index];
            if (!row) return null;
            return (
              <tr key={row.id} data-index={item.index} style={{ height: ROW_HEIGHT }}>
                {row.getVisibleCells().map((cell) => (
                  <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
                ))}
              </tr>
            );
          })}
          {after > 0 && (
            <tr aria-hidden="true">
              <td style={{ height: after, padding: 0 }} colSpan={names.length} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
