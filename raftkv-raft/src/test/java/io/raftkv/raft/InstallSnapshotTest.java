package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.log;
import static io.raftkv.raft.TestNetwork.state;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.AppendEntriesResponse;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.InstallSnapshotRequest;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Figure 13, the InstallSnapshot receiver, on node 2 of a 3-node cluster, with messages from a
 * leader (node 1) written by hand. The core sees metadata only; the test network stages the state
 * machine the message carries, as the server's snapshot stream does.
 */
class InstallSnapshotTest {

  private static SnapshotMeta meta(long index, long term) {
    return SnapshotMeta.newBuilder().setIndex(index).setTerm(term).build();
  }

  private static RaftMessage install(long term, long index, long snapshotTerm) {
    return RaftMessage.newBuilder()
        .setFrom(1)
        .setTo(2)
        .setTerm(term)
        .setInstallSnapshot(InstallSnapshotRequest.newBuilder().setMeta(meta(index, snapshotTerm)))
        .build();
  }

  /** The state machine a snapshot up to {@code index} of terms {@code terms} carries. */
  private static List<Entry> data(long... terms) {
    return log(terms);
  }

  /** The one answer node 2 sent, undelivered. */
  private static AppendEntriesResponse answer(TestNetwork net) {
    List<RaftMessage> out = net.take(m -> m.getFrom() == 2);
    assertThat(out).hasSize(1);
    assertThat(out.get(0).hasAppendResponse()).isTrue();
    return out.get(0).getAppendResponse();
  }

  /** Node 2 restored with {@code terms} as its log, {@code commit} committed, in term 3. */
  private static TestNetwork follower(long commit, long... terms) {
    return TestNetwork.restored(
        1, c -> c, state(3, 0, List.of()), state(3, commit, log(terms)), state(3, 0, List.of()));
  }

  @Test
  void aSnapshotNewerThanTheCommitIndexReplacesTheStateMachine() {
    TestNetwork net = follower(0);
    net.deliverSnapshot(install(3, 5, 2), data(1, 1, 2, 2, 2));
    net.flush();

    assertThat(net.node(2).installed).containsExactly(meta(5, 2));
    assertThat(net.node(2).applied).extracting(Entry::getIndex).containsExactly(1L, 2L, 3L, 4L, 5L);
    RaftStatus st = net.raft(2).status();
    assertThat(st.snapshotIndex()).isEqualTo(5);
    assertThat(st.commitIndex()).isEqualTo(5);
    assertThat(st.appliedIndex()).isEqualTo(5);
    assertThat(st.lastIndex()).isEqualTo(5);
    assertThat(st.lastTerm()).isEqualTo(2);
    assertThat(st.leaderId()).isEqualTo(1);
    AppendEntriesResponse a = answer(net);
    assertThat(a.getSuccess()).isTrue();
    assertThat(a.getMatchIndex()).isEqualTo(5);
  }

  /**
   * Figure 13, rule 6's other side: a snapshot the log already covers is stale (or a duplicate).
   */
  @Test
  void aSnapshotNoNewerThanTheCommitIndexIsIgnored() {
    TestNetwork net = follower(4, 1, 1, 2, 2, 2, 3);
    net.flush();
    net.deliverSnapshot(install(3, 3, 2), data(1, 1, 2));
    net.flush();

    assertThat(net.node(2).installed).isEmpty();
    assertThat(net.raft(2).status().snapshotIndex()).isZero();
    assertThat(net.raft(2).lastIndex()).isEqualTo(6);
    AppendEntriesResponse a = answer(net);
    assertThat(a.getSuccess()).isTrue();
    assertThat(a.getMatchIndex()).as("the commit index: it matches the leader's").isEqualTo(4);
  }

  @Test
  void aDuplicateSnapshotIsIgnored() {
    TestNetwork net = follower(0);
    RaftMessage m = install(3, 5, 2);
    net.deliverSnapshot(m, data(1, 1, 2, 2, 2));
    net.flush();
    net.take(x -> true);
    net.deliverSnapshot(m, data(1, 1, 2, 2, 2));
    net.flush();

    assertThat(net.node(2).installed).hasSize(1);
    assertThat(answer(net).getMatchIndex()).isEqualTo(5);
  }

  /**
   * Figure 13, rule 6: "If existing log entry has same index and term as snapshot's last included
   * entry, retain log entries following it".
   */
  @Test
  void aSnapshotWhoseLastEntryMatchesKeepsTheSuffix() {
    TestNetwork net = follower(2, 1, 1, 2, 2, 2, 3, 3);
    net.flush();
    net.deliverSnapshot(install(3, 5, 2), data(1, 1, 2, 2, 2));
    net.flush();

    assertThat(net.node(2).installed).containsExactly(meta(5, 2));
    assertThat(net.raft(2).lastIndex()).isEqualTo(7);
    assertThat(net.node(2).storage.entries).extracting(Entry::getIndex).containsExactly(6L, 7L);
    assertThat(net.raft(2).commitIndex()).isEqualTo(5);
    // The answer claims the snapshot only: the suffix is not proven to be the leader's.
    assertThat(answer(net).getMatchIndex()).isEqualTo(5);
  }

