package io.raftkv.raft;

import java.util.ArrayDeque;

/**
 * What a leader knows about one follower's log (Figure 2, "Volatile state on leaders": nextIndex
 * and matchIndex), and how it paces AppendEntries to it.
 *
 * <p>A follower is in one of two states. While PROBING the leader does not know where the logs
 * diverge: it sends one AppendEntries and waits for the answer (or the next heartbeat) before
 * sending another, walking nextIndex back with the follower's conflict hints. Once an append
 * succeeds it is REPLICATING: the leader streams entries optimistically, advancing nextIndex as it
 * sends, with at most {@code maxInflight} unacknowledged messages. A follower that needs entries
 * the leader has compacted away is sent a SNAPSHOT (§7) and nothing else until the transfer ends:
 * its answer, or the driver's report that it failed, sends it back to probing.
 */
final class Progress {
  enum State {
    PROBE,
    REPLICATE,
    SNAPSHOT
  }

  private long match;

  /** Always above {@code match}: every write of either keeps {@code next >= match + 1}. */
  private long next;

  private State state = State.PROBE;
  private boolean probeSent;

  /** While in SNAPSHOT: the index of the snapshot being sent. */
  private long pendingSnapshot;

  /** The last index carried by each unacknowledged append, oldest first. */
  private final ArrayDeque<Long> inflight = new ArrayDeque<>();

  private final int maxInflight;

  /** The match index at the previous heartbeat, to notice a pipeline that stopped moving. */
  private long matchAtHeartbeat;

  /** Heard from since the last CheckQuorum round. */
  private boolean recentActive;

  /** The highest heartbeat round this follower has answered in the current term (ReadIndex). */
  private long ackedRound;

  /** The highest commit index this follower can have learned from what was sent to it. */
  private long sentCommit;

  Progress(long next, int maxInflight) {
    this.next = next;
    this.maxInflight = maxInflight;
  }

  long match() {
    return match;
  }

  long next() {
    return next;
  }

  State state() {
    return state;
  }

  boolean recentActive() {
    return recentActive;
  }

  void setRecentActive(boolean active) {
    recentActive = active;
  }

  long ackedRound() {
    return ackedRound;
  }

  void ackRound(long round) {
    ackedRound = Math.max(ackedRound, round);
  }

  long sentCommit() {
    return sentCommit;
  }

  /** An append carrying {@code commit} that the follower may apply up to its last entry. */
  void sentCommit(long commit) {
    sentCommit = Math.max(sentCommit, commit);
  }

  int inflightCount() {
    return inflight.size();
  }

  long pendingSnapshot() {
    return pendingSnapshot;
  }

  /**
   * No append may be sent now: a probe awaits its answer, the pipeline window is full, or a
   * snapshot is on its way.
   */
  boolean isPaused() {
    return switch (state) {
      case PROBE -> probeSent;
      case REPLICATE -> inflight.size() >= maxInflight;
      case SNAPSHOT -> true;
    };
  }

  /** Records an append carrying entries up to {@code lastIndex} (or none when 0). */
  void sentAppend(long lastIndex) {
    if (state == State.REPLICATE) {
      if (lastIndex > 0) {
        next = lastIndex + 1;
        inflight.addLast(lastIndex);
      }
    } else {
      probeSent = true;
    }
  }

  boolean stalledSinceLastHeartbeat() {
    return match == matchAtHeartbeat;
  }

  void markHeartbeat() {
    matchAtHeartbeat = match;
  }

  /** Heartbeat time: a probe may be repeated, in case it or its answer was lost. */
  void onHeartbeat() {
    probeSent = false;
  }

  /**
   * Makes room for one more append if the window is full; a heartbeat answer that brings no
   * progress suggests an append was lost, and the next one will reveal the gap (its rejection moves
   * the follower back to probing).
   */
  void freeOneIfFull() {
    if (state == State.REPLICATE && inflight.size() >= maxInflight) {
      inflight.pollFirst();
    }
  }

  /**
   * The follower's log matches ours up to {@code index}.
   *
   * @return whether that is news
   */
  boolean maybeUpdate(long index) {
    boolean updated = false;
    if (index > match) {
      match = index;
      updated = true;
      probeSent = false;
    }
    next = Math.max(next, index + 1);
    while (!inflight.isEmpty() && inflight.peekFirst() <= index) {
      inflight.pollFirst();
    }
    return updated;
  }

  /**
   * The follower rejected an append whose previous index was {@code rejected}; {@code hint} is
   * where the leader should retry from, already derived from the follower's conflict term and index
   * (§5.3, "the follower can include the term of the conflicting entry and the first index it
   * stores for that term").
   *
   * <p>A rejection at or below the match index changes nothing: nextIndex never goes below match +
   * 1 (the follower acknowledged everything up to the match, and Figure 2's matchIndex only grows),
   * so an append sent at once would be the same one, rejected the same way, forever. It is a stale
   * answer (to an append sent before the follower acknowledged more), or the follower denies what
   * it acknowledged (it lost its data, which it detects and reports, see {@link
   * DataLossException}). Either way it is not answered: the next heartbeat probes again. Any other
   * rejection moves nextIndex strictly down (to at most {@code rejected < next}), so the probing
   * that follows a rejection ends after at most {@code next - match} round trips. (etcd's {@code
   * Progress.MaybeDecrTo} ignores such rejections only in StateReplicate and re-sends a probe
   * rejected at the match at once; there the follower's panic at the next heartbeat ends the loop.)
   *
   * @return false if the rejection is stale (answers an append sent before a newer decision) or
   *     cannot move nextIndex
   */
  boolean maybeDecrease(long rejected, long hint) {
    if (state == State.SNAPSHOT) {
      return false; // the snapshot's outcome decides what comes next
    }
    if (rejected <= match || (state == State.PROBE && rejected != next - 1)) {
      return false;
    }
    next = Math.max(match + 1, Math.min(hint, rejected));
    becomeProbe();
    return true;
  }

  /**
   * Back to one append at a time; the appends in flight are forgotten (their answers are stale).
   */
  private void becomeProbe() {
    state = State.PROBE;
    probeSent = false;
    pendingSnapshot = 0;
    inflight.clear();
  }

  /** §7: the follower needs compacted entries; a snapshot up to {@code index} is on its way. */
  void becomeSnapshot(long index) {
    becomeProbe();
    state = State.SNAPSHOT;
    pendingSnapshot = index;
  }

  /**
   * The driver reports how the transfer of snapshot {@code index} ended. Either way the follower is
   * probed again, at the next heartbeat rather than at once (a failed transfer is not retried in a
   * hot loop): just past the snapshot if it arrived, just past the match if it did not. A report
   * about another snapshot than the one in flight (an earlier transfer that outlived its turn, e.g.
   * one from before a leadership change) is ignored: it says nothing about this one, which reports
   * for itself.
   */
  void snapshotDone(long index, boolean delivered) {
    if (state != State.SNAPSHOT || index != pendingSnapshot) {
      return;
    }
    long after = delivered ? pendingSnapshot + 1 : match + 1;
    becomeProbe();
    next = Math.max(match + 1, after);
    probeSent = true;
  }

  /**
   * Streams from just past the match; a probing follower, or one a snapshot was sent to, has no
   * appends in flight.
   */
  void becomeReplicate() {
    state = State.REPLICATE;
    probeSent = false;
    pendingSnapshot = 0;
    next = match + 1;
  }
}
