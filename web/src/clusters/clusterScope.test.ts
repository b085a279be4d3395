import { describe, expect, it } from "vitest";

import type { Cluster } from "../api";
import { clusterPath, defaultCluster, topicPath } from "./ClusterScope";

function cluster(name: string, isDefault: boolean): Cluster {
  return {
    id: 1,
    name,
    bootstrap_servers: "localhost:9092",
    options: {},
    secret_options: [],
    default: isDefault,
    deploy_target: { kind: "local" },
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
  };
}

describe("cluster pages", () => {
  it("put the cluster in the address, encoded", () => {
    expect(clusterPath("default", "pipeline")).toBe("/clusters/default/pipeline");
    expect(topicPath("prod", "orders.v1")).toBe("/clusters/prod/topics/orders.v1");
    expect(topicPath("prod", "a b")).toBe("/clusters/prod/topics/a%20b");
  });

  it("use the cluster the server marks default, and guess none when it marks none", () => {
    expect(defaultCluster([cluster("a", false), cluster("only", true)])).toBe("only");
    expect(defaultCluster([cluster("a", false), cluster("b", false)])).toBeUndefined();
    expect(defaultCluster([])).toBeUndefined();
  });
});
