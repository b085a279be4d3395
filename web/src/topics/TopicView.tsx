/** One topic live: its figures, settings, the live tail and its write rate. */
import { useMemo } from "react";
import { Link, useParams } from "react-router-dom";

import { useTopic, useTopicMetrics } from "../api/queries";
import { clusterPath } from "../clusters/ClusterScope";
import { ErrorBox } from "../components/States";
import { TimeChart } from "../components/TimeChart";
import { formatCount, formatRate } from "../shaping/format";
import { alignSeries, pickSeries } from "../shaping/metrics";
import { TopicSettings } from "./TopicSettings";
import { TopicTail } from "./TopicTail";

export function TopicView() {
  const name = useParams().name ?? "";
  const cluster = useParams().cluster ?? "";
  const detail = useTopic(cluster, name);
  const metrics = useTopicMetrics(cluster, name);
  const rate = useMemo(() => alignSeries(pickSeries(metrics.data?.series ?? [], "rate")), [metrics.data]);
  const partitions = detail.data?.partitions ?? 0;
  return (
    <div className="page topic-view">
      <header className="page-header">
        <div>
          <div className="crumbs">
            <Link to={clusterPath(cluster, "topics")}>Topics</Link> /
          </div>
          <h1>{name}</h1>
        </div>
        {detail.data && (
          <span className="muted">
            {detail.data.partitions} partitions · {formatCount(detail.data.messages)} records ·{" "}
            {formatRate(detail.data.rate)}
          </span>
        )}
      </header>
      {detail.error && <ErrorBox error={detail.error} retry={() => void detail.refetch()} />}
      <TopicSettings cluster={cluster} name={name} />
      <TopicTail name={name} cluster={cluster} partitions={partitions} />
      <div className="charts">
        {rate.data[0].length > 1 && <TimeChart title="Records per second" data={rate.data} labels={rate.labels} />}
      </div>
    </div>
  );
}
