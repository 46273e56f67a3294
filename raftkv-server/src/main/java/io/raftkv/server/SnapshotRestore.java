package io.raftkv.server;

import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.SnapshotMeta;
import io.raftkv.proto.snapshot.CorruptSnapshotException;
import io.raftkv.proto.snapshot.SnapshotStreams;
import io.raftkv.storage.KvStateMachine;
import io.raftkv.storage.NodeIdentity;
import io.raftkv.storage.RocksLogStorage;
import io.raftkv.storage.RocksStore;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code svr --restore FILE}: bootstraps a new node's data directory from a backup ({@code clt
 * snapshot save}), so that a new cluster can start from it (etcdctl snapshot restore's
 * counterpart). Every node of the new cluster restores the same file: each starts with the
 * snapshot's state applied and its log starting after it, in the snapshot's term.
 *
 * <p>Touches nothing unless it can finish: the file is verified whole and its cluster id checked
 * before the directory is created; the directory must be absent or empty; a failure afterwards
 * removes what it created.
 */
final class SnapshotRestore {
  /** A restore refused or failed; the message is the one line to print. */
  static final class RestoreException extends RuntimeException {
    RestoreException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private SnapshotRestore() {}

  static SnapshotMeta restore(ServerConfig config, Path file) {
    SnapshotStreams.Summary summary = verify(file);
    String cluster = summary.header().getClusterId();
    if (!cluster.equals(config.clusterId())) {
      throw new RestoreException(
          "cannot restore "
              + file
              + ": it is a snapshot of cluster '"
              + cluster
              + "', this node's is '"
              + config.clusterId()
              + "' (start the new cluster with --cluster-id "
              + cluster
              + ")",
          null);
    }
    Path dir = config.dataDir();
    if (!isAbsentOrEmpty(dir)) {
      throw new RestoreException(
          "refusing to restore into " + dir + ": the data directory is not empty", null);
    }
    boolean existed = Files.exists(dir);
    SnapshotMeta meta = summary.header().getMeta();
    try (RocksStore store =
        RocksStore.open(dir, new NodeIdentity(config.clusterId(), config.nodeId()))) {
      KvStateMachine stateMachine = new KvStateMachine(store);
      KvSnapshots snapshots = new KvSnapshots(store, stateMachine, config.clusterId());
      KvSnapshots.Staged staged;
      try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
        staged = snapshots.stage(in, meta);
      }
      snapshots.install(staged);
      // A new cluster: its members are the -r list, not the backed-up cluster's (as etcdctl
      // snapshot restore takes --initial-cluster), and none has held its data yet.
      stateMachine.startNewCluster();
      RocksLogStorage log = new RocksLogStorage(store);
      // The log starts after the snapshot, in its term; everything in it is committed.
      log.persist(
          HardState.newBuilder().setCurrentTerm(meta.getTerm()).setCommit(meta.getIndex()).build(),
          List.of(),
          true);
      log.compact(meta);
      store.db().flushWal(true);
      return meta;
    } catch (IOException | RuntimeException | org.rocksdb.RocksDBException e) {
      removeCreated(dir, existed);
      throw new RestoreException("cannot restore " + file + " into " + dir + ": " + e, e);
    }
  }

  private static SnapshotStreams.Summary verify(Path file) {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      return SnapshotStreams.read(in, r -> {});
    } catch (NoSuchFileException e) {
      throw new RestoreException("cannot restore: no such file " + file, e);
    } catch (CorruptSnapshotException e) {
      throw new RestoreException(
          "cannot restore " + file + ": not a valid snapshot: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new RestoreException("cannot restore: cannot read " + file + ": " + e, e);
    }
  }

  private static boolean isAbsentOrEmpty(Path dir) {
    if (!Files.exists(dir)) {
      return true;
    }
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (Stream<Path> children = Files.list(dir)) {
      return children.findAny().isEmpty();
    } catch (IOException e) {
      return false;
    }
  }

  /** Removes the data directory's contents (and the directory if it did not exist). */
  private static void removeCreated(Path dir, boolean existed) {
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        if (existed && p.equals(dir)) {
          continue;
        }
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      // best effort: the message printed names the directory
    }
  }
}
