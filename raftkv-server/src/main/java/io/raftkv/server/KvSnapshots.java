package io.raftkv.server;

import io.raftkv.node.SnapshotImage;
import io.raftkv.proto.raft.SnapshotMeta;
import io.raftkv.proto.snapshot.CorruptSnapshotException;
import io.raftkv.proto.snapshot.SnapshotColumn;
import io.raftkv.proto.snapshot.SnapshotHeader;
import io.raftkv.proto.snapshot.SnapshotStreams;
import io.raftkv.proto.snapshot.SnapshotTrailer;
import io.raftkv.storage.KvStateMachine;
import io.raftkv.storage.RocksStore;
import io.raftkv.storage.SnapshotFormat;
import io.raftkv.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.atomic.AtomicBoolean;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksDBException;
import org.rocksdb.Snapshot;
import org.rocksdb.WriteBatch;

/**
 * The KV state machine's snapshots on RocksDB (§7): a point-in-time image for a follower (a RocksDB
 * snapshot, streamed by another thread in snapshot.proto's format), a received stream staged into a
 * new KV generation and installed by switching to it atomically ({@link RocksStore#switchKv}), and
 * saving one before the log is compacted (the state machine's writes made durable).
 *
 * <p>Thread-safety: {@link #open}, {@link #install} and {@link #save} run on the node's loop;
 * {@link Image#writeTo} and {@link #stage} on transfer threads (RocksDB is thread-safe, and a
 * staged generation is invisible to the loop until installed).
 */
final class KvSnapshots {
  /** Staged writes go in batches of about this many bytes. */
  private static final long STAGING_BATCH_BYTES = 4L << 20;

  private final RocksStore store;
  private final KvStateMachine stateMachine;
  private final String clusterId;

  KvSnapshots(RocksStore store, KvStateMachine stateMachine, String clusterId) {
    this.store = store;
    this.stateMachine = stateMachine;
    this.clusterId = clusterId;
  }

  /** A point-in-time image of the state machine, which {@code meta} describes. Cheap. */
  Image open(SnapshotMeta meta) {
    if (stateMachine.appliedIndex() != meta.getIndex()) {
      throw new IllegalStateException(
          "snapshot of index " + meta.getIndex() + " asked at " + stateMachine.appliedIndex());
    }
    return new Image(meta, store.db().getSnapshot(), store.kvColumns());
  }

  /** A RocksDB snapshot of the KV column families; streamed by {@link #writeTo}. */
  final class Image implements SnapshotImage {
    private final SnapshotMeta meta;
    private final Snapshot snapshot;
    private final RocksStore.KvColumns columns;
    private final AtomicBoolean closed = new AtomicBoolean();

    Image(SnapshotMeta meta, Snapshot snapshot, RocksStore.KvColumns columns) {
      this.meta = meta;
      this.snapshot = snapshot;
      this.columns = columns;
    }

    @Override
    public SnapshotMeta meta() {
      return meta;
    }

