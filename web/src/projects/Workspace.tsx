/** One project: files and editor, or its history; editors save, commit and roll back. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type Dispatch, type ReactNode, type SetStateAction, Suspense, useMemo, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";

import { api, type FileContent, type PreviewError, type PreviewResult } from "../api";
import { useCan } from "../auth/session";
import { Empty, ErrorBox, Loading, QueryView } from "../components/States";
import { isDark } from "../app/theme";
import { CodeEditor } from "../editor";
import { defaultFile } from "../shaping/fileTree";
import { formatBytes, shortId } from "../shaping/format";
import { errorLine } from "../shaping/metrics";
import { CommitDialog } from "./CommitDialog";
import { DeployDialog } from "./DeployDialog";
import { FileTree } from "./FileTree";
import { HistoryPanel } from "./HistoryPanel";
import { ModelsPanel } from "./ModelsPanel";
import { PreviewPanel } from "./PreviewPanel";
import { queryKeys, useChanges, useFile, useFiles, useProject } from "../api/queries";

export function Workspace() {
  const name = useParams().name ?? "";
  // Another project starts afresh: no drafts or preview carried over.
  return <ProjectWorkspace key={name} name={name} />;
}

function ProjectWorkspace({ name }: { name: string }) {
  const [search, setSearch] = useSearchParams();
  const chosenTab = search.get("tab");
  const tab = chosenTab === "history" || chosenTab === "models" ? chosenTab : "code";
  const project = useProject(name);
  const canEdit = useCan("editor");
  const [previewing, setPreviewing] = useState(false);
  const [preview, setPreview] = useState<PreviewResult | null>(null);
  const [deploying, setDeploying] = useState(false);
  // The editor's unsaved contents, path -> text: kept here so a preview runs them too.
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const setTab = (next: "code" | "history" | "models") => {
    const params = new URLSearchParams(search);
    if (next === "code") params.delete("tab");
    else params.set("tab", next);
    setSearch(params);
  };
  return (
    <div className="page workspace">
      <header className="page-header">
        <div>
          <div className="crumbs">
            <Link to="/projects">Projects</Link> /
          </div>
          <h1>{name}</h1>
        </div>
        {project.data && (
          <span className="muted clone-hint" data-testid="clone-hint">
            main at <code>{shortId(project.data.head)}</code> · clone:{" "}
            <code>git clone {window.location.origin + project.data.git_path}</code> — log in with your user name
            and an API token as the password (<Link to="/settings/tokens">make a token</Link>)
          </span>
        )}
        {canEdit && (
          <div className="toolbar-actions">
            <button
              type="button"
              aria-pressed={previewing}
              onClick={() => {
                setPreviewing(!previewing);
                setTab("code");
              }}
            >
              Preview
            </button>
            <button type="button" className="primary" onClick={() => setDeploying(true)}>
              Deploy
            </button>
          </div>
        )}
      </header>
      {canEdit && <DeployDialog project={name} open={deploying} onClose={() => setDeploying(false)} />}
      {project.error ? (
        <ErrorBox error={project.error} retry={() => void project.refetch()} />
      ) : (
        <>
          <div className="tabs" role="tablist">
            <button type="button" role="tab" aria-selected={tab === "code"} onClick={() => setTab("code")}>
              Code
            </button>
            <button
              type="button"
              role="tab"
              aria-selected={tab === "history"}
              onClick={() => setTab("history")}
            >
              History
            </button>
            <button type="button" role="tab" aria-selected={tab === "models"} onClick={() => setTab("models")}>
              Models
            </button>
          </div>
          {tab === "code" ? (
            <>
              <CodeTab project={name} previewError={preview?.error ?? null} drafts={drafts} setDrafts={setDrafts} />
              {previewing && (
                <PreviewPanel
                  project={name}
                  unsaved={drafts}
                  result={preview}
                  onResult={setPreview}
                  onOpenFile={(path) => {
                    const params = new URLSearchParams(search);
                    params.set("file", path);
                    setSearch(params);
                  }}
                  onClose={() => {
                    setPreviewing(false);
                    setPreview(null);
                  }}
                />
              )}
            </>
          ) : tab === "history" ? (
            <HistoryPanel project={name} />
          ) : (
            <ModelsPanel project={name} />
          )}
        </>
      )}
    </div>
  );
}

function CodeTab(props: {
  project: string;
  previewError: PreviewError | null;
  drafts: Record<string, string>;
  setDrafts: Dispatch<SetStateAction<Record<string, string>>>;
}) {
  const { project, previewError, drafts, setDrafts } = props;
  const files = useFiles(project);
  const changes = useChanges(project);
  const [search, setSearch] = useSearchParams();
  const [committing, setCommitting] = useState(false);
  const canEdit = useCan("editor");
  const paths = useMemo(() => files.data?.files.map((f) => f.path) ?? [], [files.data]);
  const chosen = search.get("file") ?? undefined;
  const selected = chosen && paths.includes(chosen) ? chosen : defaultFile(paths);
  const select = (path: string | undefined) => {
    const params = new URLSearchParams(search);
    if (path) params.set("file", path);
    else params.delete("file");
    setSearch(params);
  };
  const changed = useMemo(
    () => new Map((changes.data ?? []).map((c) => [c.path, c.status] as const)),
    [changes.data],
  );
  const changeCount = new Set([...changed.keys(), ...Object.keys(drafts)]).size;
  return (
    <QueryView query={files} what="files">
      {() => (
        <div className="code-layout">
          <FileTree
            project={project}
            paths={paths}
            selected={selected}
            changed={changed}
            unsaved={new Set(Object.keys(drafts))}
            onSelect={select}
          />
          <section className="editor-pane" aria-label="Editor">
            {selected === undefined ? (
              <Empty title="No files">Create a file with “New file”.</Empty>
            ) : (
              <FileEditor
                key={selected}
                project={project}
                path={selected}
                draft={drafts[selected]}
                canEdit={canEdit}
                errorLine={errorLine(previewError, selected)}
                previewError={previewError}
                onDraft={(text) => setDrafts((d) => ({ ...d, [selected]: text }))}
                onSaved={(content) =>
                  setDrafts((d) => {
                    // Typed on since the save was sent: that is still unsaved.
                    if (d[selected] !== undefined && d[selected] !== content) return d;
                    const { [selected]: _saved, ...rest } = d;
                    return rest;
                  })
                }
                toolbarEnd={
                  canEdit && (
                    <button type="button" className="primary" onClick={() => setCommitting(true)}>
                      Commit{changeCount > 0 ? ` (${changeCount})` : ""}
                    </button>
                  )
                }
              />
            )}
          </section>
          {canEdit && (
            <CommitDialog
              project={project}
              changes={changes.data ?? []}
              unsaved={drafts}
              open={committing}
              onClose={(committed) => {
                setCommitting(false);
                if (committed) setDrafts({});
              }}
            />
          )}
        </div>
      )}
    </QueryView>
  );
}

function FileEditor(props: {
  project: string;
  path: string;
  draft: string | undefined;
  canEdit: boolean;
  errorLine: { line: number } | undefined;
  previewError: PreviewError | null;
  onDraft: (text: string) => void;
  onSaved: (content: string) => void;
  toolbarEnd: ReactNode;
}) {
  const { project, path, draft } = props;
  const file = useFile(project, path);
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (content: string) => api.projects.writeFile(project, path, content),
    onSuccess: (_, content) => {
      queryClient.setQueryData<FileContent>(queryKeys.file(project, path), (old) =>
        old ? { ...old, content, size: content.length } : old,
      );
      void queryClient.invalidateQueries({ queryKey: queryKeys.changes(project) });
      props.onSaved(content);
    },
  });
  const dirty = draft !== undefined && draft !== file.data?.content;
  const doSave = (text: string | undefined = draft) => {
    if (text !== undefined && text !== file.data?.content && props.canEdit) save.mutate(text);
  };
  if (file.isPending) return <Loading what={path} />;
  if (file.error) return <ErrorBox error={file.error} retry={() => void file.refetch()} />;
  return (
    <>
      <div className="toolbar">
        <span className="file-path">
          {path}
          {dirty && <span className="muted"> · unsaved</span>}
          {!props.canEdit && <span className="badge">read only</span>}
        </span>
        <span className="toolbar-actions">
          {props.canEdit && (
            <button type="button" onClick={() => doSave()} disabled={!dirty || save.isPending} title="Ctrl+S">
              {save.isPending ? "Saving…" : "Save"}
            </button>
          )}
          {props.toolbarEnd}
        </span>
      </div>
      {save.error && <ErrorBox error={save.error} />}
      {file.data.encoding === "base64" ? (
        <Empty title="Binary file">{formatBytes(file.data.size)}; it cannot be edited here.</Empty>
      ) : (
        <div className="editor-host" data-testid="code-editor">
          <Suspense fallback={<Loading what="editor" />}>
            <CodeEditor
              path={path}
              value={file.data.content}
              draft={draft}
              readOnly={!props.canEdit}
              dark={isDark()}
              onChange={(text) => props.onDraft(text)}
              onSave={doSave}
              errorLine={
                props.errorLine && props.previewError
                  ? {
                      line: props.errorLine.line,
                      message: `${props.previewError.type}: ${props.previewError.message}`,
                    }
                  : undefined
              }
            />
          </Suspense>
        </div>
      )}
    </>
  );
}
