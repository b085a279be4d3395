/** The "Edit" menu on a node of the canvas: every edit of a step, by button (drag works too). */
import { useEffect, useRef, useState } from "react";

import type { GraphNode } from "../api/types";
import { isEditable, topicOfNode, topicsOf, useCanvas } from "./canvasContext";

interface Item {
  label: string;
  run: () => void;
  danger?: boolean;
}

export function NodeEditMenu({ node }: { node: GraphNode }) {
  const canvas = useCanvas();
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent) => {
      if (!ref.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);
  if (!canvas) return null;
  const items = menuItems(canvas, node);
  if (items.length === 0) return null;
  const title = node.app ?? node.label;
  return (
    <div className="canvas-menu nodrag nopan" ref={ref}>
      <button
        type="button"
        className="canvas-menu-button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={`Edit ${title}`}
        onClick={(event) => {
          event.stopPropagation(); // the node's own click opens its panel
          setOpen(!open);
        }}
      >
        ✎
      </button>
      {open && (
        <div className="canvas-menu-items" role="menu" aria-label={`Edit ${title}`}>
          {items.map((item) => (
            <button
              key={item.label}
              type="button"
              role="menuitem"
              className={item.danger ? "danger-text" : undefined}
              onClick={(event) => {
                event.stopPropagation();
                setOpen(false);
                item.run();
              }}
            >
              {item.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

function menuItems(canvas: NonNullable<ReturnType<typeof useCanvas>>, node: GraphNode): Item[] {
  const topic = topicOfNode(node);
  if (topic !== null) return [{ label: `Add step reading ${topic}`, run: () => canvas.open({ kind: "add-step", inputs: [topic] }) }];
  if (!isEditable(canvas, node) || node.app === null) return [];
  const app = node.app;
  const outputs = topicsOf(canvas.graph, node.id, "outputs");
  const items: Item[] = [];
  if (outputs.length > 0)
    items.push({ label: "Add step after", run: () => canvas.open({ kind: "add-step", inputs: outputs.slice(0, 1) }) });
  items.push(
    { label: "Connect output…", run: () => canvas.open({ kind: "connect", app, direction: "outputs" }) },
    { label: "Add input…", run: () => canvas.open({ kind: "connect", app, direction: "inputs" }) },
    { label: "Resources and environment…", run: () => canvas.open({ kind: "settings", app }) },
  );
  const deployment = node.deployment;
  if (deployment === null) items.push({ label: "Deploy", run: () => canvas.run(node, "deploy") });
  else {
    items.push(
      node.status === "stopped"
        ? { label: "Start", run: () => canvas.run(node, "start") }
        : { label: "Stop", run: () => canvas.run(node, "stop") },
      { label: "Redeploy at a commit…", run: () => canvas.open({ kind: "redeploy", deployment, app }) },
    );
  }
  items.push({ label: "Remove step…", danger: true, run: () => canvas.open({ kind: "remove", app }) });
  return items;
}
