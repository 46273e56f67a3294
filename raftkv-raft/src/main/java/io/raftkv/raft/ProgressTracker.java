package io.raftkv.raft;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The configuration and what this node knows about the other voters in it (etcd's {@code tracker}
 * package): who votes, the votes cast for this node in its current (pre-)campaign (§5.2), and on a
 * leader each follower's {@link Progress} (Figure 2, "Volatile state on leaders"). Every question
 * that needs a majority (is the election won? which index is stored on a majority, §5.3? which
 * ReadIndex round has a majority answered, §8? has a majority been heard from lately, dissertation
 * §6.2?) is answered here with {@link Quorum}.
 *
 * <p>The configuration is fixed for now; membership changes (dissertation §4) will change the voter
 * set here and nowhere else. Iteration is in id order (determinism: no hash order).
 *
 * <p>Not thread-safe: owned by the {@link Raft} that holds it.
 */
final class ProgressTracker {
  private final int self;

  /** Every voter but this node, in id order. */
  private final List<Integer> peers;

  private final int voterCount;

  /** Votes received in the current (pre-)campaign, by voter; the first answer of each counts. */
  private final Map<Integer, Boolean> votes = new TreeMap<>();

  /** On a leader, one entry per peer; empty otherwise. */
  private final Map<Integer, Progress> progress = new TreeMap<>();

  ProgressTracker(RaftConfig config) {
    this.self = config.id();
    this.voterCount = config.voters().size();
    this.peers = config.voters().stream().filter(v -> v != self).toList();
  }

  /** Every voter but this node, in id order. */
  List<Integer> peers() {
    return peers;
  }

  boolean isPeer(int id) {
    return peers.contains(id);
  }

  // ---------------------------------------------------------------- votes (§5.2)

  /**
   * Records a voter's answer (its first one in this campaign counts) and tallies: WON once a
   * majority granted, LOST once a majority can no longer grant.
   */
  Quorum.VoteResult recordVote(int voter, boolean granted) {
    votes.putIfAbsent(voter, granted);
    int yes = 0;
    int no = 0;
    for (boolean g : votes.values()) {
      if (g) {
        yes++;
      } else {
        no++;
      }
    }
    return Quorum.tally(yes, no, voterCount);
  }

  // ---------------------------------------------------------------- progress (leader)

  /** A new leader's view (Figure 2): nextIndex just past its log, matchIndex 0, probing. */
  void startLeading(long next, int maxInflight) {
    for (int peer : peers) {
      progress.put(peer, new Progress(next, maxInflight));
    }
  }

  /** Forgets the votes and the followers' progress: this node starts a new role. */
  void reset() {
    votes.clear();
    progress.clear();
  }

  /** The leader's view of {@code peer}, or null when this node does not lead. */
  Progress progress(int peer) {
    return progress.get(peer);
  }

  /**
   * §5.3: the highest index stored on a majority, counting this leader's own durable log end
   * ({@code selfStable}) and each follower's matchIndex.
   */
  long committedIndex(long selfStable) {
    long[] matches = new long[peers.size() + 1];
    matches[0] = selfStable;
    int i = 1;
    for (Progress pr : progress.values()) {
      matches[i++] = pr.match();
    }
    return Quorum.majorityValue(matches);
  }

  /**
   * §8 ReadIndex: the highest heartbeat round a majority has answered; this leader answers its own
   * latest round ({@code selfRound}).
   */
  long confirmedRound(long selfRound) {
    long[] rounds = new long[peers.size() + 1];
    rounds[0] = selfRound;
    int i = 1;
    for (Progress pr : progress.values()) {
      rounds[i++] = pr.ackedRound();
    }
    return Quorum.majorityValue(rounds);
  }

  /**
   * CheckQuorum (dissertation §6.2): whether a majority, this leader included, was heard from since
   * the last call; starts the next interval.
   */
  boolean quorumActiveSinceLastCheck() {
    int active = 1;
    for (Progress pr : progress.values()) {
      if (pr.recentActive()) {
        active++;
      }
      pr.setRecentActive(false);
    }
    return Quorum.isMajority(active, voterCount);
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
