package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static io.raftkv.raft.TestNetwork.log;
import static io.raftkv.raft.TestNetwork.state;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.RaftMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

/** §5.3 and §5.4.2 (committing entries from previous terms, Figure 8). */
class CommitmentTest {

  /**
   * §5.4.2, Figure 8: "Raft never commits log entries from previous terms by counting replicas.
   * Only log entries from the leader's current term are committed by counting replicas; once an
   * entry from the current term has been committed ... all prior entries are committed indirectly."
   *
   * <p>The setting of Figure 8 (c): S1 leads in term 4 with entry 2 of term 2, which only it holds;
   * S5 holds a conflicting entry 2 of term 3. S1 copies entry 2 to S2 and S3, so that a majority
   * stores it, but must not commit it (S5 could still be elected and overwrite it, Figure 8 (d))
   * until its term-4 entry reaches a majority too.
   */
  @Test
  void leaderDoesNotCommitEntryOfEarlierTermByCountingReplicas() {
    TestNetwork net =
        TestNetwork.restored(
            1,
            c -> c.withReplicationLimits(256, 1), // one entry per AppendEntries
            state(3, 1, log(1, 2)),
            state(3, 1, log(1)),
            state(3, 1, log(1)),
            state(3, 1, log(1)),
            state(3, 1, log(1, 3)));
    // No term-4 entry is accepted by anyone yet (those the follower would reject still arrive, so
    // that the leader walks back and sends entry 2 on its own).
    net.dropIf(
        m ->
            m.hasAppendRequest()
                && m.getAppendRequest().getEntriesList().stream().anyMatch(e -> e.getTerm() == 4)
                && m.getAppendRequest().getPrevLogIndex() <= net.raft(m.getTo()).lastIndex());
    net.isolate(4, 5);
    net.elect(1);
    assertThat(net.raft(1).term()).isEqualTo(4);
    net.deliverAll();
    // Entry 2 (term 2) is now on S1, S2 and S3: a majority of five.
    for (int id : List.of(2, 3)) {
      assertThat(net.node(id).storage.entries).extracting(Entry::getTerm).containsExactly(1L, 2L);
      assertThat(net.raft(1).status().peers().get(id).matchIndex()).isEqualTo(2);
    }
    assertThat(net.raft(1).commitIndex()).isEqualTo(1);
    assertThat(net.node(1).applied).extracting(Entry::getIndex).containsExactly(1L);

    // Once the no-op of term 4 reaches a majority, entry 2 is committed with it.
    net.heal();
    net.isolate(4, 5);
    net.tickAll(3);
    assertThat(net.raft(1).commitIndex()).isEqualTo(3);
    assertThat(net.node(1).applied).extracting(Entry::getIndex).containsExactly(1L, 2L, 3L);
    assertThat(net.node(1).applied.get(1).getTerm()).isEqualTo(2);

    // Figure 8 (e): S5 can no longer win, since a majority stores a log more up-to-date than its.
    net.heal();
    net.isolate(1);
    net.raft(5).campaign(); // term 4: S2 and S3 already voted in it
    net.deliverAll();
    net.raft(5).campaign(); // term 5: S2 and S3 refuse its log (last term 3 < 4)
    net.deliverAll();
    assertThat(net.raft(5).term()).isEqualTo(5);
    assertThat(net.raft(5).role()).isNotEqualTo(Role.LEADER);
    assertThat(net.raft(2).status().votedFor()).isNotEqualTo(5);
    assertThat(net.raft(3).status().votedFor()).isNotEqualTo(5);
  }

