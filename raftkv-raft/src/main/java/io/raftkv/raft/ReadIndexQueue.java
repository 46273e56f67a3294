package io.raftkv.raft;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A leader's ReadIndex requests (§8) waiting for proof that it is still the leader.
 *
 * <p>A read recorded with round r becomes safe once a majority has answered an AppendEntries of
 * round r or later: those were sent after the read arrived, so no other leader had been elected
 * when the read's index was taken. All reads that arrive before the next Ready is handed out share
 * its round, so one exchange with a majority confirms a whole batch.
 */
final class ReadIndexQueue {
  private record Pending(long context, long index, long round) {}

  /** Reads that came before this leader committed an entry of its own term (§8). */
  private final ArrayDeque<Long> awaitingTermCommit = new ArrayDeque<>();

  private final ArrayDeque<Pending> awaitingQuorum = new ArrayDeque<>();

  void awaitTermCommit(long context) {
    awaitingTermCommit.add(context);
  }

  List<Long> drainAwaitingTermCommit() {
    List<Long> out = new ArrayList<>(awaitingTermCommit);
    awaitingTermCommit.clear();
    return out;
  }

  void awaitQuorum(long context, long index, long round) {
    awaitingQuorum.add(new Pending(context, index, round));
  }

  /** Moves every read whose round a quorum has confirmed to {@code out}, oldest first. */
  void release(long confirmedRound, List<ReadState> out) {
    while (!awaitingQuorum.isEmpty() && awaitingQuorum.peekFirst().round() <= confirmedRound) {
      Pending p = awaitingQuorum.pollFirst();
      out.add(new ReadState(p.context(), p.index()));
    }
  }

  int size() {
    return awaitingTermCommit.size() + awaitingQuorum.size();
  }

  void clear() {
    awaitingTermCommit.clear();
    awaitingQuorum.clear();
  }
}
