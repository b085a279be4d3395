/** What a drag between two nodes, or from a node onto the empty pane, asks the canvas for. */
import type { GraphNode } from "../api/types";
import { type Canvas, isEditable, topicOfNode, topicsOf } from "./canvasContext";

function byId(canvas: Canvas, id: string | null | undefined): GraphNode | undefined {
  return canvas.graph.nodes.find((n) => n.id === id);
}

/** A handle dragged onto another node's: the app there reads or writes a topic. */
export function connectNodes(canvas: Canvas, sourceId: string, targetId: string): void {
  const source = byId(canvas, sourceId);
  const target = byId(canvas, targetId);
  if (!source || !target) return;
  const fromTopic = topicOfNode(source);
  const toTopic = topicOfNode(target);
  if (fromTopic !== null && isEditable(canvas, target) && target.app)
    canvas.open({ kind: "connect", app: target.app, direction: "inputs", topic: fromTopic });
  else if (toTopic !== null && isEditable(canvas, source) && source.app)
    canvas.open({ kind: "connect", app: source.app, direction: "outputs", topic: toTopic });
  else if (isEditable(canvas, target) && target.app) {
    // App to app: the second reads what the first writes (a topic to name if it writes none).
    const written = topicsOf(canvas.graph, source.id, "outputs");
    canvas.open({ kind: "connect", app: target.app, direction: "inputs", topic: written[0] });
  } else if (isEditable(canvas, source) && source.app)
    canvas.open({ kind: "connect", app: source.app, direction: "outputs" });
}

/** A handle dragged out onto the empty pane: a new step reading that topic (or that app's). */
export function dropOnPane(canvas: Canvas, fromId: string): void {
  const from = byId(canvas, fromId);
  if (!from) return;
  const topic = topicOfNode(from);
  if (topic !== null) {
    canvas.open({ kind: "add-step", inputs: [topic] });
    return;
  }
  if (!isEditable(canvas, from) || !from.app) return;
  const written = topicsOf(canvas.graph, from.id, "outputs");
  if (written.length > 0) canvas.open({ kind: "add-step", inputs: written.slice(0, 1) });
  else canvas.open({ kind: "connect", app: from.app, direction: "outputs" });
}
