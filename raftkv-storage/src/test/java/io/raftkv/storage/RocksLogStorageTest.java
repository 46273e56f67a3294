package io.raftkv.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.HardState;
import io.raftkv.raft.PersistentState;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RocksLogStorageTest {
  private static final NodeIdentity ME = new NodeIdentity("c1", 0);

  @TempDir Path dir;
  private RocksStore store;
  private RocksLogStorage log;

  @BeforeEach
  void open() {
    store = RocksStore.open(dir, ME);
    log = new RocksLogStorage(store);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private void reopen() {
    store.close();
    open();
  }

  static Entry entry(long index, long term) {
    return Entry.newBuilder()
        .setIndex(index)
        .setTerm(term)
        .setType(EntryType.ENTRY_NORMAL)
        .setData(ByteString.copyFromUtf8("cmd-" + index + "@" + term))
        .build();
  }

  static List<Entry> entries(long from, long to, long term) {
    List<Entry> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(entry(i, term));
    }
    return out;
  }

  static HardState hardState(long term, Integer vote, long commit) {
    HardState.Builder b = HardState.newBuilder().setCurrentTerm(term).setCommit(commit);
    if (vote != null) {
      b.setVotedFor(vote);
    }
    return b.build();
  }

  @Test
  void aNewStoreLoadsAnEmptyLogAndTheDefaultHardState() {
    PersistentState s = log.load(0);
    assertThat(s.hardState()).isEqualTo(HardState.getDefaultInstance());
    assertThat(s.entries()).isEmpty();
    assertThat(s.appliedIndex()).isZero();
    assertThat(log.lastIndex()).isZero();
  }

  @Test
  void persistThenLoadRoundTrips() {
    HardState hs = hardState(2, 1, 3);
    List<Entry> written = new ArrayList<>(entries(1, 2, 1));
    written.addAll(entries(3, 5, 2));
    log.persist(hs, written, true);

    PersistentState s = log.load(0);
    assertThat(s.hardState()).isEqualTo(hs);
    assertThat(s.entries()).containsExactlyElementsOf(written);
    assertThat(log.lastIndex()).isEqualTo(5);
  }

  /** The core reads released entries back: exactly the range asked for, in order. */
  @Test
  void readReturnsTheRangeAskedFor() {
    log.persist(hardState(2, 0, 0), entries(1, 3, 1), true);
    log.persist(null, entries(4, 9, 2), true);
    assertThat(log.read(3, 6))
        .containsExactlyElementsOf(List.of(entry(3, 1), entry(4, 2), entry(5, 2), entry(6, 2)));
    assertThat(log.read(9, 9)).containsExactly(entry(9, 2));
    assertThatThrownBy(() -> log.read(8, 10))
        .isInstanceOf(CorruptStorageException.class)
        .hasMessageContaining("no entry at index 10");
  }

  /** A restart loads only the log's tail: older applied entries stay on disk, readable. */
  @Test
  void loadKeepsOnlyTheTailAfterTheAppliedIndex() {
    log.persist(hardState(2, 0, 9), entries(1, 3, 1), true);
    log.persist(null, entries(4, 9, 2), true);
    PersistentState s = log.load(7, 2);
    assertThat(s.offset()).isEqualTo(5);
    assertThat(s.offsetTerm()).isEqualTo(2);
    assertThat(s.entries()).containsExactlyElementsOf(entries(6, 9, 2));
    assertThat(log.lastIndex()).isEqualTo(9);
    assertThat(log.read(1, 5)).containsExactlyElementsOf(log.load(0).entries().subList(0, 5));
    // Never more than what is applied, and nothing when keep covers it.
    assertThat(log.load(1, 2).offset()).isZero();
    assertThat(log.load(9, Long.MAX_VALUE).offset()).isZero();
  }

  @Test
  void appendsAccumulateAcrossPersists() {
    log.persist(hardState(1, 0, 0), entries(1, 3, 1), true);
    log.persist(null, entries(4, 4, 1), true);
    log.persist(hardState(1, 0, 4), entries(5, 7, 1), false);

    PersistentState s = log.load(0);
    assertThat(s.entries()).containsExactlyElementsOf(entries(1, 7, 1));
    assertThat(s.hardState()).isEqualTo(hardState(1, 0, 4));
  }

  @Test
  void aLaterPersistAtALowerIndexTruncatesTheSuffix() {
    log.persist(hardState(2, 1, 2), entries(1, 2, 1), true);
    log.persist(null, entries(3, 8, 2), true);
    // A new leader of term 3 overwrites from index 4: 5..8 of term 2 must go.
    log.persist(hardState(3, 2, 2), entries(4, 4, 3), true);

    List<Entry> expected = new ArrayList<>(entries(1, 2, 1));
    expected.addAll(entries(3, 3, 2));
    expected.add(entry(4, 3));
    assertThat(log.load(0).entries()).containsExactlyElementsOf(expected);
    assertThat(log.lastIndex()).isEqualTo(4);

    reopen();
    assertThat(log.lastIndex()).isEqualTo(4);
    assertThat(log.load(0).entries()).containsExactlyElementsOf(expected);
  }

  @Test
  void aTruncationThatReplacesWithMoreEntriesKeepsThemAll() {
    log.persist(hardState(1, 0, 1), entries(1, 5, 1), true);
    log.persist(hardState(2, 1, 1), entries(2, 9, 2), true);

    List<Entry> expected = new ArrayList<>(entries(1, 1, 1));
    expected.addAll(entries(2, 9, 2));
    assertThat(log.load(0).entries()).containsExactlyElementsOf(expected);
  }

  @Test
  void truncationAndAppendAfterItSurviveAReopen() {
    log.persist(hardState(1, 0, 0), entries(1, 10, 1), true);
    log.persist(hardState(2, null, 0), entries(3, 3, 2), true);
    log.persist(null, entries(4, 5, 2), true);
    reopen();
    List<Entry> expected = new ArrayList<>(entries(1, 2, 1));
    expected.addAll(entries(3, 5, 2));
    assertThat(log.load(0).entries()).containsExactlyElementsOf(expected);
  }

  @Test
  void hardStateWithAndWithoutAVote() {
    HardState voted = hardState(5, 2, 0);
    log.persist(voted, List.of(), true);
    assertThat(log.load(0).hardState()).isEqualTo(voted);
    assertThat(log.load(0).hardState().hasVotedFor()).isTrue();
    assertThat(log.load(0).hardState().getVotedFor()).isEqualTo(2);

    // Voting for node 0 is a vote, not "no vote".
    HardState votedZero = hardState(6, 0, 0);
    log.persist(votedZero, List.of(), true);
    assertThat(log.load(0).hardState().hasVotedFor()).isTrue();
    assertThat(log.load(0).hardState().getVotedFor()).isZero();

    HardState noVote = hardState(7, null, 0);
    log.persist(noVote, List.of(), true);
    reopen();
    HardState loaded = log.load(0).hardState();
    assertThat(loaded).isEqualTo(noVote);
    assertThat(loaded.hasVotedFor()).isFalse();
    assertThat(loaded.getCurrentTerm()).isEqualTo(7);
  }

  @Test
  void aNullHardStateLeavesThePersistedOneAlone() {
    HardState hs = hardState(3, 1, 0);
    log.persist(hs, entries(1, 1, 3), true);
    log.persist(null, entries(2, 2, 3), true);
    assertThat(log.load(0).hardState()).isEqualTo(hs);
  }

  @Test
  void reopenAfterCloseKeepsEverything() {
    HardState hs = hardState(4, 1, 6);
    log.persist(hs, entries(1, 6, 4), true);
    log.persist(null, entries(7, 9, 4), false); // not synced: a clean close still keeps it
    reopen();
    PersistentState s = log.load(0);
    assertThat(s.hardState()).isEqualTo(hs);
    assertThat(s.entries()).containsExactlyElementsOf(entries(1, 9, 4));
    assertThat(log.lastIndex()).isEqualTo(9);
    assertThat(store.created()).isFalse();
  }

  @Test
  void entriesThatWouldLeaveAGapAreRefusedAndNothingIsWritten() {
    HardState hs = hardState(1, 0, 0);
    log.persist(hs, entries(1, 3, 1), true);
    assertThatThrownBy(() -> log.persist(hardState(9, 9, 0), entries(5, 6, 1), true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("start at index 5")
        .hasMessageContaining("the log holds 1..3");
    assertThatThrownBy(() -> log.persist(null, List.of(entry(4, 1), entry(6, 1)), true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not consecutive");
    assertThatThrownBy(() -> log.persist(null, entries(0, 1, 1), true))
        .isInstanceOf(IllegalArgumentException.class);
    PersistentState s = log.load(0);
    assertThat(s.hardState()).isEqualTo(hs);
    assertThat(s.entries()).containsExactlyElementsOf(entries(1, 3, 1));
  }

  @Test
  void aGapOnDiskIsReportedAsCorruption() throws Exception {
    log.persist(hardState(1, 0, 0), entries(1, 3, 1), true);
    store.db().put(store.logColumn(), RocksLogStorage.key(5), entry(5, 1).toByteArray());
    assertThatThrownBy(() -> log.load(0))
        .isInstanceOf(CorruptStorageException.class)
        .hasMessageContaining(store.directory().toString())
        .hasMessageContaining("index 5 where 4 was expected");
  }

  @Test
  void aLogNotStartingAtOneIsReportedAsCorruption() throws Exception {
    store.db().put(store.logColumn(), RocksLogStorage.key(2), entry(2, 1).toByteArray());
    store
        .db()
        .put(store.metaColumn(), RocksStore.META_HARD_STATE, hardState(1, 0, 0).toByteArray());
    assertThatThrownBy(() -> new RocksLogStorage(store).load(0))
        .isInstanceOf(CorruptStorageException.class)
        .hasMessageContaining("index 2 where 1 was expected");
  }

  @Test
  void anEntryUnderTheWrongKeyIsReportedAsCorruption() throws Exception {
    log.persist(hardState(1, 0, 0), entries(1, 2, 1), true);
    store.db().put(store.logColumn(), RocksLogStorage.key(3), entry(7, 1).toByteArray());
    assertThatThrownBy(() -> log.load(0))
        .isInstanceOf(CorruptStorageException.class)
        .hasMessageContaining("stored at index 3 says index 7");
  }

  @Test
  void unreadableRecordsAreReportedAsCorruption() throws Exception {
    log.persist(hardState(1, 0, 0), entries(1, 2, 1), true);
    store.db().put(store.logColumn(), RocksLogStorage.key(3), new byte[] {(byte) 0xff, 1, 2});
    assertThatThrownBy(() -> log.load(0))
        .isInstanceOf(CorruptStorageException.class)
        .hasMessageContaining("index 3 is unreadable");

    store.db().delete(store.logColumn(), RocksLogStorage.key(3));
    store.db().put(store.metaColumn(), RocksStore.META_HARD_STATE, new byte[] {(byte) 0xff});
    assertThatThrownBy(() -> log.load(0))
        .isInstanceOf(CorruptStorageException.class)
        .hasMessageContaining("hard state is unreadable");
  }

  @Test
  void decreasingTermsOrACommitBeyondTheLogAreReportedAsCorruption() throws Exception {
    log.persist(hardState(2, 0, 0), entries(1, 2, 2), true);
    store.db().put(store.logColumn(), RocksLogStorage.key(3), entry(3, 1).toByteArray());
    assertThatThrownBy(() -> log.load(0))
        .isInstanceOf(CorruptStorageException.class)
        .hasMessageContaining("term 1 after 2");

    store.db().delete(store.logColumn(), RocksLogStorage.key(3));
    store
        .db()
        .put(store.metaColumn(), RocksStore.META_HARD_STATE, hardState(2, 0, 5).toByteArray());
    assertThatThrownBy(() -> log.load(0))
        .isInstanceOf(CorruptStorageException.class)
        .hasMessageContaining("commit index 5 is beyond the last entry 2");
  }

  @Test
  void theAppliedIndexIsPassedOnAndRaisesAStaleCommitIndex() {
    log.persist(hardState(1, 0, 2), entries(1, 5, 1), true);
    PersistentState s = log.load(2);
    assertThat(s.appliedIndex()).isEqualTo(2);
    assertThat(s.hardState().getCommit()).isEqualTo(2);

    // The state machine applied 4 but the commit index 4 was written without fsync and lost.
    PersistentState ahead = log.load(4);
    assertThat(ahead.appliedIndex()).isEqualTo(4);
    assertThat(ahead.hardState().getCommit()).isEqualTo(4);

    assertThatThrownBy(() -> log.load(6))
        .isInstanceOf(CorruptStorageException.class)
        .hasMessageContaining("applied index 6 but the log ends at 5");
  }

  @Test
  void keysAreBigEndianSoByteOrderIsIndexOrder() {
    assertThat(RocksLogStorage.key(1)).containsExactly(0, 0, 0, 0, 0, 0, 0, 1);
    assertThat(RocksLogStorage.key(0x0102030405060708L)).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    assertThat(RocksLogStorage.indexOf(RocksLogStorage.key(300))).isEqualTo(300);
    // 255 < 256 must hold bytewise too (RocksDB's default comparator).
    assertThat(java.util.Arrays.compareUnsigned(RocksLogStorage.key(255), RocksLogStorage.key(256)))
        .isNegative();
  }

  @Test
  void aLongLogRoundTripsInOrder() {
    for (long i = 1; i <= 1000; i += 100) {
      log.persist(hardState(1, 0, 0), entries(i, i + 99, 1), false);
    }
    reopen();
    assertThat(log.load(0).entries()).containsExactlyElementsOf(entries(1, 1000, 1));
  }
}
