package io.raftkv.bench;

import java.util.List;
import java.util.Optional;

/**
 * What the catch-up experiment needs of a cluster it started, raftkv or etcd alike: its leader,
 * writes through the leader alone, local (possibly stale) reads from one node, stopping and
 * restarting a node, and what the nodes' logs say about the snapshots they sent.
 */
interface CatchupCluster extends AutoCloseable {
  /** The cluster, to load data through it with many clients. */
  Target target();

  /** The node that is leader now, or -1. */
  int leader();

  /** The highest term any node reports now (each election raises it), or -1. */
  long term();

  /** A client that writes through node {@code node} only (the leader: its latency, no detour). */
  Target.Session sessionAt(int node) throws Exception;

  /** The name of {@link #localRead}: "DIRECT_GET" or "serializable GET". */
  String localReadName();

  /**
   * Reads {@code key} from node {@code node}'s own store, without consensus (stale if the node is
   * behind); empty when it does not hold the key. Throws when the node does not answer.
   */
  Optional<byte[]> localRead(int node, byte[] key) throws Exception;

  /** SIGTERM to node {@code node}; returns once it has gone. */
  void stop(int node) throws Exception;

  /** Starts node {@code node} again, same flags and data; returns once it listens. */
  void restart(int node) throws Exception;

  /** The snapshots node {@code node}'s log says it sent at or after {@code sinceMillis}. */
  List<ServerLogs.Transfer> transfersFrom(int node, long sinceMillis);

  /** The warnings and errors of node {@code node}'s log. */
  ServerLogs.Scan scanLog(int node);

  @Override
  void close();
}
