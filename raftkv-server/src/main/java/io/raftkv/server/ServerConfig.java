package io.raftkv.server;

import io.raftkv.raft.RaftConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything a node needs to run, validated: who it is, where its peers are, and every timing and
 * size limit. Times are in milliseconds; the core counts them in ticks of {@code tickMillis}.
 *
 * @param chaosEnabled whether the Admin service's Chaos RPC (fault injection) is served ({@code
 *     --enable-chaos}); off, it is refused
 * @param security TLS on the two ports ({@link Security#PLAINTEXT} for none)
 */
public record ServerConfig(
    int nodeId,
    List<PeerAddress> raftPeers,
    List<PeerAddress> kvsPeers,
    String kvsHost,
    int kvsPort,
    boolean startAsLeader,
    Path dataDir,
    String clusterId,
    long tickMillis,
    long electionTimeoutMinMillis,
    long electionTimeoutMaxMillis,
    long heartbeatMillis,
    long requestTimeoutMillis,
    long startupGraceMillis,
    int maxInflightAppends,
    long maxMessageBytes,
    int peerQueueMessages,
    int logCacheEntries,
    int maxKeyBytes,
    int maxValueBytes,
    Snapshots snapshots,
    boolean chaosEnabled,
    boolean join,
    Security security) {

  /**
   * Log compaction and snapshot transfers (§7).
   *
   * @param entries applied entries between two snapshots (0: never compact)
   * @param catchupEntries entries kept before a snapshot, for followers that lag a little
   * @param maxBytesPerSecond each transfer's rate limit (0: none)
   * @param timeoutMillis how long one transfer may take
   */
  public record Snapshots(
      long entries, long catchupEntries, long maxBytesPerSecond, long timeoutMillis) {
    public Snapshots {
      if (entries < 0 || catchupEntries < 0 || maxBytesPerSecond < 0) {
        throw new IllegalArgumentException(
            "--snapshot-entries, --snapshot-catchup-entries and --snapshot-max-bytes-per-sec"
                + " must not be negative");
      }
      if (timeoutMillis <= 0) {
        throw new IllegalArgumentException(
            "--snapshot-timeout-ms must be positive: " + timeoutMillis);
      }
    }
  }

  public ServerConfig {
    raftPeers = List.copyOf(raftPeers);
    kvsPeers = List.copyOf(kvsPeers);
    if (raftPeers.isEmpty()) {
      throw new IllegalArgumentException("-r needs at least one raft address");
    }
    if (nodeId < 0 || nodeId >= raftPeers.size()) {
      throw new IllegalArgumentException(
          "-i " + nodeId + " is not an index into -r (0.." + (raftPeers.size() - 1) + ")");
    }
    if (!kvsPeers.isEmpty() && kvsPeers.size() != raftPeers.size()) {
      throw new IllegalArgumentException(
          "--kvs-peers lists " + kvsPeers.size() + " addresses but -r lists " + raftPeers.size());
    }
    if (kvsPort < 1 || kvsPort > 65535) {
      throw new IllegalArgumentException("-p " + kvsPort + " is not a port (1-65535)");
    }
    distinctAddresses(raftPeers, new PeerAddress(kvsHost, kvsPort));
    security.checkRaftListen(raftPeers.get(nodeId));
    positive("--tick-ms", tickMillis);
    positive("--request-timeout-ms", requestTimeoutMillis);
    if (startupGraceMillis < 0) {
      throw new IllegalArgumentException("--startup-grace-ms must be >= 0: " + startupGraceMillis);
    }
    positive("--max-inflight", maxInflightAppends);
    positive("--max-message-bytes", maxMessageBytes);
    positive("--peer-queue", peerQueueMessages);
    positive("--log-cache-entries", logCacheEntries);
    positive("--max-key-bytes", maxKeyBytes);
    positive("--max-value-bytes", maxValueBytes);
    if (electionTimeoutMaxMillis <= electionTimeoutMinMillis) {
      throw new IllegalArgumentException(
          "election timeout range is empty: max "
              + electionTimeoutMaxMillis
              + " ms must exceed min "
              + electionTimeoutMinMillis
              + " ms (randomized timeouts avoid split votes, Raft §5.2)");
    }
    if (heartbeatMillis * 2 > electionTimeoutMinMillis) {
      throw new IllegalArgumentException(
          "heartbeat "
              + heartbeatMillis
              + " ms is not well below the minimum election timeout "
              + electionTimeoutMinMillis
              + " ms (at most half of it): followers would start elections under a healthy"
              + " leader (Raft §5.6)");
    }
    if (heartbeatMillis < tickMillis || electionTimeoutMinMillis < 2 * tickMillis) {
      throw new IllegalArgumentException(
          "tick "
              + tickMillis
              + " ms is too coarse for heartbeat "
              + heartbeatMillis
              + " ms and election timeout "
              + electionTimeoutMinMillis
              + " ms");
    }
  }

  /**
   * Refuses a raft address listed twice (after normalization: {@code 1234} is {@code
   * 127.0.0.1:1234}), which would make two ids one node, and a KV address that is some node's raft
   * address: one of the two servers could not bind, and the other node could not start.
   */
  private static void distinctAddresses(List<PeerAddress> raftPeers, PeerAddress kvs) {
    Map<PeerAddress, Integer> seen = new java.util.HashMap<>();
    for (int i = 0; i < raftPeers.size(); i++) {
      PeerAddress a = raftPeers.get(i).normalized();
      Integer first = seen.putIfAbsent(a, i);
      if (first != null) {
        throw new IllegalArgumentException(
            "-r lists "
                + a
                + " twice (nodes "
                + first
                + " and "
                + i
                + "); each node needs its own");
      }
      if (a.sameSocket(kvs.normalized())) {
        throw new IllegalArgumentException(
            "-p "
                + kvs.port()
                + " is node "
                + i
                + "'s raft port ("
                + a
                + " in -r); give the KV port a port of its own");
      }
    }
  }

  private static void positive(String flag, long value) {
    if (value <= 0) {
      throw new IllegalArgumentException(flag + " must be positive: " + value);
    }
  }

  public PeerAddress raftAddress() {
    return raftPeers.get(nodeId);
  }

  /** Raft addresses by node id. */
  public Map<Integer, PeerAddress> raftPeersById() {
    Map<Integer, PeerAddress> out = new TreeMap<>();
    for (int i = 0; i < raftPeers.size(); i++) {
      out.put(i, raftPeers.get(i));
    }
    return out;
  }

  /** The KV address of node {@code id}, when --kvs-peers was given; else empty. */
  public String kvsAddressOf(int id) {
    return id >= 0 && id < kvsPeers.size() ? kvsPeers.get(id).toString() : "";
  }

  /** The core's settings: milliseconds rounded to whole ticks. */
  public RaftConfig raftConfig() {
    // The first configuration: every -r entry a voter, unless this node joins a running cluster
    // (--join): then it has none and waits to be added (dissertation §4.2.1). Either way, a node
    // that recorded a configuration uses that one.
    List<Integer> voters = new ArrayList<>();
    for (int i = 0; i < raftPeers.size() && !join; i++) {
      voters.add(i);
    }
    int minTicks = ticks(electionTimeoutMinMillis);
    int maxTicks = Math.max(minTicks + 1, ticks(electionTimeoutMaxMillis));
    return new RaftConfig(
        nodeId,
        voters,
        minTicks,
        maxTicks,
        Math.max(1, ticks(heartbeatMillis)),
        maxInflightAppends,
        maxMessageBytes,
        4L * maxMessageBytes,
        true,
        true);
  }

  private int ticks(long millis) {
    return (int) Math.max(1, Math.round((double) millis / tickMillis));
  }
}