  /** Figure 13, rule 7: "Discard the entire log" when its entry at the index differs. */
  @Test
  void aSnapshotThatConflictsDiscardsTheWholeLog() {
    TestNetwork net = follower(2, 1, 1, 1, 1, 1, 1, 1);
    net.flush();
    net.deliverSnapshot(install(3, 5, 2), data(1, 1, 2, 2, 2));
    net.flush();

    assertThat(net.raft(2).lastIndex()).isEqualTo(5);
    assertThat(net.raft(2).status().lastTerm()).isEqualTo(2);
    assertThat(net.node(2).storage.entries).isEmpty();
    assertThat(net.node(2).storage.start).isEqualTo(meta(5, 2));
  }

  @Test
  void aSnapshotBeyondTheLogDiscardsTheWholeLog() {
    TestNetwork net = follower(2, 1, 1, 1);
    net.flush();
    net.deliverSnapshot(install(3, 5, 2), data(1, 1, 2, 2, 2));
    net.flush();

    assertThat(net.raft(2).lastIndex()).isEqualTo(5);
    assertThat(net.node(2).storage.entries).isEmpty();
  }

  /** Figure 2's rule for all RPCs: a stale term is refused, and its sender learns the new term. */
  @Test
  void aSnapshotFromAStaleTermIsRefused() {
    TestNetwork net = follower(0);
    net.deliverSnapshot(install(2, 5, 2), data(1, 1, 2, 2, 2));
    net.flush();

    assertThat(net.node(2).installed).isEmpty();
    List<RaftMessage> out = net.take(m -> m.getFrom() == 2);
    assertThat(out).hasSize(1);
    assertThat(out.get(0).getTerm()).isEqualTo(3);
    assertThat(out.get(0).getAppendResponse().getSuccess()).isFalse();
  }

  /** As AppendEntries does (§5.2), a snapshot from a newer term's leader makes the node follow. */
  @Test
  void aSnapshotFromANewerTermMakesACandidateFollowItsSender() {
    TestNetwork net = follower(0);
    net.raft(2).campaign();
    net.take(m -> true);
    assertThat(net.raft(2).role()).isEqualTo(Role.CANDIDATE);
    net.deliverSnapshot(install(9, 5, 2), data(1, 1, 2, 2, 2));
    net.flush();

    assertThat(net.raft(2).role()).isEqualTo(Role.FOLLOWER);
    assertThat(net.raft(2).term()).isEqualTo(9);
    assertThat(net.raft(2).leaderId()).isEqualTo(1);
    assertThat(net.node(2).installed).hasSize(1);
  }

  /**
   * A leader that does not yet know of the snapshot may send entries from before it: they are
   * committed, hence the leader's, so the follower matches at the snapshot and appends the rest.
   */
  @Test
  void anAppendFromBeforeTheSnapshotMatchesAtTheSnapshot() {
    TestNetwork net = follower(0);
    net.deliverSnapshot(install(3, 5, 2), data(1, 1, 2, 2, 2));
    net.flush();
    net.take(m -> true);

    net.deliver(
        RaftMessage.newBuilder()
            .setFrom(1)
            .setTo(2)
            .setTerm(3)
            .setAppendRequest(
                AppendEntriesRequest.newBuilder()
                    .setPrevLogIndex(3)
                    .setPrevLogTerm(2)
                    .addAllEntries(log(1, 1, 2, 2, 2, 3).subList(3, 6))
                    .setLeaderCommit(6))
            .build());
    net.flush();

    assertThat(net.raft(2).lastIndex()).isEqualTo(6);
    assertThat(net.raft(2).commitIndex()).isEqualTo(6);
    assertThat(net.node(2).applied).hasSize(6);
    AppendEntriesResponse a = answer(net);
    assertThat(a.getSuccess()).isTrue();
    assertThat(a.getMatchIndex()).isEqualTo(6);
  }

  /** The Ready contract: the snapshot is installed, then the log compacted, before any reply. */
  @Test
  void theSnapshotIsInstalledBeforeTheLogIsCompactedAndBeforeTheAnswerGoesOut() {
    TestNetwork net = follower(0, 1, 1);
    net.flush();
    net.node(2).events.clear();
    net.deliverSnapshot(install(3, 5, 2), data(1, 1, 2, 2, 2));
    net.flush();

    assertThat(net.node(2).events)
        .startsWith("install snapshot 5", "compact to 5")
        .contains("send APPEND_RESPONSE to 1");
  }
}
