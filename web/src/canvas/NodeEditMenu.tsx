/** The "Edit" menu on a node of the canvas: every edit of a step, by button (drag works too). */
import { useEffect, useRef, useState } from "react";
import { createPortal } from "react-dom";

import type { GraphNode } from "../api/types";
import { isEditable, topicOfNode, topicsOf, useCanvas } from "./canvasContext";

const MENU_WIDTH = 200;

interface Item {
  label: string;
  run: () => void;
  danger?: boolean;
}

export function NodeEditMenu({ node }: { node: GraphNode }) {
  const canvas = useCanvas();
  // Where the open menu shows: on the page, over every node (a node's own layer would put the
  // menu under the nodes drawn after it).
  const [open, setOpen] = useState<{ top: number; left: number } | null>(null);
  const ref = useRef<HTMLDivElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent) => {
      const target = event.target as Node;
      if (!ref.current?.contains(target) && !menu.current?.contains(target)) setOpen(null);
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
        aria-expanded={open !== null}
        aria-label={`Edit ${title}`}
        onClick={(event) => {
          event.stopPropagation(); // the node's own click opens its panel
          const at = event.currentTarget.getBoundingClientRect();
          setOpen(open ? null : { top: at.bottom + 2, left: Math.max(4, at.right - MENU_WIDTH) });
        }}
      >
        ✎
      </button>
      {open &&
        createPortal(
          <div
            ref={menu}
            className="canvas-menu-items"
            role="menu"
            aria-label={`Edit ${title}`}
            style={{ top: open.top, left: open.left, width: MENU_WIDTH }}
          >
            {items.map((item) => (
              <button
                key={item.label}
                type="button"
                role="menuitem"
                className={item.danger ? "danger-text" : undefined}
                onClick={(event) => {
                  event.stopPropagation();
                  setOpen(null);
                  item.run();
                }}
              >
                {item.label}
              </button>
            ))}
          </div>,
          document.body,
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
