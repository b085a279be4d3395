/** The pipeline page's canvas controls: which project to edit, and "Add step" while editing. */
import { useCanvas } from "./canvasContext";

export function CanvasToolbar(props: { projects: string[]; editing: string | null; onEditing: (name: string | null) => void }) {
  const canvas = useCanvas();
  return (
    <span className="canvas-toolbar">
      <label className="inline">
        Edit project
        <select value={props.editing ?? ""} onChange={(e) => props.onEditing(e.target.value || null)}>
          <option value="">none (view only)</option>
          {props.projects.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      {canvas && (
        <button type="button" onClick={() => canvas.open({ kind: "add-step", inputs: [] })}>
          Add step
        </button>
      )}
    </span>
  );
}
