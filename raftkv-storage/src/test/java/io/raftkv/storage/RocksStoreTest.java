package io.raftkv.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkv.proto.raft.HardState;
import io.raftkv.raft.PersistentState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RocksStoreTest {
  @TempDir Path tmp;

  @Test
  void createsTheDirectoryAndTheColumnFamilies() throws Exception {
    Path dir = tmp.resolve("a/b/node-0");
    try (RocksStore store = RocksStore.open(dir, new NodeIdentity("c1", 0))) {
      assertThat(store.created()).isTrue();
      assertThat(store.directory()).isEqualTo(dir.toAbsolutePath());
      assertThat(store.identity()).isEqualTo(new NodeIdentity("c1", 0));
      assertThat(store.logColumn().getName()).asString(StandardCharsets.UTF_8).isEqualTo("log");
      assertThat(store.metaColumn().getName()).asString(StandardCharsets.UTF_8).isEqualTo("meta");
      assertThat(store.kvColumn().getName()).asString(StandardCharsets.UTF_8).isEqualTo("kv");
      assertThat(store.kvMetaColumn().getName())
          .asString(StandardCharsets.UTF_8)
          .isEqualTo("kv_meta");
      // The reserved families are usable by the state machine, atomically with the log.
      store.db().put(store.kvColumn(), "k".getBytes(), "v".getBytes());
    }
    try (RocksStore store = RocksStore.open(dir, new NodeIdentity("c1", 0))) {
      assertThat(store.created()).isFalse();
      assertThat(store.db().get(store.kvColumn(), "k".getBytes())).isEqualTo("v".getBytes());
    }
    assertThat(Files.isDirectory(dir)).isTrue();
  }

  @Test
  void closeIsIdempotent() {
    RocksStore store = RocksStore.open(tmp, new NodeIdentity("c1", 0));
    store.close();
    store.close();
  }

  @Test
  void refusesAnotherNodeIdAndChangesNothing() {
    HardState hs = HardState.newBuilder().setCurrentTerm(3).setVotedFor(2).setCommit(1).build();
    try (RocksStore store = RocksStore.open(tmp, new NodeIdentity("c1", 2))) {
      new RocksLogStorage(store).persist(hs, RocksLogStorageTest.entries(1, 2, 3), true);
    }

    assertThatThrownBy(() -> RocksStore.open(tmp, new NodeIdentity("c1", 0)))
        .isInstanceOf(DataDirectoryMismatchException.class)
        .hasMessage(
            "data directory "
                + tmp.toAbsolutePath()
                + " belongs to node 2 of cluster c1; refusing to open it as node 0 of cluster c1")
        .satisfies(
            e -> {
              DataDirectoryMismatchException m = (DataDirectoryMismatchException) e;
              assertThat(m.recorded()).isEqualTo(new NodeIdentity("c1", 2));
              assertThat(m.requested()).isEqualTo(new NodeIdentity("c1", 0));
              assertThat(m.directory()).isEqualTo(tmp.toAbsolutePath());
            });

    assertIntact(hs);
  }

  @Test
  void refusesAnotherClusterAndChangesNothing() {
    HardState hs = HardState.newBuilder().setCurrentTerm(1).setCommit(0).build();
    try (RocksStore store = RocksStore.open(tmp, new NodeIdentity("c1", 2))) {
      new RocksLogStorage(store).persist(hs, RocksLogStorageTest.entries(1, 2, 1), true);
    }
    assertThatThrownBy(() -> RocksStore.open(tmp, new NodeIdentity("c2", 2)))
        .isInstanceOf(DataDirectoryMismatchException.class)
        .hasMessageContaining("belongs to node 2 of cluster c1")
        .hasMessageContaining("refusing to open it as node 2 of cluster c2");
    assertIntact(hs);
  }

  private void assertIntact(HardState hs) {
    // The refused opens released the directory and left the identity and data as they were.
    try (RocksStore store = RocksStore.open(tmp, new NodeIdentity("c1", 2))) {
      PersistentState s = new RocksLogStorage(store).load(0);
      assertThat(s.hardState()).isEqualTo(hs);
      assertThat(s.entries()).hasSize(2);
    }
  }

  @Test
  void refusesADirectoryInUse() {
    try (RocksStore store = RocksStore.open(tmp, new NodeIdentity("c1", 0))) {
      assertThatThrownBy(() -> RocksStore.open(tmp, new NodeIdentity("c1", 0)))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("data directory " + tmp.toAbsolutePath() + " is in use");
      assertThat(store.db().isOwningHandle()).isTrue();
    }
  }

  @Test
  void aDirectoryThatCannotBeCreatedGivesAClearError() throws Exception {
    Path file = Files.writeString(tmp.resolve("plain-file"), "x");
    assertThatThrownBy(() -> RocksStore.open(file.resolve("node-0"), new NodeIdentity("c1", 0)))
        .isInstanceOf(StorageException.class)
        .hasMessage(
            "cannot create data directory "
                + file.resolve("node-0")
                + ": "
                + file.resolve("node-0")
                + ": Not a directory");
    assertThatThrownBy(() -> RocksStore.open(file, new NodeIdentity("c1", 0)))
        .isInstanceOf(StorageException.class)
        .hasMessage("data directory " + file + " exists but is not a directory")
        .hasMessageNotContaining("\n");
  }

  @Test
  void refusesADirectoryWithOtherFilesAndWritesNothingThere() throws Exception {
    Files.writeString(tmp.resolve("notes.txt"), "mine");
    assertThatThrownBy(() -> RocksStore.open(tmp, new NodeIdentity("c1", 0)))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("is not empty and holds no raftkv database (found notes.txt)");
    try (var files = Files.list(tmp)) {
      assertThat(files.map(p -> p.getFileName().toString()).toList())
          .isEqualTo(List.of("notes.txt"));
    }
  }

  @Test
  void aMountPointsLostAndFoundIsNotForeign() throws Exception {
    Files.createDirectory(tmp.resolve("lost+found"));
    try (RocksStore store = RocksStore.open(tmp, new NodeIdentity("c1", 0))) {
      assertThat(store.created()).isTrue();
    }
  }

  @Test
  void anExistingEmptyDirectoryIsFine() {
    try (RocksStore store = RocksStore.open(tmp, new NodeIdentity("c1", 7))) {
      assertThat(store.created()).isTrue();
    }
  }

  @Test
  void identitiesAreValidated() {
    assertThatThrownBy(() -> new NodeIdentity("", 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new NodeIdentity("c", -1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(new NodeIdentity("c1", 2)).hasToString("node 2 of cluster c1");
  }
}
