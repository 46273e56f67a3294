package io.raftkv.raft;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The configuration and what this node knows about the other members in it (etcd's {@code tracker}
 * package): who votes and who only learns (dissertation chapter 4), the votes cast for this node in
 * its current (pre-)campaign (§5.2), and on a leader each follower's {@link Progress} (Figure 2,
 * "Volatile state on leaders"). Every question that needs a majority (is the election won? which
 * index is stored on a majority, §5.3? which ReadIndex round has a majority answered, §8? has a
 * majority been heard from lately, dissertation §6.2?) is answered here with {@link Quorum}, and in
 * a joint configuration (§4.3) needs a majority of the voters and of the outgoing voters. Learners
 * get the log but never count.
 *
 * <p>Iteration is in id order (determinism: no hash order). Not thread-safe: owned by the {@link
 * Raft} that holds it.
 */
final class ProgressTracker {
  private final int self;

  private Configuration config = Configuration.EMPTY;

  /** Every member but this node (voters, learners, departing), in id order: who gets the log. */
  private List<Integer> peers = List.of();

  /** Every voter but this node, in id order: who is asked for votes. */
  private List<Integer> voterPeers = List.of();

  /** Votes received in the current (pre-)campaign, by voter; the first answer of each counts. */
  private final Map<Integer, Boolean> votes = new TreeMap<>();

  /** On a leader, one entry per peer; empty otherwise. */
  private final Map<Integer, Progress> progress = new TreeMap<>();

  /** Whether this node leads (and so tracks progress), and how many appends it pipelines. */
  private boolean leading;

  private int maxInflight = 1;

  ProgressTracker(int self) {
    this.self = self;
  }

  Configuration configuration() {
    return config;
  }

  /**
   * The configuration changed (an entry appended or truncated, a snapshot installed; §4.1: it takes
   * effect at once). A leader starts tracking new members from {@code next} (probing, and counted
   * as recently active so that CheckQuorum gives them an interval to answer) and forgets removed
   * ones.
   */
  void setConfiguration(Configuration c, Set<Integer> departing, long next) {
    config = c;
    java.util.TreeSet<Integer> replicated = new java.util.TreeSet<>(c.allMembers());
    replicated.addAll(departing);
    peers = replicated.stream().filter(id -> id != self).toList();
    voterPeers = c.allVoters().stream().filter(id -> id != self).toList();
    progress.keySet().retainAll(peers);
    if (leading) {
      for (int peer : peers) {
        progress.computeIfAbsent(
            peer,
            p -> {
              Progress pr = new Progress(next, maxInflight);
              pr.setRecentActive(true);
              return pr;
            });
      }
    }
  }

  /** Every member but this node, in id order. */
  List<Integer> peers() {
    return peers;
  }

  /** Every voter but this node, in id order. */
  List<Integer> voterPeers() {
    return voterPeers;
  }

  /** Whether {@code id} votes (in either half of a joint configuration). */
  boolean isVoter(int id) {
    return config.isVoter(id);
  }

  // ---------------------------------------------------------------- votes (§5.2)

  /**
   * Records an answer (a voter's first one in this campaign counts; others are not counted) and
   * tallies: WON once a majority granted (of both halves of a joint configuration), LOST once a
   * majority (of either half) can no longer grant.
   */
  Quorum.VoteResult recordVote(int voter, boolean granted) {
    if (config.isVoter(voter)) {
      votes.putIfAbsent(voter, granted);
    }
    Quorum.VoteResult incoming = tally(config.voters());
    Quorum.VoteResult outgoing =
        config.isJoint() ? tally(config.outgoing()) : Quorum.VoteResult.WON;
    if (incoming == Quorum.VoteResult.LOST || outgoing == Quorum.VoteResult.LOST) {
      return Quorum.VoteResult.LOST;
    }
    if (incoming == Quorum.VoteResult.WON && outgoing == Quorum.VoteResult.WON) {
      return Quorum.VoteResult.WON;
    }
    return Quorum.VoteResult.PENDING;
  }

