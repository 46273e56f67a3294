package io.raftkv.server;

import io.raftkv.node.NodeRuntime;
import io.raftkv.proto.kvs.KvCommand;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.Role;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * The leader's half of lost-data detection: records through the log which members have held data
 * (kvs.proto's RecordDataHolders), so that every replica can later tell a member that starts again
 * with an empty data directory that it lost that data ({@link LostDataCheck}). A member holds data
 * once it has acknowledged an entry (its match index is positive, Figure 2); the leader holds its
 * own log. One entry per new holder, over a cluster's life; a lost proposal is proposed again at
 * the next {@link #check}.
 *
 * <p>Thread-safety: the node's loop only.
 */
final class DataHolderRecorder {
  private final Supplier<SortedSet<Integer>> recorded;

  /** Proposed and not yet settled: not proposed again meanwhile. */
  private final Set<Integer> inFlight = new TreeSet<>();

  /**
   * @param recorded the holders the state machine has applied so far
   */
  DataHolderRecorder(Supplier<SortedSet<Integer>> recorded) {
    this.recorded = recorded;
  }

  /** On a leader, proposes the members that hold data and are not recorded yet. */
  void check(NodeRuntime<?> runtime) {
    RaftStatus status = runtime.status();
    if (status.role() != Role.LEADER) {
      return;
    }
    SortedSet<Integer> holders = new TreeSet<>();
    holders.add(status.id());
    status
        .peers()
        .forEach(
            (id, p) -> {
              if (p.matchIndex() > 0) {
                holders.add(id);
              }
            });
    holders.removeAll(recorded.get());
    holders.removeAll(inFlight);
    if (holders.isEmpty()) {
      return;
    }
    KvCommand command =
        KvCommand.newBuilder()
            .setRecordDataHolders(KvCommand.RecordDataHolders.newBuilder().addAllNodeIds(holders))
            .build();
    inFlight.addAll(holders);
    // Whatever the outcome (applied, or lost with leadership), the next check sees what the state
    // machine holds and proposes again what is missing.
    runtime.propose(command.toByteString(), outcome -> inFlight.removeAll(holders));
  }
}
