package io.raftkv.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.raftkv.proto.kvs.KvCommand;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.SnapshotMeta;
import io.raftkv.proto.snapshot.CorruptSnapshotException;
import io.raftkv.proto.snapshot.SnapshotHeader;
import io.raftkv.proto.snapshot.SnapshotRecord;
import io.raftkv.proto.snapshot.SnapshotStreams;
import io.raftkv.raft.PersistentState;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.Snapshot;
import org.rocksdb.WriteBatch;

/**
 * Snapshots on RocksDB (§7): the stream format's checks, a staged KV generation switched in
 * atomically (and dropped if never switched), and the log's compaction and its reconciliation with
 * a state machine restored from a snapshot.
 */
class SnapshotStorageTest {
  private static final NodeIdentity ME = new NodeIdentity("c1", 0);

  @TempDir Path dir;

  private static Entry put(long index, long term, String key, String value) {
    KvCommand cmd =
        KvCommand.newBuilder()
            .setPut(
                KvCommand.Put.newBuilder()
                    .setKey(ByteString.copyFromUtf8(key))
                    .setValue(ByteString.copyFromUtf8(value)))
            .build();
    return Entry.newBuilder()
        .setIndex(index)
        .setTerm(term)
        .setType(EntryType.ENTRY_NORMAL)
        .setData(cmd.toByteString())
        .build();
  }

  private static SnapshotMeta meta(long index, long term) {
    return SnapshotMeta.newBuilder().setIndex(index).setTerm(term).build();
  }