  private Quorum.VoteResult tally(Set<Integer> voters) {
    int yes = 0;
    int no = 0;
    for (int v : voters) {
      Boolean g = votes.get(v);
      if (g != null) {
        if (g) {
          yes++;
        } else {
          no++;
        }
      }
    }
    return Quorum.tally(yes, no, voters.size());
  }

  // ---------------------------------------------------------------- progress (leader)

  /** A new leader's view (Figure 2): nextIndex just past its log, matchIndex 0, probing. */
  void startLeading(long next, int maxInflight) {
    this.maxInflight = maxInflight;
    leading = true;
    for (int peer : peers) {
      progress.put(peer, new Progress(next, maxInflight));
    }
  }

  /** Forgets the votes and the followers' progress: this node starts a new role. */
  void reset() {
    votes.clear();
    progress.clear();
    leading = false;
  }

  /**
   * The leader's view of {@code peer}, or null when this node does not lead or does not know it.
   */
  Progress progress(int peer) {
    return progress.get(peer);
  }

  /**
   * §5.3: the highest index stored on a majority (of each half of a joint configuration, §4.3),
   * counting this leader's own durable log end ({@code selfStable}) if it votes, and each voter's
   * matchIndex; learners do not count.
   */
  long committedIndex(long selfStable) {
    return jointMajority(selfStable, Progress::match);
  }

  /**
   * §8 ReadIndex: the highest heartbeat round a majority (of each half) has answered; this leader
   * answers its own latest round ({@code selfRound}) if it votes.
   */
  long confirmedRound(long selfRound) {
    return jointMajority(selfRound, Progress::ackedRound);
  }

  private long jointMajority(long selfValue, java.util.function.ToLongFunction<Progress> value) {
    long incoming = majority(config.voters(), selfValue, value);
    return config.isJoint()
        ? Math.min(incoming, majority(config.outgoing(), selfValue, value))
        : incoming;
  }

  private long majority(
      Set<Integer> voters, long selfValue, java.util.function.ToLongFunction<Progress> value) {
    if (voters.isEmpty()) {
      return 0; // no voters decide nothing (a configuration always has some; see Configuration)
    }
    long[] values = new long[voters.size()];
    int i = 0;
    for (int v : voters) {
      values[i++] = v == self ? selfValue : value.applyAsLong(progress.get(v));
    }
    return Quorum.majorityValue(values);
  }

  /**
   * CheckQuorum (dissertation §6.2): whether a majority (of each half), this leader included if it
   * votes, was heard from since the last call; starts the next interval.
   */
  boolean quorumActiveSinceLastCheck() {
    boolean active = isActiveMajority(config.voters());
    if (config.isJoint()) {
      active &= isActiveMajority(config.outgoing());
    }
    for (Progress pr : progress.values()) {
      pr.setRecentActive(false);
    }
    return active;
  }

  private boolean isActiveMajority(Set<Integer> voters) {
    int active = 0;
    for (int v : voters) {
      if (v == self || progress.get(v).recentActive()) {
        active++;
      }
    }
    return Quorum.isMajority(active, voters.size());
  }

  /**
   * The lowest index of a snapshot being sent to a follower (§7), or {@code Long.MAX_VALUE} if none
   * is: the follower continues from the entries after it, so the log must keep them.
   */
  long oldestSnapshotInFlight() {
    long oldest = Long.MAX_VALUE;
    for (Progress pr : progress.values()) {
      if (pr.state() == Progress.State.SNAPSHOT) {
        oldest = Math.min(oldest, pr.pendingSnapshot());
      }
    }
    return oldest;
  }

  /** What {@link RaftStatus#peers()} reports: the leader's view of each follower, in id order. */
  Map<Integer, RaftStatus.PeerProgress> status() {
    Map<Integer, RaftStatus.PeerProgress> view = new LinkedHashMap<>();
    progress.forEach(
        (id, pr) ->
            view.put(
                id,
                new RaftStatus.PeerProgress(
                    pr.match(),
                    pr.next(),
                    pr.state() == Progress.State.REPLICATE,
                    pr.inflightCount(),
                    pr.pendingSnapshot())));
    return view;
  }
}
