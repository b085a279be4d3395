/** The confirm step of every canvas edit: the diff it commits, then the commit of exactly that. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api } from "../api";
import type { CanvasCommit, CanvasEditIn, CanvasPreview } from "../api/types";
import { Dialog } from "../components/Dialog";
import { ErrorBox, Loading } from "../components/States";

const EFFECT_TEXT: Record<string, string> = {
  redeploy: "redeployed at the new commit",
  delete: "stopped and deleted",
};

export function EditPreviewDialog(props: {
  project: string;
  title: string;
  body: CanvasEditIn;
  danger?: boolean;
  onClose: () => void;
  onCommitted: (commit: CanvasCommit) => void;
}) {
  const { project, body } = props;
  const queryClient = useQueryClient();
  const preview = useQuery({
    queryKey: ["canvas-preview", project, JSON.stringify(body)],
    queryFn: () => api.canvas.preview(project, body),
    retry: false,
    gcTime: 0,
  });
  const [message, setMessage] = useState<string | null>(null);
  const commit = useMutation({
    mutationFn: (shown: CanvasPreview) =>
      api.canvas.commit(project, { ...body, base: shown.base, message: message?.trim() || shown.message }),
    onSuccess: async (made) => {
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: ["graph"] }),
        queryClient.invalidateQueries({ queryKey: ["project", project] }),
        queryClient.invalidateQueries({ queryKey: ["deployments"] }),
        queryClient.invalidateQueries({ queryKey: ["topics"] }),
      ]);
      props.onCommitted(made);
    },
  });
  const shown = preview.data;
  return (
    <Dialog
      title={props.title}
      open
      wide
      danger={props.danger}
      onClose={props.onClose}
      onSubmit={() => shown && commit.mutate(shown)}
      submitLabel="Commit"
      submitting={commit.isPending}
      canSubmit={!!shown}
    >
      {preview.isPending ? (
        <Loading what="the change" />
      ) : preview.error ? (
        <ErrorBox error={preview.error} />
      ) : shown ? (
        <div className="canvas-preview" data-testid="canvas-diff" data-base={shown.base}>
          <label>
            Commit message
            <input value={message ?? shown.message} onChange={(e) => setMessage(e.target.value)} />
          </label>
          <p className="muted">
            A commit on main after {shown.base.slice(0, 12)}
            {shown.new_topics.length > 0 && <>; creates the topics {shown.new_topics.join(", ")}</>}
            {shown.deployments.map((d) => (
              <span key={d.deployment}>
                ; deployment {d.deployment} on {d.cluster}: {EFFECT_TEXT[d.action] ?? d.action}
              </span>
            ))}
            .
          </p>
          {shown.files.map((file) => (
            <section key={file.path} className="canvas-file" data-path={file.path}>
              <h3>
                <span className={`change change-${file.status}`}>{file.status}</span> {file.path}
              </h3>
              <pre className="canvas-patch">
                {file.patch.split("\n").map((line, i) => (
                  <span key={i} className={lineClass(line)}>
                    {line}
                    {"\n"}
                  </span>
                ))}
              </pre>
            </section>
          ))}
        </div>
      ) : null}
      {commit.error ? (
        <ErrorBox
          error={commit.error}
          retry={() => {
            commit.reset();
            void preview.refetch();
          }}
        />
      ) : null}
    </Dialog>
  );
}

function lineClass(line: string): string | undefined {
  if (line.startsWith("+++") || line.startsWith("---")) return "patch-file";
  if (line.startsWith("+")) return "patch-added";
  if (line.startsWith("-")) return "patch-removed";
  if (line.startsWith("@@")) return "patch-hunk";
  return undefined;
}