  /** A snapshot stream of {@code store}'s KV state now. */
  private static byte[] snapshotOf(RocksStore store, SnapshotMeta meta) throws IOException {
    Snapshot snap = store.db().getSnapshot();
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      SnapshotFormat.write(
          store.db(),
          snap,
          store.kvColumn(),
          store.kvMetaColumn(),
          SnapshotHeader.newBuilder().setMeta(meta).setClusterId("c1").setFormat(1).build(),
          out);
      return out.toByteArray();
    } finally {
      store.db().releaseSnapshot(snap);
    }
  }

  private static SnapshotStreams.Summary read(byte[] stream, List<SnapshotRecord> into)
      throws IOException {
    return SnapshotStreams.read(new ByteArrayInputStream(stream), into::add);
  }

  @Test
  void aStreamCarriesEveryKeyAndTheSessionsAndVerifies() throws Exception {
    try (RocksStore store = RocksStore.open(dir.resolve("a"), ME)) {
      KvStateMachine sm = new KvStateMachine(store);
      sm.apply(List.of(put(1, 1, "a", "1"), put(2, 1, "b", "2")));
      byte[] stream = snapshotOf(store, meta(2, 1));
      List<SnapshotRecord> records = new ArrayList<>();
      SnapshotStreams.Summary s = read(stream, records);
      assertThat(s.header().getMeta()).isEqualTo(meta(2, 1));
      assertThat(s.trailer().getKeys()).isEqualTo(2);
      assertThat(s.bytes()).isEqualTo(stream.length);
      // The user's two keys and the applied state (the state machine's metadata) travel.
      assertThat(records).hasSize(3);
    }
  }

  @Test
  void aFlippedByteIsDetected() throws Exception {
    try (RocksStore store = RocksStore.open(dir.resolve("a"), ME)) {
      new KvStateMachine(store).apply(List.of(put(1, 1, "key", "value")));
      byte[] stream = snapshotOf(store, meta(1, 1));
      List<Integer> undetected = new ArrayList<>();
      for (int i = 0; i < stream.length; i++) {
        byte[] bad = stream.clone();
        bad[i] ^= 0x20;
        try {
          read(bad, new ArrayList<>());
          undetected.add(i);
        } catch (IOException expected) {
          // detected
        }
      }
      assertThat(undetected).as("flipped bytes not detected, of %d", stream.length).isEmpty();
    }
  }

  @Test
  void aTruncatedStreamIsDetected() throws Exception {
    try (RocksStore store = RocksStore.open(dir.resolve("a"), ME)) {
      new KvStateMachine(store).apply(List.of(put(1, 1, "key", "value")));
      byte[] stream = snapshotOf(store, meta(1, 1));
      for (int n = 0; n < stream.length; n++) {
        byte[] cut = java.util.Arrays.copyOf(stream, n);
        assertThatThrownBy(() -> read(cut, new ArrayList<>()))
            .isInstanceOf(CorruptSnapshotException.class);
      }
    }
  }

  @Test
  void aStagedGenerationIsInvisibleUntilSwitchedAndSurvivesARestart() throws Exception {
    Path a = dir.resolve("a");
    try (RocksStore store = RocksStore.open(a, ME)) {
      KvStateMachine sm = new KvStateMachine(store);
      sm.apply(List.of(put(1, 1, "old", "1")));
      RocksStore.KvColumns staged = store.stageKv();
      try (WriteBatch b = new WriteBatch()) {
        b.put(staged.data(), "new".getBytes(), "2".getBytes());
        store.db().write(store.stagingWrite(), b);
      }
      assertThat(sm.get("new".getBytes())).isEmpty();
      store.switchKv(staged);
      sm.reload();
      assertThat(sm.get("new".getBytes())).map(String::new).contains("2");
      assertThat(sm.get("old".getBytes())).isEmpty();
    }
    try (RocksStore store = RocksStore.open(a, ME)) {
      KvStateMachine sm = new KvStateMachine(store);
      assertThat(sm.get("new".getBytes())).map(String::new).contains("2");
      assertThat(sm.get("old".getBytes())).isEmpty();
    }
  }

  /** A crash while staging (no switch) leaves the old state; the staged data is dropped. */
  @Test
  void aGenerationNeverSwitchedToIsDroppedAtTheNextOpen() throws Exception {
    Path a = dir.resolve("a");
    try (RocksStore store = RocksStore.open(a, ME)) {
      new KvStateMachine(store).apply(List.of(put(1, 1, "old", "1")));
      RocksStore.KvColumns staged = store.stageKv();
      try (WriteBatch b = new WriteBatch()) {
        b.put(staged.data(), "new".getBytes(), "2".getBytes());
        store.db().write(store.writeOptions(true), b);
      }
    }
    try (RocksStore store = RocksStore.open(a, ME)) {
      KvStateMachine sm = new KvStateMachine(store);
      assertThat(sm.get("old".getBytes())).map(String::new).contains("1");
      assertThat(sm.get("new".getBytes())).isEmpty();
      assertThat(store.kvColumns().generation()).isZero();
    }
  }

  @Test
  void aCompactedLogStartsAfterItsSnapshotAcrossRestarts() throws Exception {
    Path a = dir.resolve("a");
    try (RocksStore store = RocksStore.open(a, ME)) {
      RocksLogStorage log = new RocksLogStorage(store);
      List<Entry> entries = new ArrayList<>();
      for (int i = 1; i <= 10; i++) {
        entries.add(put(i, 1, "k" + i, "v"));
      }
      log.persist(HardState.newBuilder().setCurrentTerm(1).setCommit(10).build(), entries, true);
      log.compact(meta(6, 1));
      assertThat(log.start()).isEqualTo(meta(6, 1));
      assertThat(log.read(7, 10)).extracting(Entry::getIndex).containsExactly(7L, 8L, 9L, 10L);
    }
    try (RocksStore store = RocksStore.open(a, ME)) {
      RocksLogStorage log = new RocksLogStorage(store);
      PersistentState st = log.load(8, 1, Long.MAX_VALUE);
      assertThat(st.snapshot()).isEqualTo(meta(6, 1));
      assertThat(st.entries()).extracting(Entry::getIndex).containsExactly(7L, 8L, 9L, 10L);
      assertThatThrownBy(() -> log.persist(null, List.of(put(6, 1, "x", "y")), true))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /**
   * A snapshot installed into the state machine whose log compaction was lost in a crash: the log
   * contradicts the state machine at its applied index, and loading reconciles it (Figure 13, rule
   * 7: the whole log goes).
   */
  @Test
  void aLogThatContradictsTheStateMachineIsReconciledAtLoad() throws Exception {
    try (RocksStore store = RocksStore.open(dir.resolve("a"), ME)) {
      RocksLogStorage log = new RocksLogStorage(store);
      List<Entry> entries = new ArrayList<>();
      for (int i = 1; i <= 5; i++) {
        entries.add(put(i, 1, "k" + i, "v"));
      }
      log.persist(HardState.newBuilder().setCurrentTerm(3).setCommit(2).build(), entries, true);
      // The state machine says it applied index 8 of term 3: a snapshot from the leader.
      PersistentState st = log.load(8, 3, Long.MAX_VALUE);
      assertThat(st.snapshot()).isEqualTo(meta(8, 3));
      assertThat(st.entries()).isEmpty();
      assertThat(st.hardState().getCommit()).isEqualTo(8);
      assertThat(log.lastIndex()).isEqualTo(8);
    }
  }

  /** Figure 13, rule 6: a log holding the snapshot's last entry keeps what follows it. */
  @Test
  void compactingToAMatchingEntryKeepsTheSuffix() throws Exception {
    try (RocksStore store = RocksStore.open(dir.resolve("a"), ME)) {
      RocksLogStorage log = new RocksLogStorage(store);
      List<Entry> entries = new ArrayList<>();
      for (int i = 1; i <= 5; i++) {
        entries.add(put(i, i < 3 ? 1 : 2, "k" + i, "v"));
      }
      log.persist(HardState.newBuilder().setCurrentTerm(2).build(), entries, true);
      log.compact(meta(3, 2));
      assertThat(log.read(4, 5)).hasSize(2);
      log.compact(meta(4, 9)); // a conflicting term at 4: everything goes
      assertThat(log.lastIndex()).isEqualTo(4);
    }
  }
}
