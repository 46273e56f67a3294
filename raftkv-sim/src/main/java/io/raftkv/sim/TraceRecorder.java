package io.raftkv.sim;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.raft.Role;
import java.util.List;
import java.util.function.Consumer;

/**
 * Writes the cluster's trace as text lines, one per event, to a sink: for replaying a failing seed
 * with {@code --trace}, and for the determinism test (same seed, same lines).
 */
public final class TraceRecorder implements ClusterObserver {
  private final Consumer<String> sink;

  public TraceRecorder(Consumer<String> sink) {
    this.sink = sink;
  }

  /** A recorder that keeps the lines in {@code lines}. */
  public static TraceRecorder into(List<String> lines) {
    return new TraceRecorder(lines::add);
  }

  @Override
  public void roleChanged(long time, int node, Role role, long term) {
    sink.accept(time + " n" + node + " " + role + " term " + term);
  }

  @Override
  public void entriesPersisted(long time, int node, List<Entry> entries) {
    Entry first = entries.get(0);
    Entry last = entries.get(entries.size() - 1);
    sink.accept(
        time
            + " n"
            + node
            + " wrote ["
            + first.getIndex()
            + "/t"
            + first.getTerm()
            + " .. "
            + last.getIndex()
            + "/t"
            + last.getTerm()
            + "]");
  }

  @Override
  public void commitChanged(long time, int node, long commitIndex) {
    sink.accept(time + " n" + node + " commit " + commitIndex);
  }

  @Override
  public void entryApplied(long time, int node, Entry entry) {
    sink.accept(
        time
            + " n"
            + node
            + " apply "
            + entry.getIndex()
            + "/t"
            + entry.getTerm()
            + " "
            + entry.getData().toStringUtf8());
  }

  @Override
  public void snapshotLoaded(long time, int node, long snapshotIndex, List<Entry> log) {
    sink.accept(
        time
            + " n"
            + node
            + " snapshot "
            + snapshotIndex
            + " loaded, log now ends at "
            + log.size());
  }

  @Override
  public void crashed(long time, int node) {
    sink.accept(time + " n" + node + " CRASH");
  }

  @Override
  public void stoppedOnDataLoss(long time, int node, String reason) {
    sink.accept(time + " n" + node + " STOPPED: " + reason);
  }

  @Override
  public void restarted(long time, int node, List<Entry> log, HardState hardState) {
    sink.accept(
        time
            + " n"
            + node
            + " RESTART log "
            + log.size()
            + " term "
            + hardState.getCurrentTerm()
            + " commit "
            + hardState.getCommit());
  }

  @Override
  public void readStateEmitted(
      long time, int node, long context, long index, long maxCommitAtRequest) {
    sink.accept(
        time
            + " n"
            + node
            + " read "
            + context
            + " at "
            + index
            + " (>= "
            + maxCommitAtRequest
            + ")");
  }
}
