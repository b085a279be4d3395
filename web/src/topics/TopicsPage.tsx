/** Topics of a cluster: counts and rates (refreshed), create for editors, delete for admins. */
import { useMutation } from "@tanstack/react-query";
import {
  type ColumnDef,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  type SortingState,
  useReactTable,
} from "@tanstack/react-table";
import { useMemo, useState } from "react";
import { Link, Route, Routes } from "react-router-dom";

import { api, type Topic } from "../api";
import { queryKeys, useTopics } from "../api/queries";
import { Can, useCan } from "../auth/session";
import { ClusterPicker, ClusterScopedPage, topicPath } from "../clusters/ClusterScope";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { Empty, ErrorBox, Loading } from "../components/States";
import { useConfirmedRemoval } from "../components/useConfirmedRemoval";
import { useInvalidate } from "../components/useInvalidate";
import { formatCount, formatRate, formatRetention } from "../shaping/format";
import { shapeTopics, topicNameProblem } from "../shaping/topics";
import { TopicView } from "./TopicView";

export default function TopicsSection() {
  return (
    <Routes>
      <Route index element={<TopicsPage />} />
      <Route path=":name" element={<TopicView />} />
    </Routes>
  );
}

function TopicsPage() {
  return (
    <ClusterScopedPage title="Topics" view="topics">
      {(cluster, clusters) => <TopicList key={cluster} cluster={cluster} clusters={clusters} />}
    </ClusterScopedPage>
  );
}

function TopicList(props: { cluster: string; clusters: string[] }) {
  const { cluster } = props;
  const topics = useTopics(cluster, { live: true });
  const [search, setSearch] = useState("");
  const [showInternal, setShowInternal] = useState(false);
  const [creating, setCreating] = useState(false);
  const { pending: deleting, ask, cancel, confirm, removal } = useConfirmedRemoval(
    queryKeys.topics(cluster),
    (name: string) => api.topics.remove(name, cluster),
  );
  const view = useMemo(
    () => shapeTopics(topics.data ?? [], search, showInternal),
    [topics.data, search, showInternal],
  );
  return (
    <>
      <header className="page-header">
        <h1>Topics</h1>
        <div className="toolbar-actions">
          <ClusterPicker cluster={cluster} clusters={props.clusters} view="topics" />
          <Can role="editor">
            <button type="button" className="primary" onClick={() => setCreating(true)}>
              New topic
            </button>
          </Can>
        </div>
      </header>
      <div className="filters">
        <input
          type="search"
          aria-label="Filter topics"
          placeholder="Filter by name"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <label className="inline">
          <input
            type="checkbox"
            checked={showInternal}
            onChange={(e) => setShowInternal(e.target.checked)}
          />
          Internal topics
        </label>
        {topics.data && (
          <span className="muted">
            {view.topics.length} {view.topics.length === 1 ? "topic" : "topics"} · {formatCount(view.totalMessages)} records ·{" "}
            {formatRate(view.totalRate)}
            {view.hiddenInternal > 0 && ` · ${view.hiddenInternal} internal hidden`}
          </span>
        )}
      </div>
      {topics.isPending ? (
        <Loading what="topics" />
      ) : topics.error && !topics.data ? (
        <ErrorBox error={topics.error} retry={() => void topics.refetch()} />
      ) : view.topics.length === 0 ? (
        <Empty title={search ? "No topic matches the filter" : "No topics yet"}>
          {!search && "Create one with “New topic”, or run an app that produces to one."}
        </Empty>
      ) : (
        <TopicTable topics={view.topics} cluster={cluster} onDelete={ask} />
      )}
      {topics.error && topics.data && <ErrorBox error={topics.error} />}
      <CreateTopicDialog cluster={cluster} open={creating} onClose={() => setCreating(false)} />
      {deleting && <DeleteTopicDialog name={deleting} onClose={cancel} onConfirm={confirm} action={removal} />}
    </>
  );
}

