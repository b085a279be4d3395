import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { api, type Change } from "../api";
import { Dialog } from "../components/Dialog";
import { Empty, ErrorBox } from "../components/States";
import { useInvalidateProject } from "../api/queries";

/** Saves unsaved editor buffers, then commits the working tree with a message. */
export function CommitDialog({
  project,
  changes,
  unsaved,
  open,
  onClose,
}: {
  project: string;
  changes: Change[];
  unsaved: Record<string, string>;
  open: boolean;
  onClose: (committed: boolean) => void;
}) {
  const [message, setMessage] = useState("");
  const invalidate = useInvalidateProject(project);
  const commit = useMutation({
    mutationFn: async () => {
      for (const [path, content] of Object.entries(unsaved)) {
        await api.projects.writeFile(project, path, content);
      }
      return api.projects.commit(project, message.trim());
    },
    onSuccess: async () => {
      setMessage("");
      await invalidate();
      onClose(true);
    },
  });
  const paths = new Set([...changes.map((c) => c.path), ...Object.keys(unsaved)]);
  return (
    <Dialog
      title="Commit changes"
      open={open}
      onClose={() => onClose(false)}
      onSubmit={() => commit.mutate()}
      submitLabel="Commit"
      submitting={commit.isPending}
      canSubmit={paths.size > 0 && !!message.trim()}
    >
      {paths.size === 0 ? (
        <Empty title="Nothing to commit">The working tree matches the last commit.</Empty>
      ) : (
        <ul className="change-list">
          {[...paths].sort().map((path) => {
            const status = changes.find((c) => c.path === path)?.status ?? "modified";
            return (
              <li key={path}>
                <span className={`change change-${status}`}>{status}</span> {path}
                {path in unsaved && <span className="muted"> (unsaved: saved now)</span>}
              </li>
            );
          })}
        </ul>
      )}
      <label>
        Message
        <textarea
          name="commit-message"
          autoFocus
          rows={3}
          value={message}
          placeholder="What changed and why"
          onChange={(e) => setMessage(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) e.currentTarget.form?.requestSubmit();
          }}
        />
      </label>
      {commit.error && <ErrorBox error={commit.error} />}
    </Dialog>
  );
}
