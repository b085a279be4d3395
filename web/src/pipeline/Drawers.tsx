/** The pipeline's right-side drawers: a topic's live records, a deployment's panel. */
import { type ReactNode, useEffect } from "react";
import { Link } from "react-router-dom";

import { QueryView } from "../components/States";
import { DeploymentView } from "../deployments/DeploymentDetail";
import { useDeployment, useTopic } from "../api/queries";
import { topicPath } from "../clusters/ClusterScope";
import { formatCount, formatRate } from "../shaping/format";
import { TopicTail } from "../topics/TopicTail";

function Drawer({ label, title, onClose, children }: { label: string; title: ReactNode; onClose: () => void; children: ReactNode }) {
  useEffect(() => {
    const close = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !document.querySelector("dialog[open]")) onClose();
    };
    window.addEventListener("keydown", close);
    return () => window.removeEventListener("keydown", close);
  }, [onClose]);
  return (
    <aside className="drawer" aria-label={label}>
      <header className="drawer-header">
        <div className="drawer-title">{title}</div>
        <button type="button" className="icon" aria-label="Close panel" onClick={onClose}>
          ✕
        </button>
      </header>
      <div className="drawer-body">{children}</div>
    </aside>
  );
}

export function TopicDrawer({ topic, cluster, onClose }: { topic: string; cluster: string; onClose: () => void }) {
  const detail = useTopic(cluster, topic);
  const to = topicPath(cluster, topic);
  return (
    <Drawer
      label={`Topic ${topic}`}
      onClose={onClose}
      title={
        <>
          <div className="crumbs">Topic</div>
          <h2>{topic}</h2>
          <span className="muted">
            {detail.data
              ? `${detail.data.partitions} partitions · ${formatCount(detail.data.messages)} records · ${formatRate(detail.data.rate, "msg")} · `
              : ""}
            <Link to={to}>Open topic page</Link>
          </span>
        </>
      }
    >
      {/* A new topic starts a new tail with fresh choices. */}
      <TopicTail key={topic} name={topic} cluster={cluster} partitions={detail.data?.partitions ?? 0} tableHeight={300} />
    </Drawer>
  );
}

export function DeploymentDrawer({ id, onClose }: { id: number; onClose: () => void }) {
  const deployment = useDeployment(id);
  return (
    <Drawer
      label="Deployment"
      onClose={onClose}
      title={
        <>
          <div className="crumbs">Deployment</div>
          <Link to={`/deployments/${id}`}>Open full page</Link>
        </>
      }
    >
      <QueryView query={deployment} what="deployment">
        {(d) => <DeploymentView key={d.id} deployment={d} />}
      </QueryView>
    </Drawer>
  );
}
