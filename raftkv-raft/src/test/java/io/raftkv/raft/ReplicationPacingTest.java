package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static io.raftkv.raft.TestNetwork.log;
import static io.raftkv.raft.TestNetwork.state;
import static io.raftkv.raft.TestNetwork.to;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.AppendEntriesResponse;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.RaftMessage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * §5.3 log replication, how the leader paces it: where it retries after a rejection, how it fills a
 * follower's pipeline once the logs agree, how many entries one message carries, and how released
 * entries come back from storage.
 */
class ReplicationPacingTest {

  /** The leader elected by campaigning at node 1, before its first appends are answered. */
  private static TestNetwork leaderWithProbesOutstanding(TestNetwork net) {
    net.raft(1).campaign();
    while (net.raft(1).role() != Role.LEADER) {
      net.deliverWave();
    }
    net.flush();
    return net;
  }

  private static List<AppendEntriesRequest> appendsTo(List<RaftMessage> messages) {
    return messages.stream()
        .filter(RaftMessage::hasAppendRequest)
        .map(RaftMessage::getAppendRequest)
        .toList();
  }

  /**
   * §5.3 with pipelining: while the leader probes a follower it sends one append at a time; once
   * the probe succeeds it streams everything the follower is missing at once, as many messages as
   * the limits allow, each carrying the commit index it knows (no extra message for it).
   */
  @Test
  void followerWhoseProbeSucceedsGetsAFullPipeline() {
    TestNetwork net =
        leaderWithProbesOutstanding(TestNetwork.create(3, 1, c -> c.withReplicationLimits(256, 1)));
    Raft r = net.raft(1);
    for (int i = 0; i < 4; i++) {
      r.propose(data("v" + i));
    }
    assertThat(net.take(to(2)))
        .as("the follower is probed: nothing more goes out")
        .hasSize(1)
        .allMatch(m -> m.getAppendRequest().getEntriesCount() == 1);
    // Node 2's answer was lost with that message: a heartbeat probes again.
    r.tick();
    List<RaftMessage> probe = net.take(to(2));
    assertThat(probe).hasSize(1);
    probe.forEach(net::deliver);
    net.take(m -> m.getFrom() == 2).forEach(net::deliver);
    List<AppendEntriesRequest> appends = appendsTo(net.take(to(2)));
    assertThat(appends).hasSize(4).allMatch(a -> a.getEntriesCount() == 1);
    assertThat(appends).extracting(a -> a.getEntries(0).getIndex()).containsExactly(2L, 3L, 4L, 5L);
    assertThat(r.status().peers().get(2).inflight()).isEqualTo(4);
  }

