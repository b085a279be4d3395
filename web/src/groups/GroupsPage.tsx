/** Consumer groups of a cluster: a list with state and lag, and one group's page. */
import { Link, Route, Routes } from "react-router-dom";

import { useGroups } from "../api/queries";
import { ClusterPicker, ClusterScopedPage, groupPath } from "../clusters/ClusterScope";
import { Empty, QueryView } from "../components/States";
import { formatCount } from "../shaping/format";
import { GroupView } from "./GroupView";

export default function GroupsSection() {
  return (
    <Routes>
      <Route index element={<GroupsPage />} />
      <Route path=":group" element={<GroupView />} />
    </Routes>
  );
}

function GroupsPage() {
  return (
    <ClusterScopedPage title="Consumer groups" view="groups">
      {(cluster, clusters) => <GroupList key={cluster} cluster={cluster} clusters={clusters} />}
    </ClusterScopedPage>
  );
}

function GroupList({ cluster, clusters }: { cluster: string; clusters: string[] }) {
  const groups = useGroups(cluster);
  return (
    <>
      <header className="page-header">
        <h1>Consumer groups</h1>
        <div className="toolbar-actions">
          <ClusterPicker cluster={cluster} clusters={clusters} view="groups" />
        </div>
      </header>
      <QueryView
        query={groups}
        what="consumer groups"
        empty={<Empty title="No consumer groups yet">A group shows here once it commits offsets.</Empty>}
      >
        {(list) => (
          <table className="table" aria-label="Consumer groups">
            <thead>
              <tr>
                <th>Group</th>
                <th>State</th>
                <th>Members</th>
                <th>Topics</th>
                <th>Lag</th>
              </tr>
            </thead>
            <tbody>
              {list.map((g) => (
                <tr key={g.group} data-group={g.group}>
                  <td>
                    <Link to={groupPath(cluster, g.group)}>
                      <strong>{g.group}</strong>
                    </Link>
                  </td>
                  <td>{g.state}</td>
                  <td>{g.members}</td>
                  <td>{g.topics.join(", ") || "—"}</td>
                  <td>{formatCount(g.lag)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
    </>
  );
}
