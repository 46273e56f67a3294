package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static io.raftkv.raft.TestNetwork.ids;
import static io.raftkv.raft.TestNetwork.paperConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RequestVoteRequest;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Ready/advance contract between the core and its driver, and Figure 2's "Persistent state on
 * all servers (updated on stable storage before responding to RPCs)": what a node persisted is
 * enough to rebuild it after a crash.
 */
class ReadyContractTest {

  /** Ready contract: a Ready is acknowledged with advance() before the next one is taken. */
  @Test
  void readyTwiceWithoutAdvanceThrows() {
    Raft r = new Raft(paperConfig(1, ids(3)), new SplittableRandom(1), PersistentState.empty());
    r.campaign();
    Ready rd = r.ready();
    assertThatThrownBy(r::ready)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("advance()");
    assertThat(r.hasReady()).isFalse(); // nothing more is handed out until advance
    r.advance(rd);
    assertThatThrownBy(() -> r.advance(rd)).isInstanceOf(IllegalStateException.class);
  }

  /** Ready contract: advance() takes exactly the Ready last handed out. */
  @Test
  void advanceWithForeignReadyThrows() {
    Raft r = new Raft(paperConfig(1, ids(3)), new SplittableRandom(1), PersistentState.empty());
    r.campaign();
    r.ready();
    Ready other =
        new Ready(null, null, null, List.of(), List.of(), List.of(), List.of(), false, false);
    assertThatThrownBy(() -> r.advance(other)).isInstanceOf(IllegalStateException.class);
  }

  /** A misrouted message is a driver bug: refused loudly. */
  @Test
  void messageForAnotherNodeIsRefused() {
    Raft r = new Raft(paperConfig(1, ids(3)), new SplittableRandom(1), PersistentState.empty());
    RaftMessage m =
        RaftMessage.newBuilder()
            .setFrom(2)
            .setTo(3)
            .setTerm(1)
            .setVoteRequest(RequestVoteRequest.getDefaultInstance())
            .build();
    assertThatThrownBy(() -> r.step(m)).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * Dissertation §4.2.1: "servers process incoming RPC requests without consulting their current
   * configurations": a voter this node does not know of yet (the entry adding it is not in its log)
   * may need its vote. Keeping strangers out is the transport's job (peer identity).
   */
  @Test
  void aVoteRequestFromANodeNotInOurConfigurationIsAnswered() {
    Raft r = new Raft(paperConfig(1, ids(3)), new SplittableRandom(1), PersistentState.empty());
    r.step(
        RaftMessage.newBuilder()
            .setFrom(7)
            .setTo(1)
            .setTerm(5)
            .setVoteRequest(RequestVoteRequest.getDefaultInstance())
            .build());
    assertThat(r.term()).isEqualTo(5);
    assertThat(r.ready().messages())
        .singleElement()
        .satisfies(
            m -> {
              assertThat(m.getTo()).isEqualTo(7);
              assertThat(m.getVoteResponse().getVoteGranted()).isTrue();
            });
  }

  /** A message that claims to come from this node itself is dropped. */
  @Test
  void aMessageFromOurOwnIdIsIgnored() {
    Raft r = new Raft(paperConfig(1, ids(3)), new SplittableRandom(1), PersistentState.empty());
    r.step(
        RaftMessage.newBuilder()
            .setFrom(1)
            .setTo(1)
            .setTerm(5)
            .setVoteRequest(RequestVoteRequest.getDefaultInstance())
            .build());
    assertThat(r.term()).isZero();
    assertThat(r.hasReady()).isFalse();
  }

  /** A Ready with nothing new in it is never handed out; an idle follower has none. */
  @Test
  void idleNodeHasNoReady() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    assertThat(net.raft(2).hasReady()).isFalse();
    assertThat(net.raft(1).hasReady()).isFalse();
  }

