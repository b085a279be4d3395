/** The history of main: commits, each one's diff (Monaco), and roll back to an older commit. */
import { Suspense, useState } from "react";

import type { Commit, FileDiff } from "../api";
import { useCan } from "../auth/session";
import { Dialog } from "../components/Dialog";
import { Empty, ErrorBox, Loading, QueryView } from "../components/States";
import { isDark } from "../app/theme";
import { CodeDiff } from "../editor";
import { formatAgo, shortId } from "../shaping/format";
import { useCommits, useDiff, useFile, useRollback } from "../api/queries";

export function HistoryPanel({ project }: { project: string }) {
  const commits = useCommits(project);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  return (
    <QueryView query={commits} what="history">
      {(list) => {
        const selected = list.find((c) => c.id === selectedId) ?? list[0];
        return (
          <div className="history">
            <ol className="commit-list" aria-label="Commits">
              {list.map((c, index) => (
                <li key={c.id}>
                  <button
                    type="button"
                    className={c.id === selected?.id ? "commit selected" : "commit"}
                    aria-current={c.id === selected?.id}
                    onClick={() => setSelectedId(c.id)}
                  >
                    <span className="commit-message">{c.message.split("\n")[0]}</span>
                    <span className="muted">
                      <code>{shortId(c.id)}</code> {c.author}, {formatAgo(c.timestamp)}
                      {index === 0 && <span className="badge">HEAD</span>}
                    </span>
                  </button>
                </li>
              ))}
            </ol>
            {selected ? (
              <CommitView project={project} commit={selected} isHead={selected.id === list[0]?.id} />
            ) : (
              <Empty title="No commits yet" />
            )}
          </div>
        );
      }}
    </QueryView>
  );
}

function CommitView({ project, commit, isHead }: { project: string; commit: Commit; isHead: boolean }) {
  const parent = commit.parents[0];
  const canEdit = useCan("editor");
  const [confirming, setConfirming] = useState(false);
  const rollback = useRollback(project);
  const diff = useDiff(project, parent ?? "", commit.id, parent !== undefined);
  const [file, setFile] = useState<string | null>(null);
  return (
    <section className="commit-view" aria-label={`Commit ${shortId(commit.id)}`}>
      <header className="commit-header">
        <div>
          <h2>{commit.message.split("\n")[0]}</h2>
          <div className="muted">
            <code>{commit.id}</code> by {commit.author}, {new Date(commit.timestamp).toLocaleString()}
          </div>
        </div>
        {canEdit && !isHead && (
          <button type="button" onClick={() => setConfirming(true)}>
            Roll back to this commit
          </button>
        )}
      </header>
      {parent === undefined ? (
        <Empty title="The first commit">It created the project; there is no earlier state to compare.</Empty>
      ) : (
        <QueryView query={diff} what="diff">
          {(d) => {
            const current = d.files.find((f) => f.path === file) ?? d.files[0];
            return d.files.length === 0 ? (
              <Empty title="No file changes" />
            ) : (
              <>
                <div className="diff-files" role="tablist" aria-label="Changed files">
                  {d.files.map((f) => (
                    <button
                      key={f.path}
                      type="button"
                      role="tab"
                      aria-selected={f.path === current?.path}
                      onClick={() => setFile(f.path)}
                    >
                      <span className={`change change-${f.status}`}>{f.status[0]?.toUpperCase()}</span>{" "}
                      {f.path}
                    </button>
                  ))}
                </div>
                {current && <FileDiffView project={project} base={d.base} target={d.target} file={current} />}
              </>
            );
          }}
        </QueryView>
      )}
      <Dialog
        title={`Roll back to ${shortId(commit.id)}?`}
        open={confirming}
        onClose={() => setConfirming(false)}
        onSubmit={() => rollback.mutate(commit.id, { onSuccess: () => setConfirming(false) })}
        submitLabel="Roll back"
        submitting={rollback.isPending}
      >
        <p>
          A new commit on main restores the files of “{commit.message.split("\n")[0]}”. The history is
          kept, so you can roll forward again.
        </p>
        {rollback.error && <ErrorBox error={rollback.error} />}
      </Dialog>
    </section>
  );
}

function FileDiffView({
  project,
  base,
  target,
  file,
}: {
  project: string;
  base: string;
  target: string;
  file: FileDiff;
}) {
  const original = useFile(project, file.status === "added" ? undefined : file.path, base);
  const modified = useFile(project, file.status === "deleted" ? undefined : file.path, target);
  const pending =
    (file.status !== "added" && original.isPending) || (file.status !== "deleted" && modified.isPending);
  if (pending) return <Loading what="file versions" />;
  const error = original.error ?? modified.error;
  if (error) return <ErrorBox error={error} />;
  return (
    <div className="diff-editor" data-testid="diff-editor">
      <Suspense fallback={<Loading what="diff" />}>
        <CodeDiff
          path={file.path}
          base={base}
          target={target}
          original={original.data?.content ?? ""}
          modified={modified.data?.content ?? ""}
          dark={isDark()}
        />
      </Suspense>
    </div>
  );
}