function TopicTable(props: { topics: Topic[]; cluster: string; onDelete: (name: string) => void }) {
  const { topics, cluster, onDelete } = props;
  const canDelete = useCan("admin");
  const [sorting, setSorting] = useState<SortingState>([]);
  const columns = useMemo<ColumnDef<Topic>[]>(
    () => [
      {
        accessorKey: "name",
        header: "Name",
        cell: (c) => (
          <Link to={topicPath(cluster, c.getValue<string>())}>
            <strong>{c.getValue<string>()}</strong>
          </Link>
        ),
      },
      { accessorKey: "partitions", header: "Partitions" },
      { accessorKey: "replication", header: "Replicas" },
      {
        accessorKey: "messages",
        header: "Records",
        cell: (c) => formatCount(c.getValue<number>()),
      },
      {
        accessorKey: "rate",
        header: "Rate",
        sortUndefined: "last",
        cell: (c) => formatRate(c.getValue<number | null>()),
      },
      {
        id: "retention",
        header: "Retention",
        accessorFn: (t) => formatRetention(t.config?.["retention.ms"]),
      },
      {
        id: "policy",
        header: "Cleanup",
        accessorFn: (t) => t.config?.["cleanup.policy"] ?? "—",
      },
      ...(canDelete
        ? [
            {
              id: "actions",
              header: "",
              enableSorting: false,
              cell: (c) => (
                <button
                  type="button"
                  className="small danger-text"
                  aria-label={`Delete topic ${c.row.original.name}`}
                  onClick={() => onDelete(c.row.original.name)}
                >
                  Delete
                </button>
              ),
            } satisfies ColumnDef<Topic>,
          ]
        : []),
    ],
    [canDelete, onDelete, cluster],
  );
  const table = useReactTable({
    data: topics,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });
  return (
    <table className="table" aria-label="Topics">
      <thead>
        {table.getHeaderGroups().map((group) => (
          <tr key={group.id}>
            {group.headers.map((header) => {
              const sorted = header.column.getIsSorted();
              return (
                <th key={header.id} aria-sort={sorted ? (sorted === "asc" ? "ascending" : "descending") : undefined}>
                  {header.column.getCanSort() ? (
                    <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}>
                      {flexRender(header.column.columnDef.header, header.getContext())}
                      {sorted === "asc" ? " ▲" : sorted === "desc" ? " ▼" : ""}
                    </button>
                  ) : (
                    flexRender(header.column.columnDef.header, header.getContext())
                  )}
                </th>
              );
            })}
          </tr>
        ))}
      </thead>
      <tbody>
        {table.getRowModel().rows.map((row) => (
          <tr key={row.id} data-topic={row.original.name}>
            {row.getVisibleCells().map((cell) => (
              <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function CreateTopicDialog({ cluster, open, onClose }: { cluster: string; open: boolean; onClose: () => void }) {
  const [name, setName] = useState("");
  const [partitions, setPartitions] = useState(3);
  const [retentionDays, setRetentionDays] = useState("");
  const [compacted, setCompacted] = useState(false);
  const refresh = useInvalidate(queryKeys.topics(cluster));
  const create = useMutation({
    mutationFn: () =>
      api.topics.create(
        {
          name,
          partitions,
          compacted,
          retention_ms: retentionDays ? Math.round(Number(retentionDays) * 86_400_000) : null,
        },
        cluster,
      ),
    onSuccess: () => {
      refresh();
      setName("");
      onClose();
    },
  });
  const problem = name ? topicNameProblem(name) : null;
  return (
    <Dialog
      title="New topic"
      open={open}
      onClose={onClose}
      onSubmit={() => create.mutate()}
      submitLabel="Create topic"
      submitting={create.isPending}
      canSubmit={!!name && !problem && partitions >= 1}
    >
      <Field label="Name" problem={problem} error={create.error} field="name">
        <input name="topic-name" autoFocus value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field label="Partitions" error={create.error} field="partitions">
        <input
          name="partitions"
          type="number"
          min={1}
          value={partitions}
          onChange={(e) => setPartitions(Number(e.target.value))}
        />
      </Field>
      <label>
        Retention in days (empty: the broker's default)
        <input
          name="retention-days"
          type="number"
          min={0}
          step="any"
          value={retentionDays}
          onChange={(e) => setRetentionDays(e.target.value)}
        />
      </label>
      <label className="inline">
        <input type="checkbox" checked={compacted} onChange={(e) => setCompacted(e.target.checked)} />
        Compacted (keep the latest record per key)
      </label>
      {create.error && <ErrorBox error={create.error} />}
    </Dialog>
  );
}

function DeleteTopicDialog(props: {
  name: string;
  onClose: () => void;
  onConfirm: () => void;
  action: { isPending: boolean; error: unknown };
}) {
  const { name } = props;
  const [typed, setTyped] = useState("");
  return (
    <ConfirmDialog
      title={`Delete topic ${name}?`}
      onClose={props.onClose}
      onConfirm={props.onConfirm}
      confirmLabel="Delete topic"
      action={props.action}
      canConfirm={typed === name}
    >
      <p>Its records are lost for good. Apps reading or writing it will fail.</p>
      <label>
        Type <code>{name}</code> to confirm
        <input name="confirm" autoFocus value={typed} onChange={(e) => setTyped(e.target.value)} />
      </label>
    </ConfirmDialog>
  );
}
