package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Only the log's tail stays in memory: entries both durable and applied are released in batches,
 * and read back from storage a bounded chunk at a time when a lagging follower needs them (§5.3:
 * the leader must still be able to send any entry a follower lacks).
 */
class LogReleaseTest {

  /**
   * Entries are released once more than the memory tail of them are durable and applied beyond the
   * last release, a batch of at least the tail at a time: with a tail of 2, after 4, 6, 8 ...
   * applied entries, up to 2, 4, 6 ...
   */
  @Test
  void appliedEntriesAreReleasedInBatchesOfTheMemoryTail() {
    TestNetwork net = TestNetwork.create(1, 1);
    net.elect(1);
    net.flush();
    List<Long> released = new ArrayList<>();
    released.add(net.raft(1).releasedIndex());
    for (int i = 0; i < 7; i++) {
      net.raft(1).propose(data("v" + i));
      net.flush();
      released.add(net.raft(1).releasedIndex());
    }
    // Applied 1 (the no-op), then 2 .. 8.
    assertThat(released).containsExactly(0L, 0L, 0L, 2L, 2L, 4L, 4L, 6L);
  }

  /** With a tail of zero, every entry is released as soon as it is both durable and applied. */
  @Test
  void withNoMemoryTailEveryDurableAppliedEntryIsReleased() {
    TestNetwork.MemoryStorage storage = new TestNetwork.MemoryStorage(new ArrayList<>());
    Raft r =
        new Raft(
            TestNetwork.paperConfig(1, List.of(1)),
            new SplittableRandom(1),
            PersistentState.empty(),
            storage,
            0);
    ReadyProcessor processor =
        new ReadyProcessor(storage, messages -> {}, (soft, committed, reads) -> {});
    r.campaign();
    processor.drain(r);
    assertThat(r.releasedIndex()).isEqualTo(1);
    r.propose(data("x"));
    processor.drain(r);
    assertThat(r.releasedIndex()).isEqualTo(2);
  }

  /**
   * A follower far behind is sent released entries read back from storage at most 64 at a time,
   * however much one message may carry, so that catching up never loads a long log at once.
   */
  @Test
  void releasedEntriesAreReadBackAChunkAtATime() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    net.isolate(3);
    for (int i = 0; i < 150; i++) {
      net.raft(1).propose(data("v" + i));
      net.deliverAll();
    }
    net.heal();
    net.tickAll(3);
    net.deliverAll();
    assertThat(net.node(3).storage.entries).isEqualTo(net.node(1).storage.entries);
    // One slice: entries 2 up to the leader's released index, in chunks of 64 (besides single
    // entries read for their term: the previous entry of an append).
    long released = net.raft(1).releasedIndex();
    assertThat(released).isGreaterThan(130);
    assertThat(net.node(1).storage.readRanges)
        .filteredOn(range -> range[1] > range[0])
        .containsExactly(new long[] {2, 65}, new long[] {66, 129}, new long[] {130, released});
  }

  /**
   * §5.3 conflict hint: a follower walks back through its conflicting term only as far as its
   * released prefix. Released entries are committed, so they match the leader's (Log Matching), and
   * the walk never needs to read them back from storage.
   */
  @Test
  void followersConflictHintNeverReadsReleasedEntries() {
    TestNetwork.MemoryStorage storage = new TestNetwork.MemoryStorage(new ArrayList<>());
    storage.entries.addAll(TestNetwork.log(1, 2, 2, 2, 2, 2, 2));
    storage.hardState = HardState.newBuilder().setCurrentTerm(2).setCommit(6).build();
    PersistentState restored = storage.persistentState(6); // entries 1..4 stay on disk
    Raft r =
        new Raft(
            TestNetwork.paperConfig(2, List.of(1, 2, 3)),
            new SplittableRandom(1),
            restored,
            storage,
            TestNetwork.MEMORY_TAIL);
    assertThat(r.releasedIndex()).isEqualTo(4);
    r.step(
        RaftMessage.newBuilder()
            .setFrom(1)
            .setTo(2)
            .setTerm(3)
            .setAppendRequest(
                AppendEntriesRequest.newBuilder().setPrevLogIndex(7).setPrevLogTerm(3))
            .build());
    Ready rd = r.ready();
    assertThat(rd.messages()).singleElement().matches(m -> !m.getAppendResponse().getSuccess());
    assertThat(rd.messages().get(0).getAppendResponse().getConflictTerm()).isEqualTo(2);
    assertThat(storage.reads).isZero();
  }
}
