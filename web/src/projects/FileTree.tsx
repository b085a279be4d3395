/** The project's files as a tree, with new / rename / delete for editors. */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { api, type ChangeStatus } from "../api";
import { useCan } from "../auth/session";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { ErrorBox } from "../components/States";
import { buildFileTree, pathProblem, type TreeNode } from "../shaping/fileTree";
import { useInvalidateProject } from "../api/queries";

interface FileTreeProps {
  project: string;
  paths: string[];
  selected: string | undefined;
  changed: Map<string, ChangeStatus>;
  unsaved: Set<string>;
  onSelect: (path: string | undefined) => void;
}

type Action = { kind: "new" } | { kind: "rename"; path: string } | { kind: "delete"; path: string };

export function FileTree(props: FileTreeProps) {
  const canEdit = useCan("editor");
  const [action, setAction] = useState<Action | null>(null);
  return (
    <aside className="file-tree" aria-label="Files">
      <div className="panel-title">
        <span>Files</span>
        {canEdit && (
          <button type="button" className="small" onClick={() => setAction({ kind: "new" })}>
            New file
          </button>
        )}
      </div>
      <ul role="tree">
        {buildFileTree(props.paths).map((node) => (
          <Node key={node.path} node={node} depth={0} {...props} onAction={setAction} canEdit={canEdit} />
        ))}
      </ul>
      {action && (
        <FileActionDialog
          action={action}
          project={props.project}
          paths={props.paths}
          onClose={() => setAction(null)}
          onDone={(path) => {
            setAction(null);
            props.onSelect(path);
          }}
        />
      )}
    </aside>
  );
}

function Node({
  node,
  depth,
  onAction,
  canEdit,
  ...props
}: FileTreeProps & { node: TreeNode; depth: number; onAction: (a: Action) => void; canEdit: boolean }) {
  if (node.kind === "folder") {
    return (
      <li role="treeitem" aria-expanded="true">
        <div className="tree-folder" style={{ paddingLeft: `${depth * 12 + 8}px` }}>
          {node.name}/
        </div>
        <ul role="group">
          {node.children.map((child) => (
            <Node key={child.path} node={child} depth={depth + 1} onAction={onAction} canEdit={canEdit} {...props} />
          ))}
        </ul>
      </li>
    );
  }
  const status = props.changed.get(node.path);
  const unsaved = props.unsaved.has(node.path);
  return (
    <li role="treeitem" aria-selected={props.selected === node.path}>
      <div className={props.selected === node.path ? "tree-file selected" : "tree-file"}>
        <button
          type="button"
          className="tree-name"
          style={{ paddingLeft: `${depth * 12 + 8}px` }}
          onClick={() => props.onSelect(node.path)}
        >
          {node.name}
          {unsaved && <span className="dot" title="unsaved changes" aria-label="unsaved" />}
          {status && <span className={`change change-${status}`}>{status[0]?.toUpperCase()}</span>}
        </button>
        {canEdit && (
          <span className="tree-actions">
            <button
              type="button"
              className="icon"
              aria-label={`Rename ${node.path}`}
              title="Rename"
              onClick={() => onAction({ kind: "rename", path: node.path })}
            >
              ✎
            </button>
            <button
              type="button"
              className="icon"
              aria-label={`Delete ${node.path}`}
              title="Delete"
              onClick={() => onAction({ kind: "delete", path: node.path })}
            >
              ✕
            </button>
          </span>
        )}
      </div>
    </li>
  );
}

function FileActionDialog({
  action,
  project,
  paths,
  onClose,
  onDone,
}: {
  action: Action;
  project: string;
  paths: string[];
  onClose: () => void;
  onDone: (selected: string | undefined) => void;
}) {
  const [target, setTarget] = useState(action.kind === "rename" ? action.path : "");
  const invalidate = useInvalidateProject(project);
  const run = useMutation({
    mutationFn: async (): Promise<string | undefined> => {
      if (action.kind === "new") {
        await api.projects.writeFile(project, target.trim(), "");
        return target.trim();
      }
      if (action.kind === "rename") {
        return (await api.projects.renameFile(project, action.path, target.trim())).path;
      }
      await api.projects.deleteFile(project, action.path);
      return undefined;
    },
    onSuccess: async (path) => {
      await invalidate();
      onDone(path);
    },
  });
  if (action.kind === "delete") {
    return (
      <ConfirmDialog
        title={`Delete ${action.path}?`}
        onClose={onClose}
        onConfirm={() => run.mutate()}
        confirmLabel="Delete file"
        action={run}
      >
        <p>The file leaves the working tree; it stays in earlier commits.</p>
      </ConfirmDialog>
    );
  }
  const others = paths.filter((p) => action.kind === "new" || p !== action.path);
  const problem = target ? pathProblem(target, others) : null;
  return (
    <Dialog
      title={action.kind === "new" ? "New file" : `Rename ${action.path}`}
      open
      onClose={onClose}
      onSubmit={() => run.mutate()}
      submitLabel={action.kind === "new" ? "Create file" : "Rename"}
      submitting={run.isPending}
      canSubmit={!!target && !problem}
    >
      <Field label="Path" problem={problem}>
        <input
          name="file-path"
          autoFocus
          value={target}
          placeholder="e.g. features.py or lib/util.py"
          onChange={(e) => setTarget(e.target.value)}
        />
      </Field>
      {run.error && <ErrorBox error={run.error} />}
    </Dialog>
  );
}
