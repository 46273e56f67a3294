package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The driver's side of the Ready contract, as {@link ReadyProcessor} carries it out: persist before
 * send (Figure 2: "respond to RPCs" only after updating stable storage), except a leader's appends
 * (dissertation §10.2.1), then apply, then advance.
 */
class ReadyProcessorTest {

  /**
   * A single node commits its entry only once it is durable, in the Ready after the one that
   * persisted it (§5.3: stored on a majority, here itself): drain carries out Readys until none is
   * left, so the entry is applied before it returns.
   */
  @Test
  void drainCarriesOutReadysUntilNoneIsLeft() {
    List<String> events = new ArrayList<>();
    TestNetwork.MemoryStorage storage = new TestNetwork.MemoryStorage(events);
    List<Entry> applied = new ArrayList<>();
    Raft r =
        new Raft(
            TestNetwork.paperConfig(1, List.of(1)),
            new SplittableRandom(1),
            PersistentState.empty());
    ReadyProcessor processor =
        new ReadyProcessor(
            storage, messages -> {}, (soft, committed, reads) -> applied.addAll(committed));
    r.campaign();
    r.propose(data("x"));
    processor.drain(r);
    assertThat(r.hasReady()).isFalse();
    assertThat(applied)
        .extracting(Entry::getType)
        .containsExactly(EntryType.ENTRY_NOOP, EntryType.ENTRY_NORMAL);
    assertThat(processor.processOne(r)).isFalse();
  }

  /**
   * Dissertation §10.2.1: a leader's appends go out before its own write of the same entries, so
   * the followers' fsyncs overlap with its own; a follower's acknowledgement waits for its write.
   */
  @Test
  void leaderSendsItsAppendsBeforeItsOwnWriteAndFollowersAfterTheirs() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    List<String> leader = net.node(1).events;
    List<String> follower = net.node(2).events;
    leader.clear();
    follower.clear();
    net.raft(1).propose(data("x"));
    net.deliverWave();
    assertThat(leader)
        .containsExactly(
            "send APPEND_REQUEST to 2",
            "send APPEND_REQUEST to 3",
            "persist term=1 vote=1 entries=1 sync=true");
    assertThat(follower)
        .containsExactly("persist term=1 vote=1 entries=1 sync=true", "send APPEND_RESPONSE to 1");
  }

  /**
   * The applier hears of every change of role or leader (the soft state), even in a Ready with
   * nothing to apply: that is how a server learns it leads, or where to redirect clients.
   */
  @Test
  void everyRoleChangeReachesTheApplier() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    assertThat(net.node(1).softStates)
        .containsExactly(
            new SoftState(Role.CANDIDATE, RaftConfig.NONE), new SoftState(Role.LEADER, 1));
    assertThat(net.node(2).softStates).containsExactly(new SoftState(Role.FOLLOWER, 1));
  }
}
