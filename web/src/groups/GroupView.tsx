/** One consumer group: its state, members with their partitions, and lag per partition now and
 * over the last hour. */
import { useMemo } from "react";
import { Link, useParams } from "react-router-dom";

import { useGroup, useGroupLag } from "../api/queries";
import type { GroupDetail } from "../api/types";
import { clusterPath, topicPath } from "../clusters/ClusterScope";
import { QueryView } from "../components/States";
import { TimeChart } from "../components/TimeChart";
import { formatCount } from "../shaping/format";
import { assignmentText, lagChart } from "../shaping/groups";

export function GroupView() {
  const group = useParams().group ?? "";
  const cluster = useParams().cluster ?? "";
  const detail = useGroup(cluster, group);
  const history = useGroupLag(cluster, group);
  const chart = useMemo(() => lagChart(history.data), [history.data]);
  return (
    <div className="page group-view">
      <header className="page-header">
        <div>
          <div className="crumbs">
            <Link to={clusterPath(cluster, "groups")}>Consumer groups</Link> /
          </div>
          <h1>{group}</h1>
        </div>
        {detail.data && (
          <span className="muted" data-testid="group-summary">
            {detail.data.state} · {detail.data.members.length} {detail.data.members.length === 1 ? "member" : "members"} · lag{" "}
            {formatCount(detail.data.lag)}
          </span>
        )}
      </header>
      <QueryView query={detail} what="the group">
        {(data) => (
          <>
            <Members data={data} />
            <Partitions data={data} cluster={cluster} />
          </>
        )}
      </QueryView>
      <section aria-label="Lag over time" className="charts" data-testid="lag-chart" data-points={chart.data[0].length}>
        {chart.data[0].length > 0 ? (
          <TimeChart title="Lag per partition" data={chart.data} labels={chart.labels} />
        ) : (
          <p className="muted">Lag is sampled every {history.data?.sample_seconds ?? 5} s; the chart fills in shortly.</p>
        )}
      </section>
    </div>
  );
}

function Members({ data }: { data: GroupDetail }) {
  return (
    <section aria-label="Members">
      <h2>Members</h2>
      {data.members.length === 0 ? (
        <p className="muted">No member is connected: the group's offsets stay until it comes back.</p>
      ) : (
        <table className="table compact" aria-label="Members">
          <thead>
            <tr>
              <th>Client id</th>
              <th>Host</th>
              <th>Assignment</th>
              <th>Member id</th>
            </tr>
          </thead>
          <tbody>
            {data.members.map((m) => (
              <tr key={m.member_id} data-member={m.client_id}>
                <td>{m.client_id}</td>
                <td>{m.host}</td>
                <td data-testid="assignment">{assignmentText(m)}</td>
                <td className="muted">{m.member_id}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Partitions({ data, cluster }: { data: GroupDetail; cluster: string }) {
  return (
    <section aria-label="Lag per partition">
      <h2>Lag per partition</h2>
      <table className="table compact" aria-label="Lag per partition">
        <thead>
          <tr>
            <th>Topic</th>
            <th>Partition</th>
            <th>Committed</th>
            <th>End</th>
            <th>Lag</th>
            <th>Member</th>
          </tr>
        </thead>
        <tbody>
          {data.partitions.map((p) => (
            <tr key={`${p.topic}/${p.partition}`} data-partition={`${p.topic}/${p.partition}`}>
              <td>
                <Link to={topicPath(cluster, p.topic)}>{p.topic}</Link>
              </td>
              <td>{p.partition}</td>
              <td>{p.committed}</td>
              <td>{p.end}</td>
              <td data-testid="lag">{p.lag}</td>
              <td>{p.member ?? <span className="muted">unassigned</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
