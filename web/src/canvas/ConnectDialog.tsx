/** Connect an app to a topic: another output it writes, or another input it reads. */
import { useState } from "react";

import type { CanvasEditIn } from "../api/types";
import { useTopics } from "../api/queries";
import { Dialog } from "../components/Dialog";
import type { Direction } from "./canvasContext";
import { missingTopics } from "./topicList";

export function ConnectDialog(props: {
  cluster: string;
  app: string;
  direction: Direction;
  topic?: string;
  onClose: () => void;
  onPreview: (body: CanvasEditIn) => void;
}) {
  const [topic, setTopic] = useState(props.topic ?? "");
  const topics = useTopics(props.cluster);
  const names = topics.data?.map((t) => t.name) ?? [];
  const writes = props.direction === "outputs";
  const submit = () =>
    props.onPreview({
      edit: { kind: "connect", app: props.app, direction: props.direction, topic: topic.trim() },
      new_topics: missingTopics([topic.trim()], topics.data?.map((t) => t.name)),
      cluster: props.cluster,
    });
  return (
    <Dialog
      title={writes ? `${props.app} writes another topic` : `${props.app} reads another topic`}
      open
      onClose={props.onClose}
      onSubmit={submit}
      submitLabel="Show the change"
      canSubmit={!!topic.trim() && !!topics.data}
    >
      <label>
        Topic
        <input autoFocus list="canvas-topics" value={topic} onChange={(e) => setTopic(e.target.value)} />
        <datalist id="canvas-topics">
          {names.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
      </label>
      <p className="muted">
        An existing topic, or a new name: the topic is created with the commit. Code made on the canvas follows
        headwater.yaml; code that names its topics itself must write or read this one too.
      </p>
    </Dialog>
  );
}
