package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.RaftMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * §5.3 replication flow control: the leader pipelines AppendEntries to a follower it knows to be in
 * step (at most maxInflightAppends unacknowledged) and caps each message's entries at
 * maxMessageBytes, except a single entry larger than the cap, which travels alone.
 */
class ReplicationFlowControlTest {

  private static boolean carriesEntriesTo(RaftMessage m, int to) {
    return m.getTo() == to && m.hasAppendRequest() && m.getAppendRequest().getEntriesCount() > 0;
  }

  /**
   * §5.3 pipelining: a replicating follower has at most maxInflightAppends unacknowledged appends;
   * each acknowledgement opens the window again.
   */
  @Test
  void atMostMaxInflightAppendsAreUnacknowledged() {
    TestNetwork net =
        TestNetwork.create(3, 1, c -> c.withReplicationLimits(2, 1)); // one entry per message
    net.elect(1);
    net.deliverAll(); // both followers acknowledged the no-op: replicating
    Raft leader = net.raft(1);
    assertThat(leader.status().peers().get(2).replicating()).isTrue();

    // Five proposals, each handed out in its own Ready, with nothing acknowledged.
    for (int i = 0; i < 5; i++) {
      leader.propose(data("v" + i));
      net.flush();
    }
    List<RaftMessage> toTwo = net.take(m -> carriesEntriesTo(m, 2));
    assertThat(toTwo).hasSize(2);
    assertThat(toTwo)
        .extracting(m -> m.getAppendRequest().getEntries(0).getIndex())
        .containsExactly(2L, 3L);
    assertThat(leader.status().peers().get(2).inflight()).isEqualTo(2);

    // Each acknowledgement opens the window for one more, never beyond two.
    long deliveredToTwo = 0;
    List<RaftMessage> pending = toTwo;
    while (!pending.isEmpty()) {
      for (RaftMessage m : pending) {
        net.deliver(m);
        deliveredToTwo++;
      }
      net.flush();
      for (RaftMessage ack : net.take(m -> m.getFrom() == 2)) {
        net.deliver(ack);
      }
      net.flush();
      assertThat(leader.status().peers().get(2).inflight()).isLessThanOrEqualTo(2);
      pending = net.take(m -> carriesEntriesTo(m, 2));
      assertThat(pending.size()).isLessThanOrEqualTo(2);
    }
    assertThat(deliveredToTwo).isEqualTo(5);
    assertThat(net.raft(2).lastIndex()).isEqualTo(6);
    net.deliverAll();
    assertThat(net.node(2).storage.entries).isEqualTo(net.node(1).storage.entries);
    assertThat(net.raft(2).commitIndex()).isEqualTo(6);
  }

  /** §5.3 batching: an AppendEntries carries at most maxMessageBytes, or one oversized entry. */
  @Test
  void entriesPerMessageRespectByteCapExceptSingleOversizedEntry() {
    long cap = 200;
    TestNetwork net = TestNetwork.create(3, 1, c -> c.withReplicationLimits(256, cap));
    net.elect(1);
    net.deliverAll();
    ByteString fifty = ByteString.copyFrom(new byte[50]);
    for (int i = 0; i < 20; i++) {
      net.raft(1).propose(fifty);
    }
    net.deliverAll();
    ByteString big = ByteString.copyFrom(new byte[1000]);
    long bigIndex = net.raft(1).propose(big);
    net.deliverAll();

    List<List<Entry>> batches =
        net.sent.stream()
            .filter(m -> m.hasAppendRequest() && m.getAppendRequest().getEntriesCount() > 0)
            .map(m -> m.getAppendRequest().getEntriesList())
            .toList();
    for (List<Entry> batch : batches) {
      long bytes = batch.stream().mapToLong(Entry::getSerializedSize).sum();
      if (batch.size() > 1) {
        assertThat(bytes).as("a batch of %d entries", batch.size()).isLessThanOrEqualTo(cap);
      } else {
        assertThat(batch.get(0).getSerializedSize() <= cap || batch.get(0).getData().equals(big))
            .isTrue();
      }
    }
    // The cap still lets several small entries share a message.
    assertThat(batches).anyMatch(b -> b.size() == 3);
    // The oversized entry went alone, and was replicated and committed.
    assertThat(batches).anyMatch(b -> b.size() == 1 && b.get(0).getIndex() == bigIndex);
    for (int id : net.ids()) {
      assertThat(net.node(id).storage.entries).isEqualTo(net.node(1).storage.entries);
      assertThat(net.raft(id).commitIndex()).isEqualTo(bigIndex);
    }
  }

  /**
   * §5.3 with flow control: "one message per follower, not per entry": proposals made before the
   * Ready is taken go out together.
   */
  @Test
  void proposalsBeforeOneReadyShareOneAppendPerFollower() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    for (int i = 0; i < 10; i++) {
      net.raft(1).propose(data("v" + i));
    }
    List<RaftMessage> appends = net.take(RaftMessage::hasAppendRequest);
    assertThat(appends).hasSize(2);
    assertThat(appends)
        .allSatisfy(m -> assertThat(m.getAppendRequest().getEntriesCount()).isEqualTo(10));
  }

  /**
   * §5.3: "the leader retries AppendEntries RPCs indefinitely": a replicating follower whose
   * appends, and then the heartbeat's gap-revealing empty append, were all lost still catches up
   * once the network heals, with no new proposal to push it.
   */
  @Test
  void pipelineRecoversAfterAppendsAndItsRetryAreLost() {
    TestNetwork net = TestNetwork.create(3, 1, c -> c.withReplicationLimits(1, 1 << 20));
    net.elect(1);
    net.deliverAll();
    net.dropIf(m -> m.getTo() == 3 && m.hasAppendRequest());
    net.raft(1).propose(data("x"));
    net.deliverAll();
    assertThat(net.raft(1).commitIndex()).isEqualTo(2);
    net.tickAll(3); // the append, the heartbeats and the retry at the pipeline's end: all lost
    net.heal();
    net.tickAll(5);
    assertThat(net.raft(3).lastIndex()).isEqualTo(2);
    assertThat(net.node(3).storage.entries).isEqualTo(net.node(1).storage.entries);
    assertThat(net.raft(3).commitIndex()).isEqualTo(2);
  }

  /**
   * While probing (§5.3, before the leader knows where the logs match) the leader sends one append
   * at a time; a lost probe is repeated at the next heartbeat.
   */
  @Test
  void probingFollowerGetsOneAppendAtATime() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.dropIf(m -> m.getTo() == 3 && m.hasAppendRequest());
    net.elect(1);
    assertThat(net.raft(1).status().peers().get(3).replicating()).isFalse();
    for (int i = 0; i < 5; i++) {
      net.raft(1).propose(data("v" + i));
      net.deliverAll();
    }
    long toThree = net.sent.stream().filter(m -> m.getTo() == 3 && m.hasAppendRequest()).count();
    assertThat(toThree).isEqualTo(1);
    net.heal();
    net.tickAll(2);
    assertThat(net.node(3).storage.entries).isEqualTo(net.node(1).storage.entries);
  }
}
