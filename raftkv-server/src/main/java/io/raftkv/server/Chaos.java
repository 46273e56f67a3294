package io.raftkv.server;

import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;

/**
 * The chaos monkey's fault table and the decisions the peer transport asks of it: per peer,
 * outbound and inbound drop probabilities, an added outbound delay, and a full cut (both ways).
 *
 * <p>A dropped message is discarded silently, never answered with an error: the sender's Raft sees
 * no reply and times out (election timeout, heartbeat without an answer, append re-sent), as seed
 * 003 asks, so the failure modes are the real network's.
 *
 * <p>Thread-safety: the decision methods may be called from any thread and take no lock (the table
 * is an immutable map swapped on change); changes are serialized.
 */
final class Chaos {

  /** The faults towards one peer. */
  record Fault(double dropOut, double dropIn, long delayMillis, boolean cut) {
    static final Fault NONE = new Fault(0, 0, 0, false);

    Fault {
      probability("drop_out", dropOut);
      probability("drop_in", dropIn);
      if (delayMillis < 0) {
        throw new IllegalArgumentException("delay_ms must be >= 0: " + delayMillis);
      }
    }

    boolean isNone() {
      return equals(NONE);
    }

    private static void probability(String what, double p) {
      if (!(p >= 0 && p <= 1)) {
        throw new IllegalArgumentException(what + " must be a probability from 0 to 1: " + p);
      }
    }
  }

  /** What the filter did with one peer's traffic. */
  static final class PeerCounters {
    final LongAdder received = new LongAdder();
    final LongAdder droppedIn = new LongAdder();
    final LongAdder droppedOut = new LongAdder();
  }

  private final int selfId;
  private final Map<Integer, PeerCounters> counters;
  private final DoubleSupplier random;
  private volatile Map<Integer, Fault> faults = Map.of();

  /**
   * @param peerIds the other members' ids
   * @param random uniform in [0, 1); called from several threads unless tests drive it alone
   */
  Chaos(int selfId, Collection<Integer> peerIds, DoubleSupplier random) {
    this.selfId = selfId;
    this.counters = new java.util.concurrent.ConcurrentSkipListMap<>();
    for (int id : peerIds) {
      addPeer(id);
    }
    this.random = random;
  }

  /** A member added to the configuration (chapter 4) may get faults too. */
  void addPeer(int id) {
    if (id != selfId) {
      counters.computeIfAbsent(id, k -> new PeerCounters());
    }
  }

  /** A filter drawing from {@link ThreadLocalRandom} (no lock, no shared state). */
  static Chaos unseeded(int selfId, Collection<Integer> peerIds) {
    return new Chaos(selfId, peerIds, () -> ThreadLocalRandom.current().nextDouble());
  }

  // ---------------------------------------------------------------- decisions (any thread)

  /** Whether a message to {@code peer} is to be discarded; counts it if so. */
  boolean dropOutbound(int peer) {
    Map<Integer, Fault> f = faults;
    if (f.isEmpty()) {
      return false;
    }
    Fault fault = f.get(peer);
    if (fault != null && (fault.cut() || chance(fault.dropOut()))) {
      count(peer, false);
      return true;
    }
    return false;
  }

  /** Counts a message from {@code peer}; whether it is to be discarded on arrival. */
  boolean dropInbound(int peer) {
    PeerCounters c = counters.get(peer);
    if (c != null) {
      c.received.increment();
    }
    Map<Integer, Fault> f = faults;
    if (f.isEmpty()) {
      return false;
    }
    Fault fault = f.get(peer);
    if (fault != null && (fault.cut() || chance(fault.dropIn()))) {
      count(peer, true);
      return true;
    }
    return false;
  }

  /** The delay to add to a message to {@code peer} (0: none). */
  long delayMillis(int peer) {
    Map<Integer, Fault> f = faults;
    if (f.isEmpty()) {
      return 0;
    }
    Fault fault = f.get(peer);
    return fault == null ? 0 : fault.delayMillis();
  }

  private boolean chance(double p) {
    return p >= 1 || (p > 0 && random.getAsDouble() < p);
  }

  private void count(int peer, boolean inbound) {
    PeerCounters c = counters.get(peer);
    if (c != null) {
      (inbound ? c.droppedIn : c.droppedOut).increment();
    }
  }

  // ---------------------------------------------------------------- changes

  /**
   * Clears every fault first when {@code reset}, then sets each of {@code changes} (a peer's whole
   * fault; {@link Fault#NONE} clears it). Nothing changes if a peer id is not another member.
   *
   * @return the faults in force afterwards
   * @throws IllegalArgumentException for an unknown peer or this node's own id
   */
  synchronized Map<Integer, Fault> apply(boolean reset, Map<Integer, Fault> changes) {
    for (int peer : changes.keySet()) {
      if (peer == selfId) {
        throw new IllegalArgumentException("peer " + peer + " is this node");
      }
      if (!counters.containsKey(peer)) {
        throw new IllegalArgumentException(
            "no peer " + peer + " (peers: " + counters.keySet().stream().sorted().toList() + ")");
      }
    }
    Map<Integer, Fault> next = new TreeMap<>(reset ? Map.of() : faults);
    changes.forEach(
        (peer, fault) -> {
          if (fault.isNone()) {
            next.remove(peer);
          } else {
            next.put(peer, fault);
          }
        });
    faults = next.isEmpty() ? Map.of() : java.util.Collections.unmodifiableMap(next);
    return faults;
  }

  /** The faults in force, by peer id (peers without one are left out). */
  Map<Integer, Fault> faults() {
    return faults;
  }

  /** The fault towards {@code peer} ({@link Fault#NONE} if none). */
  Fault fault(int peer) {
    return faults.getOrDefault(peer, Fault.NONE);
  }

  /** The counters of {@code peer}, or null for an unknown id. */
  PeerCounters counters(int peer) {
    return counters.get(peer);
  }
}
