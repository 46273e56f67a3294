package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static io.raftkv.raft.TestNetwork.ids;
import static io.raftkv.raft.TestNetwork.paperConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkv.proto.raft.Entry;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Only the log's tail stays in memory: durable, applied entries are released, and read back from
 * storage when a follower needs them.
 */
class LogMemoryTest {

  /** §5.3: a follower that missed many entries catches up from what the leader released. */
  @Test
  void laggingFollowerCatchesUpFromReleasedEntries() {
    TestNetwork net = TestNetwork.create(3, 7);
    net.elect(1);
    net.isolate(3);
    for (int i = 0; i < 50; i++) {
      net.raft(1).propose(data("v" + i));
      net.deliverAll();
    }
    long last = net.raft(1).status().lastIndex();
    assertThat(net.raft(1).status().commitIndex()).isEqualTo(last);
    // The leader holds only the tail: everything but the last few is released.
    assertThat(net.raft(1).releasedIndex()).isGreaterThan(last - 2 * TestNetwork.MEMORY_TAIL - 1);
    int readsBefore = net.node(1).storage.reads;

    net.heal();
    net.tickAll(net.raft(1).config().heartbeatTicks() + 1);
    net.deliverAll();

    assertThat(net.node(1).storage.reads).isGreaterThan(readsBefore);
    assertThat(net.raft(3).status().lastIndex()).isEqualTo(last);
    assertThat(net.raft(3).status().commitIndex()).isEqualTo(last);
    assertThat(net.node(3).storage.entries).isEqualTo(net.node(1).storage.entries);
    assertThat(net.node(3).applied).isEqualTo(net.node(1).applied);
  }

  /** Without a reader, or with entries not yet applied or durable, nothing is released. */
  @Test
  void releasesOnlyDurableAppliedEntriesAndOnlyWithAReader() {
    List<Entry> persisted = TestNetwork.log(1, 1, 1, 1);
    RaftLog kept = new RaftLog(persisted, 4, 4);
    kept.releaseTo(3);
    assertThat(kept.offset()).isZero();

    RaftLog log =
        new RaftLog(
            persisted, 4, 2, (from, to) -> persisted.subList((int) from - 1, (int) to), 0, 0);
    assertThatThrownBy(() -> log.releaseTo(3)).isInstanceOf(IllegalStateException.class);
    log.releaseTo(2);
    assertThat(log.offset()).isEqualTo(2);
    assertThat(log.term(2)).isEqualTo(1);
    assertThat(log.entry(1)).isEqualTo(persisted.get(0)); // read back
    assertThat(log.slice(1, 4, Long.MAX_VALUE)).isEqualTo(persisted);
    assertThat(log.lastIndex()).isEqualTo(4);
  }

  /** A restarted log may start after an offset: only applied entries stay on disk. */
  @Test
  void restoredLogStartsAfterItsOffset() {
    List<Entry> all = TestNetwork.log(1, 1, 2, 2, 2);
    LogReader disk = (from, to) -> all.subList((int) from - 1, (int) to);
    RaftLog log = new RaftLog(all.subList(3, 5), 5, 3, disk, 3, 2);
    assertThat(log.lastIndex()).isEqualTo(5);
    assertThat(log.term(3)).isEqualTo(2);
    assertThat(log.term(1)).isEqualTo(1);
    assertThat(log.slice(1, 5, Long.MAX_VALUE)).isEqualTo(all);
    assertThatThrownBy(() -> new RaftLog(all.subList(3, 5), 5, 2, disk, 3, 2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new RaftLog(all.subList(3, 5), 5, 3, null, 3, 2))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void negativeMemoryTailIsRefused() {
    assertThatThrownBy(
            () ->
                new Raft(
                    paperConfig(1, ids(3)),
                    new SplittableRandom(1),
                    PersistentState.empty(),
                    (from, to) -> List.of(),
                    -1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
