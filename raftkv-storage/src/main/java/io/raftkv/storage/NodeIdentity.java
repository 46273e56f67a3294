package io.raftkv.storage;

import java.util.Objects;

/**
 * Who a data directory belongs to: the cluster's id and the node's id within it. Recorded when the
 * directory is created and checked at every later open.
 *
 * @param clusterId a non-empty name shared by every node of one cluster
 * @param nodeId the node's Raft id, not negative
 */
public record NodeIdentity(String clusterId, int nodeId) {
  public NodeIdentity {
    Objects.requireNonNull(clusterId, "clusterId");
    if (clusterId.isEmpty()) {
      throw new IllegalArgumentException("cluster id must not be empty");
    }
    if (nodeId < 0) {
      throw new IllegalArgumentException("node id must not be negative: " + nodeId);
    }
  }

  /** For example {@code node 2 of cluster c1}. */
  @Override
  public String toString() {
    return "node " + nodeId + " of cluster " + clusterId;
  }
}
