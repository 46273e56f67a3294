package io.raftkv.client.retry;

import java.util.ArrayList;
import java.util.List;

/**
 * The servers a client knows and the one it believes leads, shared by all of a client's operations:
 * the configured addresses plus leaders learned from NOT_LEADER hints. With no leader known, an
 * operation starts with the first server given.
 *
 * <p>Thread-safe (a client's reads run concurrently). No clock, thread or randomness: the
 * simulator's clients use it as the gRPC client does.
 */
public final class ServerRouting {
  private final List<String> servers;
  private volatile String leader;

  /** {@code servers}: "host:port" addresses (any order; any one may lead); not empty. */
  public ServerRouting(List<String> servers) {
    if (servers.isEmpty()) {
      throw new IllegalArgumentException("no servers given");
    }
    for (String s : servers) {
      if (s == null || s.isBlank()) {
        throw new IllegalArgumentException("empty server address");
      }
    }
    this.servers = new ArrayList<>(servers);
  }

  /** The last server known to lead, or null. */
  public String leader() {
    return leader;
  }

  /** Where an operation starts: the leader if known, else the first server. */
  String firstTarget() {
    String l = leader;
    if (l != null) {
      return l;
    }
    synchronized (servers) {
      return servers.get(0);
    }
  }

  /** {@code server} answered as the leader. */
  void leaderIs(String server) {
    leader = server;
  }

  /** {@code server} is not (or no longer) the leader, as far as this client knows. */
  void notLeader(String server) {
    if (server.equals(leader)) {
      leader = null;
    }
  }

  /** A hint names the leader: remember it (and add it to the known servers if new). */
  void learnLeader(String hint) {
    synchronized (servers) {
      if (!servers.contains(hint)) {
        servers.add(hint);
      }
    }
    leader = hint;
  }

  /** The server after {@code current} in the known list (round robin). */
  String next(String current) {
    synchronized (servers) {
      int i = servers.indexOf(current);
      return servers.get((i + 1) % servers.size());
    }
  }

  int size() {
    synchronized (servers) {
      return servers.size();
    }
  }
}
