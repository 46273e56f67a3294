package io.raftkv.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.RaftMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * §8 (client interaction): the no-op entry of a new leader and linearizable reads without writing
 * to the log (ReadIndex): "First, a leader must have the latest information on which entries are
 * committed ... Raft handles this by having each leader commit a blank no-op entry into the log at
 * the start of its term. Second, a leader must check whether it has been deposed before processing
 * a read-only request ... by having the leader exchange heartbeat messages with a majority".
 */
class ReadIndexTest {

  /** §8: a new leader appends a blank no-op entry of its term, first thing. */
  @Test
  void newLeaderAppendsNoOpEntry() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.raft(1).campaign();
    net.deliverWave(); // vote requests in, votes back
    net.deliverWave(); // votes counted
    assertThat(net.raft(1).role()).isEqualTo(Role.LEADER);
    List<Entry> persisted = net.node(1).storage.entries;
    assertThat(persisted).hasSize(1);
    assertThat(persisted.get(0).getType()).isEqualTo(EntryType.ENTRY_NOOP);
    assertThat(persisted.get(0).getTerm()).isEqualTo(1);
    assertThat(persisted.get(0).getData().isEmpty()).isTrue();
    net.deliverAll();
    for (int id : net.ids()) {
      assertThat(net.node(id).applied)
          .extracting(Entry::getType)
          .containsExactly(EntryType.ENTRY_NOOP);
    }
  }

  /** §8: a read waits until the leader has committed an entry of its own term. */
  @Test
  void readWaitsForCommitOfAnEntryOfLeadersTerm() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.dropIf(RaftMessage::hasAppendRequest); // the no-op cannot be replicated yet
    net.elect(1);
    Raft leader = net.raft(1);
    assertThat(leader.readIndex(7)).isTrue();
    net.deliverAll();
    assertThat(net.node(1).readStates).isEmpty();
    assertThat(leader.commitIndex()).isZero();

    net.heal();
    net.tickAll(); // a heartbeat retries the no-op
    assertThat(leader.commitIndex()).isEqualTo(1);
    assertThat(net.node(1).readStates).containsExactly(new ReadState(7, 1));
  }

  /**
   * §8: the read needs a quorum of answers to a heartbeat round started after it arrived; answers
   * to an earlier round do not count.
   */
  @Test
  void readNeedsQuorumOfAcksForARoundStartedAfterIt() {
    TestNetwork net = TestNetwork.create(5, 1);
    net.elect(1);
    net.deliverAll();
    Raft leader = net.raft(1);
    leader.propose(TestNetwork.data("x"));
    net.deliverAll();
    assertThat(leader.commitIndex()).isEqualTo(2);

    // A heartbeat round goes out before the read; its answers arrive after.
    leader.tick();
    List<RaftMessage> earlier = net.take(m -> m.getFrom() == 1);
    assertThat(earlier).hasSize(4);
    assertThat(leader.readIndex(42)).isTrue();
    List<RaftMessage> readRound = net.take(m -> m.getFrom() == 1);
    assertThat(readRound).hasSize(4);
    long round = readRound.get(0).getAppendRequest().getRound();
    assertThat(earlier)
        .allSatisfy(m -> assertThat(m.getAppendRequest().getRound()).isLessThan(round));
    assertThat(readRound)
        .allSatisfy(m -> assertThat(m.getAppendRequest().getRound()).isEqualTo(round));

    earlier.forEach(net::deliver);
    net.take(m -> m.getTo() == 1).forEach(net::deliver);
    net.flush();
    assertThat(net.node(1).readStates).isEmpty();

    // One answer of the new round: two of five. Not enough.
    net.deliver(readRound.get(0));
    net.take(m -> m.getTo() == 1).forEach(net::deliver);
    net.flush();
    assertThat(net.node(1).readStates).isEmpty();

    // A second: three of five.
    net.deliver(readRound.get(1));
    net.take(m -> m.getTo() == 1).forEach(net::deliver);
    net.flush();
    assertThat(net.node(1).readStates).containsExactly(new ReadState(42, 2));
  }

  /** §8 batching: many reads in one Ready share one heartbeat broadcast and one quorum. */
  @Test
  void readsInOneReadyShareOneBroadcast() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    Raft leader = net.raft(1);
    for (long ctx = 1; ctx <= 5; ctx++) {
      assertThat(leader.readIndex(ctx)).isTrue();
    }
    List<RaftMessage> broadcast = net.take(m -> m.getFrom() == 1);
    assertThat(broadcast).hasSize(2).extracting(RaftMessage::getTo).containsExactly(2, 3);
    broadcast.forEach(net::deliver);
    net.deliverAll();
    assertThat(net.node(1).readStates)
        .extracting(ReadState::context)
        .containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(net.node(1).readStates).allSatisfy(rs -> assertThat(rs.index()).isEqualTo(1));

    // A read after that Ready starts a new round.
    leader.readIndex(6);
    assertThat(net.take(m -> m.getFrom() == 1)).hasSize(2);
  }

  /**
   * §8's heartbeat exchange rides on the Ready's own AppendEntries: a read that arrives with a
   * proposal costs no message of its own, and the answers to the entries release it.
   */
  @Test
  void readRidesOnTheEntriesOfItsReady() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    Raft leader = net.raft(1);
    leader.propose(TestNetwork.data("x"));
    assertThat(leader.readIndex(7)).isTrue();
    List<RaftMessage> out = net.take(m -> m.getFrom() == 1);
    assertThat(out)
        .extracting(RaftMessage::getTo, m -> m.getAppendRequest().getEntriesCount())
        .containsExactlyInAnyOrder(tuple(2, 1), tuple(3, 1));

    net.deliver(out.get(0)); // one follower's answer and the leader's own copy: a majority
    net.take(m -> m.getTo() == 1).forEach(net::deliver);
    net.flush();
    assertThat(net.node(1).readStates).containsExactly(new ReadState(7, 1));
  }

  /**
   * A message queued earlier in the same turn (here the new commit index, sent to node 2) leaves
   * with the Ready, after the read arrived, so it carries the read's round instead of the round it
   * was queued with, and its answer alone confirms the read; a follower that is sent nothing (here
   * node 3, whose pipeline is full) gets a heartbeat of its own.
   */
  @Test
  void messagesQueuedBeforeTheReadInTheSameReadyCarryItsRound() {
    TestNetwork net = TestNetwork.create(3, 1, c -> c.withReplicationLimits(1, 1 << 20));
    net.elect(1);
    net.deliverAll();
    Raft leader = net.raft(1);
    leader.propose(TestNetwork.data("x"));
    List<RaftMessage> entries = net.take(m -> m.getFrom() == 1);
    long before = entries.get(0).getAppendRequest().getRound();
    net.deliver(entries.stream().filter(m -> m.getTo() == 2).findFirst().orElseThrow());
    List<RaftMessage> answer = net.take(m -> m.getTo() == 1);
    assertThat(answer).hasSize(1);

    net.deliver(
        answer.get(0)); // commits index 2: the commit index goes to 2 (3's pipeline is full)
    assertThat(leader.commitIndex()).isEqualTo(2);
    assertThat(leader.readIndex(8)).isTrue();
    List<RaftMessage> out = net.take(m -> m.getFrom() == 1);
    assertThat(out).extracting(RaftMessage::getTo).containsExactlyInAnyOrder(2, 3);
    long round = out.get(0).getAppendRequest().getRound();
    assertThat(round).isGreaterThan(before);
    assertThat(out).allSatisfy(m -> assertThat(m.getAppendRequest().getRound()).isEqualTo(round));

    RaftMessage raised = out.stream().filter(m -> m.getTo() == 2).findFirst().orElseThrow();
    assertThat(raised.getAppendRequest().getLeaderCommit()).isEqualTo(2);
    net.deliver(raised);
    net.take(m -> m.getTo() == 1 && m.getFrom() == 2).forEach(net::deliver);
    net.flush();
    assertThat(net.node(1).readStates).containsExactly(new ReadState(8, 2));
  }

  /**
   * §8, the leadership check must be fresh: an answer to a heartbeat from an earlier term (here
   * from before the leader restarted, whose heartbeat rounds started again from zero) proves
   * nothing about the current one. Node 2 refuses a delayed term-1 heartbeat while in term 2; its
   * refusal (term 2) reaches node 1 only after 2 and 3 elected a new leader and committed a write.
   */
  @Test
  void staleAnswerFromEarlierTermDoesNotConfirmRead() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    for (long ctx = 1; ctx <= 5; ctx++) {
      net.raft(1).readIndex(ctx); // five Readys, five heartbeat rounds
      net.deliverAll();
    }
    net.raft(1).tick();
    List<RaftMessage> delayed = net.take(m -> m.getFrom() == 1 && m.getTo() == 2);
    assertThat(delayed).hasSize(1);
    assertThat(delayed.get(0).getAppendRequest().getRound()).isEqualTo(5);
    net.take(m -> true);

    net.restart(1, 0);
    net.elect(1); // term 2
    net.deliverAll();
    delayed.forEach(net::deliver);
    List<RaftMessage> refusal = net.take(m -> m.getFrom() == 2 && m.getTo() == 1);
    assertThat(refusal).hasSize(1);
    assertThat(refusal.get(0).getTerm()).isEqualTo(2);

    net.isolate(1);
    net.raft(2).campaign(); // term 3
    net.deliverAll();
    assertThat(net.raft(2).role()).isEqualTo(Role.LEADER);
    net.raft(2).propose(TestNetwork.data("write"));
    net.deliverAll();
    long committedElsewhere = net.raft(2).commitIndex();

    Raft old = net.raft(1);
    assertThat(old.role()).isEqualTo(Role.LEADER);
    assertThat(old.readIndex(99)).isTrue();
    net.flush();
    refusal.forEach(net::deliver);
    net.flush();
    assertThat(net.node(1).readStates)
        .as("a read at an index below %d would miss a committed write", committedElsewhere)
        .isEmpty();
  }

  /** Followers refuse reads: the caller redirects to the leader. */
  @Test
  void followerRefusesRead() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    assertThat(net.raft(2).readIndex(1)).isFalse();
  }

  /** A single-node cluster is its own quorum: the read is released at once. */
  @Test
  void singleNodeReleasesReadAtOnce() {
    TestNetwork net = TestNetwork.create(1, 1);
    net.elect(1);
    net.raft(1).readIndex(9);
    net.flush();
    assertThat(net.node(1).readStates).containsExactly(new ReadState(9, 1));
  }

  /**
   * §8: "a leader must check whether it has been deposed before processing a read-only request (its
   * information may be stale if a more recent leader has been elected)". A leader cut off with a
   * minority, while the majority elects a new leader and commits a write, never releases a read.
   */
  @Test
  void deposedLeaderNeverReleasesRead() {
    TestNetwork net = TestNetwork.create(5, 3);
    net.elect(1);
    net.deliverAll();
    net.partition(List.of(1, 2), List.of(3, 4, 5));
    int ticks = 0;
    while (net.leader() == null || net.leader() == 1) {
      net.tickAll();
      assertThat(++ticks).isLessThan(200);
    }
    int newLeader = net.leader();
    assertThat(List.of(3, 4, 5)).contains(newLeader);
    assertThat(net.raft(newLeader).propose(TestNetwork.data("new"))).isPositive();
    net.deliverAll();

    Raft old = net.raft(1);
    assertThat(old.role()).isEqualTo(Role.LEADER); // it does not know yet (no CheckQuorum here)
    assertThat(old.readIndex(99)).isTrue();
    net.tickAll(50);
    assertThat(net.node(1).readStates).isEmpty();

    net.heal();
    net.tickAll(50);
    assertThat(old.role()).isNotEqualTo(Role.LEADER);
    assertThat(net.node(1).readStates).isEmpty();
    assertThat(net.node(1).softStates).last().extracting(SoftState::role).isEqualTo(Role.FOLLOWER);
  }
}