  /** Only term/vote changes and new entries need an fsync; a commit index alone does not. */
  @Test
  void mustSyncOnlyForTermVoteOrEntries() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    net.raft(1).propose(data("x"));
    Ready leaderRd = net.raft(1).ready();
    assertThat(leaderRd.mustSync()).isTrue();
    assertThat(leaderRd.entries()).hasSize(1);
    net.raft(1).advance(leaderRd);
    leaderRd.messages().forEach(net::deliver);
    Ready followerRd = net.raft(2).ready();
    assertThat(followerRd.mustSync()).isTrue(); // it appended the entry
    net.raft(2).advance(followerRd);
    followerRd.messages().forEach(net::deliver);
    net.flush(); // the leader commits, and tells the followers
    net.take(m -> m.getTo() == 2).forEach(net::deliver);
    Ready commitOnly = net.raft(2).ready();
    assertThat(commitOnly.entries()).isEmpty();
    assertThat(commitOnly.hardState().getCommit()).isEqualTo(2);
    assertThat(commitOnly.mustSync()).isFalse();
    net.raft(2).advance(commitOnly);
  }

  /**
   * Thesis §10.2.1: only a leader's Ready may send before persisting; a candidate's votes and a
   * follower's acknowledgements promise durability and must wait for the fsync.
   */
  @Test
  void onlyALeaderMaySendBeforePersisting() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.raft(1).campaign();
    Ready candidateRd = net.raft(1).ready();
    assertThat(candidateRd.messages()).isNotEmpty();
    assertThat(candidateRd.sendBeforePersist()).isFalse(); // its term and vote must be durable
    net.raft(1).advance(candidateRd);
    candidateRd.messages().forEach(net::deliver);
    Ready voterRd = net.raft(2).ready();
    assertThat(voterRd.sendBeforePersist()).isFalse();
    net.raft(2).advance(voterRd);
    net.deliverAll();
    assertThat(net.raft(1).role()).isEqualTo(Role.LEADER);

    net.raft(1).propose(data("x"));
    Ready leaderRd = net.raft(1).ready();
    assertThat(leaderRd.entries()).hasSize(1);
    assertThat(leaderRd.sendBeforePersist()).isTrue();
    leaderRd.messages().forEach(net::deliver);
    Ready followerRd = net.raft(2).ready();
    assertThat(followerRd.entries()).hasSize(1);
    assertThat(followerRd.sendBeforePersist()).isFalse();
  }

  /**
   * §10.2.1 keeps commitment safe: with its appends sent before its own fsync, a leader of five
   * counts its own copy only after advance(). Two followers' acknowledgements are not a majority
   * then; they are once the leader's copy is stable.
   */
  @Test
  void leaderCountsItsOwnCopyOnlyAfterAdvance() {
    TestNetwork net = TestNetwork.create(5, 1);
    net.elect(1);
    long committed = net.raft(1).status().commitIndex();
    long index = net.raft(1).propose(data("x"));
    Ready leaderRd = net.raft(1).ready();
    assertThat(leaderRd.sendBeforePersist()).isTrue();
    for (RaftMessage m : leaderRd.messages()) {
      if (m.getTo() == 2 || m.getTo() == 3) {
        net.deliver(m);
      }
    }
    for (int follower : List.of(2, 3)) {
      Ready rd = net.raft(follower).ready();
      net.raft(follower).advance(rd);
      rd.messages().forEach(net.raft(1)::step);
    }
    assertThat(net.raft(1).status().commitIndex()).isEqualTo(committed); // 2 of 5 are durable
    net.raft(1).advance(leaderRd);
    assertThat(net.raft(1).status().commitIndex()).isEqualTo(index); // 3 of 5 now
  }

  /** §10.2.1: with three nodes, two followers' copies commit an entry the leader has not synced. */
  @Test
  void followersMajorityCommitsBeforeTheLeadersFsync() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    long index = net.raft(1).propose(data("x"));
    Ready leaderRd = net.raft(1).ready();
    leaderRd.messages().forEach(net::deliver);
    for (int follower : List.of(2, 3)) {
      Ready rd = net.raft(follower).ready();
      net.raft(follower).advance(rd);
      rd.messages().forEach(net.raft(1)::step);
    }
    assertThat(net.raft(1).status().commitIndex()).isEqualTo(index);
    net.raft(1).advance(leaderRd);
  }

  /** Figure 2: a node rebuilt from what it persisted keeps its term, vote, log and commit index. */
  @Test
  void restartedNodeKeepsTermVoteLogAndCommit() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    for (int i = 0; i < 3; i++) {
      net.raft(1).propose(data("v" + i));
    }
    net.deliverAll();
    for (int id : net.ids()) {
      RaftStatus before = net.raft(id).status();
      List<Entry> applied = List.copyOf(net.node(id).applied);
      net.restart(id, 0);
      RaftStatus after = net.raft(id).status();
      assertThat(after.term()).isEqualTo(before.term());
      assertThat(after.votedFor()).isEqualTo(before.votedFor());
      assertThat(after.lastIndex()).isEqualTo(before.lastIndex());
      assertThat(after.lastTerm()).isEqualTo(before.lastTerm());
      assertThat(after.commitIndex()).isEqualTo(4);
      assertThat(after.role()).isEqualTo(Role.FOLLOWER);
      // The state machine, rebuilt from nothing, is handed the committed entries again.
      net.flush();
      assertThat(net.node(id).applied).isEqualTo(applied);
    }
    // The cluster goes on after every node restarted.
    net.elect(2);
    net.raft(2).propose(data("after"));
    net.deliverAll();
    assertThat(net.raft(3).commitIndex()).isEqualTo(6);
  }

  /** A state machine that kept its applied index is not handed those entries again. */
  @Test
  void restartWithAppliedIndexSkipsAppliedEntries() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.raft(1).propose(data("a"));
    net.raft(1).propose(data("b"));
    net.deliverAll();
    net.restart(2, 2);
    Ready rd = net.raft(2).ready();
    assertThat(rd.committedEntries()).extracting(Entry::getIndex).containsExactly(3L);
    assertThat(rd.entries()).isEmpty(); // the restored log is durable already
    net.raft(2).advance(rd);
    assertThat(net.raft(2).status().appliedIndex()).isEqualTo(3);
  }

  /**
   * §5.2 + Figure 2: the vote survives a crash, so a restarted voter cannot vote twice in a term.
   */
  @Test
  void restartedNodeDoesNotVoteTwiceInATerm() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.isolate(2);
    net.raft(1).campaign();
    net.deliverAll(); // 3 votes for 1 in term 1
    assertThat(net.raft(3).status().votedFor()).isEqualTo(1);
    net.restart(3, 0);
    assertThat(net.raft(3).term()).isEqualTo(1);
    assertThat(net.raft(3).status().votedFor()).isEqualTo(1);
    net.raft(3)
        .step(
            RaftMessage.newBuilder()
                .setFrom(2)
                .setTo(3)
                .setTerm(1)
                .setVoteRequest(
                    RequestVoteRequest.newBuilder().setLastLogIndex(5).setLastLogTerm(1))
                .build());
    List<RaftMessage> answer = net.take(m -> m.getFrom() == 3);
    assertThat(answer).hasSize(1);
    assertThat(answer.get(0).getVoteResponse().getVoteGranted()).isFalse();
  }

  /** A restored log must be contiguous from index 1, and its commit index within it. */
  @Test
  void corruptPersistentStateIsRefused() {
    RaftConfig c = paperConfig(1, ids(3));
    assertThatThrownBy(
            () ->
                new Raft(
                    c,
                    new SplittableRandom(1),
                    new PersistentState(
                        io.raftkv.proto.raft.HardState.getDefaultInstance(),
                        List.of(TestNetwork.entry(1, 1), TestNetwork.entry(3, 1)),
                        0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("index 3 where 2 was expected");
    assertThatThrownBy(
            () ->
                new Raft(
                    c, new SplittableRandom(1), TestNetwork.state(1, 5, TestNetwork.log(1, 1))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("beyond the last entry");
  }
}