    /** Writes the whole snapshot stream. */
    SnapshotTrailer writeTo(OutputStream out) throws IOException {
      SnapshotHeader header =
          SnapshotHeader.newBuilder()
              .setMeta(meta)
              .setClusterId(clusterId)
              .setFormat(SnapshotFormat.FORMAT)
              .setTakenAtMillis(System.currentTimeMillis())
              .build();
      return SnapshotFormat.write(
          store.db(), snapshot, columns.data(), columns.meta(), header, out);
    }

    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) {
        store.db().releaseSnapshot(snapshot);
      }
    }
  }

  /**
   * Reads and verifies a snapshot stream into a new, invisible KV generation.
   *
   * @param expected the snapshot the stream must hold (from its install_snapshot message), or null
   *     to take whatever it holds (a restore from a backup)
   * @throws CorruptSnapshotException the stream is damaged, or not the expected snapshot, or from
   *     another cluster; nothing was installed
   */
  Staged stage(InputStream in, SnapshotMeta expected) throws IOException {
    RocksStore.KvColumns columns = store.stageKv();
    boolean done = false;
    try (Stager stager = new Stager(columns)) {
      SnapshotStreams.Summary summary = SnapshotStreams.read(in, stager::add);
      stager.flush();
      SnapshotHeader h = summary.header();
      if (!h.getClusterId().equals(clusterId)) {
        throw new CorruptSnapshotException(
            "the snapshot is of cluster '"
                + h.getClusterId()
                + "', this node's is '"
                + clusterId
                + "'");
      }
      if (expected != null && !h.getMeta().equals(expected)) {
        throw new CorruptSnapshotException(
            "the stream holds snapshot "
                + h.getMeta().getIndex()
                + " where "
                + expected.getIndex()
                + " was announced");
      }
      done = true;
      return new Staged(h.getMeta(), columns, summary);
    } finally {
      if (!done) {
        store.discardKv(columns);
      }
    }
  }

  /** Writes records into a staged generation in batches, without WAL. */
  private final class Stager implements AutoCloseable {
    private final RocksStore.KvColumns columns;
    private WriteBatch batch = new WriteBatch();
    private long bytes;

    Stager(RocksStore.KvColumns columns) {
      this.columns = columns;
    }

    void add(io.raftkv.proto.snapshot.SnapshotRecord r) throws IOException {
      ColumnFamilyHandle cf =
          r.getColumn() == SnapshotColumn.SNAPSHOT_COLUMN_KV ? columns.data() : columns.meta();
      try {
        batch.put(cf, r.getKey().toByteArray(), r.getValue().toByteArray());
      } catch (RocksDBException e) {
        throw new IOException("cannot stage the snapshot: " + e, e);
      }
      bytes += r.getKey().size() + r.getValue().size();
      if (bytes >= STAGING_BATCH_BYTES) {
        flush();
      }
    }

    void flush() throws IOException {
      DiskReserve.ensure(store.directory(), bytes, "staging a snapshot");
      try {
        store.db().write(store.stagingWrite(), batch);
      } catch (RocksDBException e) {
        throw new IOException("cannot stage the snapshot in " + store.directory() + ": " + e, e);
      }
      batch.close();
      batch = new WriteBatch();
      bytes = 0;
    }

    @Override
    public void close() {
      batch.close();
    }
  }

  /** A received snapshot staged in its own KV generation, waiting for the core's decision. */
  final class Staged implements SnapshotImage {
    private final SnapshotMeta meta;
    private final RocksStore.KvColumns columns;
    private final SnapshotStreams.Summary summary;
    private final AtomicBoolean settled = new AtomicBoolean();

    Staged(SnapshotMeta meta, RocksStore.KvColumns columns, SnapshotStreams.Summary summary) {
      this.meta = meta;
      this.columns = columns;
      this.summary = summary;
    }

    @Override
    public SnapshotMeta meta() {
      return meta;
    }

    SnapshotStreams.Summary summary() {
      return summary;
    }

    /** Not installed: its generation goes. */
    @Override
    public void close() {
      if (settled.compareAndSet(false, true)) {
        store.discardKv(columns);
      }
    }
  }

  /**
   * Replaces the state machine with a staged snapshot, atomically and durably (the generation
   * switch), then reloads the state machine's applied index and sessions from it.
   */
  void install(SnapshotImage image) {
    Staged s = (Staged) image;
    if (!s.settled.compareAndSet(false, true)) {
      throw new IllegalStateException("snapshot " + s.meta.getIndex() + " was already settled");
    }
    store.switchKv(s.columns);
    stateMachine.reload();
    if (stateMachine.appliedIndex() != s.meta.getIndex()
        || stateMachine.appliedTerm() != s.meta.getTerm()) {
      throw new StorageException(
          "the installed snapshot says it applied "
              + stateMachine.appliedIndex()
              + "/"
              + stateMachine.appliedTerm()
              + " but was announced as "
              + s.meta.getIndex()
              + "/"
              + s.meta.getTerm());
    }
    if (!stateMachine.configuration().equals(s.meta.getConfState())) {
      // An image taken before configurations were recorded with the applied index.
      stateMachine.recordConfiguration(s.meta.getConfState());
    }
    record(s.meta, s.summary.bytes());
  }

  /**
   * Makes the state machine's writes so far durable (a flush of its column families: they are
   * written without the WAL) on the store's background thread, so the log up to them may be
   * dropped: {@code done} hears there that they are (null) or why not; then call {@link
   * #recordSaved} from the node's loop.
   */
  void saveInBackground(java.util.function.Consumer<StorageException> done) {
    store.flushStateMachineInBackground(done);
  }

  /** Records {@code meta}, made durable, as the last snapshot unless a newer one is recorded. */
  void recordSaved(SnapshotMeta meta) {
    RocksStore.LastSnapshot last = store.lastSnapshot();
    if (last == null || last.header().getMeta().getIndex() < meta.getIndex()) {
      record(meta, estimatedBytes());
    }
  }

  /** The size of the state machine on disk (SST files and memtables of its column families). */
  long estimatedBytes() {
    RocksStore.KvColumns c = store.kvColumns();
    long total = 0;
    try {
      for (ColumnFamilyHandle cf : new ColumnFamilyHandle[] {c.data(), c.meta()}) {
        total += store.db().getLongProperty(cf, "rocksdb.total-sst-files-size");
        total += store.db().getLongProperty(cf, "rocksdb.cur-size-all-mem-tables");
      }
    } catch (RocksDBException e) {
      return -1;
    }
    return total;
  }

  private void record(SnapshotMeta meta, long bytes) {
    store.recordLastSnapshot(
        SnapshotHeader.newBuilder()
            .setMeta(meta)
            .setClusterId(clusterId)
            .setTakenAtMillis(System.currentTimeMillis())
            .build(),
        bytes);
  }

  /** The last snapshot saved or installed, or null. */
  RocksStore.LastSnapshot last() {
    return store.lastSnapshot();
  }
}