  /**
   * §5.3: "The leader keeps track of the highest index it knows to be committed, and it includes
   * that index in future AppendEntries RPCs". Here the new commit index leaves in the very Ready
   * after the acknowledgement that commits it, not with the next heartbeat.
   */
  @Test
  void newCommitIndexReachesFollowersAtOnce() {
    TestNetwork net = TestNetwork.create(3, 2);
    net.elect(1);
    net.raft(1).propose(data("x"));
    // Deliver the append to the followers, and only node 2's answer back.
    List<RaftMessage> appends = net.take(m -> m.getFrom() == 1 && m.hasAppendRequest());
    assertThat(appends).hasSize(2);
    appends.forEach(net::deliver);
    net.flush();
    List<RaftMessage> acks = net.take(m -> m.getTo() == 1);
    assertThat(acks).hasSize(2);
    net.deliver(acks.get(0));
    assertThat(net.raft(1).commitIndex()).isEqualTo(2);

    Ready rd = net.raft(1).ready();
    assertThat(rd.hardState().getCommit()).isEqualTo(2);
    assertThat(rd.committedEntries()).extracting(Entry::getIndex).containsExactly(2L);
    assertThat(rd.messages())
        .filteredOn(RaftMessage::hasAppendRequest)
        .extracting(RaftMessage::getTo, m -> m.getAppendRequest().getLeaderCommit())
        .contains(tuple(2, 2L), tuple(3, 2L));
    net.raft(1).advance(rd);
    for (RaftMessage m : rd.messages()) {
      net.deliver(m);
    }
    net.flush();
    assertThat(net.raft(2).commitIndex()).isEqualTo(2);
    assertThat(net.raft(3).commitIndex()).isEqualTo(2);
    assertThat(net.node(3).applied).extracting(Entry::getIndex).containsExactly(1L, 2L);
  }

  /**
   * §5.3, the commit index "in future AppendEntries RPCs": a follower that was being probed when
   * the commit index moved (its pipeline paused) learns it as soon as it catches up, not one
   * heartbeat later. Follower 2 lacks entry 3 of 4; follower 3 commits the new leader's no-op
   * first.
   */
  @Test
  void followerThatCatchesUpLearnsCommitIndexWithoutWaitingForHeartbeat() {
    TestNetwork net =
        TestNetwork.restored(
            1,
            c -> c,
            state(2, 1, log(1, 2, 2)),
            state(2, 1, log(1, 2)),
            state(2, 1, log(1, 2, 2)));
    net.elect(1);
    net.deliverAll(); // no ticks: no heartbeat
    assertThat(net.raft(1).commitIndex()).isEqualTo(4);
    assertThat(net.raft(2).lastIndex()).isEqualTo(4);
    assertThat(net.raft(2).commitIndex()).isEqualTo(4);
    assertThat(net.node(2).applied).extracting(Entry::getIndex).containsExactly(1L, 2L, 3L, 4L);
  }

  /**
   * §5.3 / Figure 2: the leader counts its own copy only once it is durable: the entries of a Ready
   * are not committed before {@link Raft#advance} confirms they were persisted.
   */
  @Test
  void leaderCountsItsOwnEntryOnlyOnceDurable() {
    TestNetwork net = TestNetwork.create(1, 3);
    net.elect(1); // a single node commits its no-op alone, after persisting it
    assertThat(net.raft(1).commitIndex()).isEqualTo(1);
    net.raft(1).propose(data("x"));
    Ready rd = net.raft(1).ready();
    assertThat(rd.entries()).hasSize(1);
    assertThat(net.raft(1).commitIndex()).isEqualTo(1);
    net.raft(1).advance(rd);
    assertThat(net.raft(1).commitIndex()).isEqualTo(2);
  }

  /** §5.3: a leader commits once a majority (not all) stores the entry. */
  @Test
  void commitNeedsMajorityNotAll() {
    TestNetwork net = TestNetwork.create(5, 3);
    net.elect(1);
    net.isolate(4, 5);
    net.raft(1).propose(data("x"));
    net.deliverAll();
    assertThat(net.raft(1).commitIndex()).isEqualTo(2);
    net.isolate(3);
    net.raft(1).propose(data("y"));
    net.deliverAll();
    assertThat(net.raft(1).commitIndex()).isEqualTo(2); // only 2 of 5 store entry 3
    assertThat(net.raft(1).lastIndex()).isEqualTo(3);
  }
}
