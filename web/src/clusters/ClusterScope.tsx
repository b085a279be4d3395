/**
 * Pages about one Kafka cluster (Topics, Consumer groups, Pipeline) live under /clusters/:cluster/VIEW, so the
 * cluster is in the URL. A URL without one (/topics, /pipeline, the navigation's links, old
 * bookmarks with ?cluster=) goes to the same view of the server's default cluster: the one
 * GET /api/clusters marks `default`, by the server's own rule.
 */
import type { ReactNode } from "react";
import { Link, Navigate, useLocation, useNavigate, useParams } from "react-router-dom";

import type { Cluster } from "../api";
import { useClusters } from "../api/queries";
import { Empty, QueryView } from "../components/States";

export type ClusterView = "topics" | "pipeline" | "groups";

/** The URL of `view` of `cluster`; `rest` follows it (e.g. "/NAME" for a topic). */
export function clusterPath(cluster: string, view: ClusterView, rest = ""): string {
  return `/clusters/${encodeURIComponent(cluster)}/${view}${rest}`;
}

/** The URL of one topic's page. */
export function topicPath(cluster: string, topic: string): string {
  return clusterPath(cluster, "topics", `/${encodeURIComponent(topic)}`);
}

/** The URL of one consumer group's page. */
export function groupPath(cluster: string, group: string): string {
  return clusterPath(cluster, "groups", `/${encodeURIComponent(group)}`);
}

/** The cluster a request naming none uses, as the server says; undefined if none is. */
export function defaultCluster(clusters: Cluster[]): string | undefined {
  return clusters.find((c) => c.default)?.name;
}

/** A page of one cluster: renders `children` with the URL's cluster once it is known to exist. */
export function ClusterScopedPage(props: {
  title: string;
  view: ClusterView;
  className?: string;
  children: (cluster: string, clusters: string[]) => ReactNode;
}) {
  const cluster = useParams().cluster ?? "";
  const clusters = useClusters();
  return (
    <div className={props.className ? `page ${props.className}` : "page"}>
      <QueryView query={clusters} what="clusters">
        {(list) =>
          list.some((c) => c.name === cluster) ? (
            props.children(
              cluster,
              list.map((c) => c.name),
            )
          ) : (
            <ChooseCluster title={props.title} view={props.view} clusters={list} missing={cluster} />
          )
        }
      </QueryView>
    </div>
  );
}

/** Switches to the same view of another cluster; shown only when there is a choice. */
export function ClusterPicker(props: { cluster: string; clusters: string[]; view: ClusterView }) {
  const navigate = useNavigate();
  if (props.clusters.length < 2) return null;
  return (
    <label className="inline">
      Cluster
      <select
        name="cluster"
        value={props.cluster}
        onChange={(e) => navigate(clusterPath(e.target.value, props.view))}
      >
        {props.clusters.map((c) => (
          <option key={c}>{c}</option>
        ))}
      </select>
    </label>
  );
}

/** /VIEW/REST?cluster=NAME&...: to /clusters/NAME/VIEW/REST?..., NAME the default without one. */
export function ToClusterView(props: { title: string; view: ClusterView }) {
  const location = useLocation();
  const rest = useParams()["*"] ?? "";
  const clusters = useClusters();
  return (
    <div className="page">
      <QueryView query={clusters} what="clusters">
        {(list) => {
          const search = new URLSearchParams(location.search);
          const chosen = search.get("cluster") ?? defaultCluster(list);
          search.delete("cluster");
          if (chosen === undefined) {
            return <ChooseCluster title={props.title} view={props.view} clusters={list} />;
          }
          const tail = rest ? `/${rest.split("/").map(encodeURIComponent).join("/")}` : "";
          const query = search.toString();
          return <Navigate replace to={`${clusterPath(chosen, props.view, tail)}${query ? `?${query}` : ""}`} />;
        }}
      </QueryView>
    </div>
  );
}

function ChooseCluster(props: { title: string; view: ClusterView; clusters: Cluster[]; missing?: string }) {
  return (
    <>
      <header className="page-header">
        <h1>{props.title}</h1>
      </header>
      {props.clusters.length === 0 ? (
        <Empty title="No Kafka cluster configured">
          An admin adds the broker connection under <Link to="/settings/clusters">Settings → Clusters</Link>.
        </Empty>
      ) : (
        <Empty title={props.missing ? `No cluster ${props.missing}` : "Choose a cluster"}>
          {props.missing ? "Choose one of the clusters: " : "Several clusters are configured and none is named default: "}
          {props.clusters.map((c, index) => (
            <span key={c.name}>
              {index > 0 && ", "}
              <Link to={clusterPath(c.name, props.view)}>{c.name}</Link>
            </span>
          ))}
          .
        </Empty>
      )}
    </>
  );
}