  /**
   * §5.3: a rejection sends the follower back to probing, and the appends that were in flight to it
   * are forgotten (their answers would be stale): a probing follower has none in flight.
   */
  @Test
  void rejectedFollowerIsProbedWithNothingInFlight() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    Raft r = net.raft(1);
    r.propose(data("a"));
    assertThat(net.take(to(2))).hasSize(1); // lost
    r.propose(data("b"));
    List<RaftMessage> second = net.take(to(2));
    assertThat(r.status().peers().get(2).inflight()).isEqualTo(2);
    second.forEach(net::deliver);
    List<RaftMessage> rejection = net.take(m -> m.getFrom() == 2);
    assertThat(rejection).singleElement().matches(m -> !m.getAppendResponse().getSuccess());
    rejection.forEach(net::deliver);
    RaftStatus.PeerProgress p = r.status().peers().get(2);
    assertThat(p.replicating()).isFalse();
    assertThat(p.inflight()).isZero();
    net.deliverAll();
    assertThat(net.raft(2).lastIndex()).isEqualTo(r.lastIndex());
    assertThat(r.status().peers().get(2).replicating()).isTrue();
  }

  /**
   * §5.3 accelerated backoff when the leader lacks the follower's conflicting term: it retries at
   * the first index the follower holds of that term, skipping the whole term in one round trip.
   */
  @Test
  void leaderWithoutTheConflictingTermRetriesAtTheFollowersFirstIndexOfIt() {
    TestNetwork net =
        TestNetwork.restored(
            1,
            c -> c,
            state(4, 3, log(1, 1, 1, 4, 4)),
            state(3, 3, log(1, 1, 1, 2, 2, 2, 3, 3)),
            state(4, 3, log(1, 1, 1, 4, 4)));
    net.elect(1);
    List<Long> prevIndexes =
        net.sent.stream()
            .filter(m -> m.getTo() == 2 && m.hasAppendRequest())
            .map(m -> m.getAppendRequest().getPrevLogIndex())
            .toList();
    // The first append (after index 5, term 4) is rejected: node 2 has term 2 there, from index
    // 4. The leader has no entry of term 2, so it retries right before node 2's first one.
    assertThat(prevIndexes).startsWith(5L, 3L);
    assertThat(net.node(2).storage.entries).isEqualTo(net.node(1).storage.entries);
  }

  /**
   * §5.3 batching: an AppendEntries carries entries up to exactly maxMessageBytes (the limit is
   * inclusive), both from memory and when read back from storage for a follower that lags.
   */
  @Test
  void appendCarriesEntriesUpToExactlyTheByteLimit() {
    long size =
        Entry.newBuilder()
            .setTerm(1)
            .setIndex(5)
            .setType(EntryType.ENTRY_NORMAL)
            .setData(data("v00"))
            .build()
            .getSerializedSize();
    TestNetwork net = TestNetwork.create(3, 1, c -> c.withReplicationLimits(256, 2 * size));
    net.elect(1);
    net.deliverAll();
    for (int i = 0; i < 4; i++) {
      net.raft(1).propose(data("v9" + i));
    }
    List<RaftMessage> fromMemory = net.take(to(2));
    assertThat(appendsTo(fromMemory)).singleElement().matches(a -> a.getEntriesCount() == 2);
    fromMemory.forEach(net::deliver);
    net.deliverAll();

    net.isolate(3);
    for (int i = 0; i < 20; i++) {
      net.raft(1).propose(data(String.format("v%02d", i)));
      net.deliverAll();
    }
    assertThat(net.raft(1).releasedIndex()).isGreaterThan(10); // read back from storage below
    int before = net.sent.size();
    net.heal();
    net.tickAll(3);
    net.deliverAll();
    assertThat(net.node(3).storage.entries).isEqualTo(net.node(1).storage.entries);
    List<List<Entry>> batches =
        net.sent.subList(before, net.sent.size()).stream()
            .filter(m -> m.getTo() == 3 && m.hasAppendRequest())
            .map(m -> m.getAppendRequest().getEntriesList())
            .filter(b -> !b.isEmpty())
            .toList();
    assertThat(batches).isNotEmpty();
    long last = net.raft(1).lastIndex();
    for (List<Entry> batch : batches) {
      assertThat(batch).as("batch from %d", batch.get(0).getIndex()).hasSizeLessThanOrEqualTo(2);
      if (batch.get(batch.size() - 1).getIndex() < last) {
        assertThat(batch).as("batch from %d", batch.get(0).getIndex()).hasSize(2);
      }
    }
  }

  /**
   * §5.3 "the leader retries AppendEntries indefinitely": a full pipeline that made no progress for
   * a whole heartbeat interval has presumably lost an append; the heartbeat makes room for one more
   * so that the next append, and its rejection, reveal the gap.
   */
  @Test
  void stalledFullPipelineFreesOneSlotPerHeartbeat() {
    TestNetwork net = TestNetwork.create(3, 1, c -> c.withReplicationLimits(2, 1 << 20));
    net.elect(1);
    net.deliverAll();
    net.tickAll(1); // a heartbeat records the follower's progress so far
    Raft r = net.raft(1);
    net.dropIf(to(2));
    r.propose(data("a"));
    net.deliverAll();
    r.propose(data("b"));
    net.deliverAll();
    assertThat(r.status().peers().get(2).inflight()).isEqualTo(2);
    r.tick();
    assertThat(r.status().peers().get(2).inflight()).isEqualTo(1);
  }

  /**
   * §5.2 heartbeats: a follower whose pipeline is moving gets an ordinary heartbeat, an empty
   * append right after its matchIndex that it always accepts, not a probe at the pipeline's far end
   * (that is for a pipeline that has stalled).
   */
  @Test
  void heartbeatToAProgressingPipelineCarriesItsMatchIndex() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    net.tickAll(1);
    Raft r = net.raft(1);
    r.propose(data("a"));
    net.deliverAll(); // node 2 now matches index 2
    r.propose(data("b"));
    assertThat(net.take(to(2))).hasSize(1); // in flight, unanswered
    r.tick();
    List<AppendEntriesRequest> heartbeat = appendsTo(net.take(to(2)));
    assertThat(heartbeat).singleElement().matches(a -> a.getEntriesCount() == 0);
    assertThat(heartbeat.get(0).getPrevLogIndex()).isEqualTo(2);
  }

  /**
   * §5.3: a rejection that answers an append sent before the follower matched further is stale (the
   * network may delay and reorder): the leader ignores it, neither retrying nor falling back to
   * probing.
   */
  @Test
  void staleRejectionIsIgnored() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    Raft r = net.raft(1);
    r.propose(data("a"));
    List<RaftMessage> first = net.take(to(2));
    r.propose(data("b"));
    List<RaftMessage> second = net.take(to(2));
    second.forEach(net::deliver); // overtakes the first: rejected
    List<RaftMessage> rejection = net.take(m -> m.getFrom() == 2);
    assertThat(rejection).singleElement().matches(m -> !m.getAppendResponse().getSuccess());
    first.forEach(net::deliver);
    net.take(m -> m.getFrom() == 2).forEach(net::deliver); // node 2 matches index 2
    assertThat(r.status().peers().get(2).matchIndex()).isEqualTo(2);
    net.take(to(2));

    rejection.forEach(net::deliver);
    assertThat(r.status().peers().get(2).replicating()).isTrue();
    assertThat(net.take(to(2))).isEmpty();
  }

  /**
   * §5.3 accelerated backoff uses only the entries the leader holds in memory: when its last entry
   * of the follower's conflicting term has been released (applied and written), it retries at the
   * follower's own hint, which is always safe, rather than read its log back to refine it.
   */
  @Test
  void leaderWhoseLastEntryOfTheConflictingTermIsReleasedUsesTheFollowersHint() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    Raft r = net.raft(1);
    for (int i = 0; i < 3; i++) {
      r.propose(data("t1-" + i)); // entries 2..4 of term 1
      net.deliverAll();
    }
    net.isolate(3);
    r.step(
        RaftMessage.newBuilder()
            .setFrom(2)
            .setTo(1)
            .setTerm(2)
            .setAppendResponse(AppendEntriesResponse.getDefaultInstance())
            .build());
    net.elect(1); // term 3: the no-op at 5
    r.propose(data("t3")); // 6
    net.deliverAll();
    assertThat(r.term()).isEqualTo(3);
    assertThat(r.releasedIndex()).as("the last entry of term 1 is released").isEqualTo(4);
    net.take(to(3));

    r.step(
        RaftMessage.newBuilder()
            .setFrom(3)
            .setTo(1)
            .setTerm(3)
            .setAppendResponse(
                AppendEntriesResponse.newBuilder()
                    .setRejectedIndex(4)
                    .setConflictTerm(1)
                    .setConflictIndex(2))
            .build());
    assertThat(appendsTo(net.take(to(3)))).singleElement().matches(a -> a.getPrevLogIndex() == 1);
  }

  /**
   * §5.3 with a network that reorders: an acknowledgement can reach beyond the pipeline the leader
   * just restarted after a probe (it answers an append sent before the follower fell back to
   * probing). The leader then moves nextIndex past it and does not resend what the follower already
   * holds.
   */
  @Test
  void lateAcknowledgementBeyondTheRestartedPipelineIsNotResent() {
    TestNetwork net = TestNetwork.create(3, 1, c -> c.withReplicationLimits(2, 1));
    net.elect(1);
    net.deliverAll();
    Raft r = net.raft(1);
    r.tick(); // a heartbeat records each follower's progress
    net.deliverAll();
    net.dropIf(to(2)); // node 2's messages are held below and delivered by hand
    List<RaftMessage> held = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      r.propose(data("e" + i)); // one entry per append: entries 2..7
      held.addAll(net.take(to(2)));
      r.tick(); // node 2 made no progress: the heartbeat frees a slot, probes the far end
      held.addAll(net.take(to(2)));
      net.deliverAll(); // node 3 keeps the commit index moving
    }
    RaftMessage farEndOf2 =
        held.stream()
            .filter(m -> m.getAppendRequest().getEntriesCount() == 0)
            .filter(m -> m.getAppendRequest().getPrevLogIndex() == 2)
            .findFirst()
            .orElseThrow();
    net.deliver(farEndOf2); // overtakes entry 2: rejected
    held.stream().filter(m -> m.getAppendRequest().getEntriesCount() > 0).forEach(net::deliver);
    List<RaftMessage> answers = net.take(m -> m.getFrom() == 2);
    RaftMessage rejection = answers.get(0);
    assertThat(rejection.getAppendResponse().getSuccess()).isFalse();
    RaftMessage ackOf2 =
        answers.stream()
            .filter(m -> m.getAppendResponse().getMatchIndex() == 2)
            .findFirst()
            .orElseThrow();
    RaftMessage ackOf7 =
        answers.stream()
            .filter(m -> m.getAppendResponse().getMatchIndex() == 7)
            .findFirst()
            .orElseThrow();

    net.deliver(rejection); // back to probing from index 2
    net.deliver(ackOf2); // the probe's point agrees: a new pipeline from 3
    assertThat(r.status().peers().get(2).replicating()).isTrue();
    net.take(to(2));
    net.deliver(ackOf7);
    RaftStatus.PeerProgress p = r.status().peers().get(2);
    assertThat(p.matchIndex()).isEqualTo(7);
    assertThat(p.nextIndex()).isEqualTo(8);
    assertThat(appendsTo(net.take(to(2)))).noneMatch(a -> a.getEntriesCount() > 0);
  }
}
