/** The code editor and the diff view (Monaco); loaded lazily, it is the largest part of the app. */
import { DiffEditor, Editor, type OnMount } from "@monaco-editor/react";
import { useEffect, useRef, useState } from "react";

import { languageFor } from "../shaping/fileTree";
import "./monaco";

export interface CodeEditorProps {
  path: string;
  /** The file as the server has it; a change (after a roll back, say) replaces the text. */
  value: string;
  /** What to show on mount when it differs from the server's: the unsaved draft. */
  draft?: string | undefined;
  onChange?: (value: string) => void;
  /** Ctrl/Cmd+S, with the editor's current text. */
  onSave?: (text: string) => void;
  readOnly?: boolean;
  dark: boolean;
  /** A line to mark as failing (1-based), e.g. where a preview run raised, with the error. */
  errorLine?: { line: number; message: string } | undefined;
}

type MountedEditor = Parameters<OnMount>[0];

/** Marks `mark`'s line in the editor (whole line, glyph margin, overview ruler) and shows it. */
function useErrorDecoration(editor: MountedEditor | null, mark: CodeEditorProps["errorLine"]) {
  const line = mark?.line;
  const message = mark?.message;
  useEffect(() => {
    if (!editor || line === undefined) return;
    const decorations = editor.createDecorationsCollection([
      {
        range: { startLineNumber: line, startColumn: 1, endLineNumber: line, endColumn: 1 },
        options: {
          isWholeLine: true,
          className: "error-line",
          linesDecorationsClassName: "error-line-margin",
          hoverMessage: { value: message ?? "" },
          overviewRuler: { color: "#d13b3b", position: 4 },
        },
      },
    ]);
    editor.revealLineInCenterIfOutsideViewport(line);
    return () => decorations.clear();
  }, [editor, line, message]);
}

export default function CodeEditor(props: CodeEditorProps) {
  const { path, value, draft, onChange, onSave, readOnly, dark } = props;
  // The save command is bound once at mount; the ref lets it call the latest callback.
  const saveRef = useRef(onSave);
  saveRef.current = onSave;
  const [editor, setEditor] = useState<MountedEditor | null>(null);
  useErrorDecoration(editor, props.errorLine);
  return (
    <Editor
      path={path}
      value={value}
      language={languageFor(path)}
      theme={dark ? "vs-dark" : "vs"}
      loading={<div className="state">Loading editor…</div>}
      onChange={(text) => onChange?.(text ?? "")}
      // `value` is deliberately not the draft: feeding each keystroke back in as a prop races
      // with typing. Models live per path, so a remount finds the text where it was left.
      onMount={(editor, monaco) => {
        const wanted = draft ?? value;
        if (editor.getValue() !== wanted) editor.setValue(wanted);
        // Ctrl/Cmd+S saves the file instead of the browser's "save page".
        // It saves the editor's text as it is now: the draft in React state can lag a paste.
        editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => saveRef.current?.(editor.getValue()));
        setEditor(editor);
      }}
      options={{
        readOnly: readOnly ?? false,
        minimap: { enabled: false },
        fontSize: 13,
        scrollBeyondLastLine: false,
        automaticLayout: true,
        tabSize: 4,
      }}
    />
  );
}

export function CodeDiff(props: {
  path: string;
  /** The commits compared; they name the models, whose text never changes for a commit. */
  base: string;
  target: string;
  original: string;
  modified: string;
  dark: boolean;
}) {
  return (
    <DiffEditor
      original={props.original}
      modified={props.modified}
      originalModelPath={`diff:///${props.base}/${props.path}`}
      modifiedModelPath={`diff:///${props.target}/${props.path}`}
      // Disposing the models on unmount races the widget's own reset and throws.
      keepCurrentOriginalModel
      keepCurrentModifiedModel
      language={languageFor(props.path)}
      theme={props.dark ? "vs-dark" : "vs"}
      loading={<div className="state">Loading diff…</div>}
      options={{
        readOnly: true,
        renderSideBySide: true,
        minimap: { enabled: false },
        automaticLayout: true,
        scrollBeyondLastLine: false,
      }}
    />
  );
}
