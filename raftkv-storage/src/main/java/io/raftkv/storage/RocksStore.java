package io.raftkv.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * One node's RocksDB instance: the durable Raft log and hard state now, the KV state machine later,
 * so that a state machine batch and the log live in one database (one WAL, one fsync per batch).
 *
 * <p>Column families:
 *
 * <ul>
 *   <li>{@value #CF_LOG}: the Raft log, key = index as 8-byte big-endian (so byte order is index
 *       order), value = the serialized {@code Entry}. Written by {@link RocksLogStorage}.
 *   <li>{@value #CF_META}: the hard state and the directory's identity and format version.
 *   <li>{@value #CF_KV}: the user's keys and values.
 *   <li>{@value #CF_KV_META}: the state machine's last applied index and client sessions.
 * </ul>
 *
 * <p>The two KV column families come in generations, so that a snapshot from the leader (§7)
 * replaces the whole state machine atomically: it is staged into a new generation ({@code kv.N},
 * {@code kv_meta.N}, invisible to the state machine), flushed to disk, and then one synced write of
 * {@code kv_generation} switches to it; the old generation is dropped. A crash before that write
 * leaves the old state (the half-staged generation is dropped at the next open), after it the new
 * one: never a mix. Generation 0 is named {@value #CF_KV} and {@value #CF_KV_META}.
 *
 * <p>Identity: the first {@link #open} of a directory records the {@link NodeIdentity}; every later
 * open must name the same one or fails with {@link DataDirectoryMismatchException}, changing
 * nothing. A directory that is not empty and holds no RocksDB is refused too (a mistyped path must
 * not get a database written into someone's files).
 *
 * <p>Thread-safety: RocksDB and the handles are safe to use from any thread; {@link #close} must
 * not race with other use (the handles and the database are invalid afterwards).
 */
public final class RocksStore implements AutoCloseable {
  public static final String CF_LOG = "log";
  public static final String CF_META = "meta";
  public static final String CF_KV = "kv";
  public static final String CF_KV_META = "kv_meta";

  /** The layout this code writes; a directory with another version is refused. */
  static final int FORMAT_VERSION = 1;

  static final byte[] META_FORMAT_VERSION = utf8("format_version");
  static final byte[] META_CLUSTER_ID = utf8("cluster_id");
  static final byte[] META_NODE_ID = utf8("node_id");
  static final byte[] META_HARD_STATE = utf8("hard_state");
  static final byte[] META_KV_GENERATION = utf8("kv_generation");
  static final byte[] META_LOG_START = utf8("log_start");
  static final byte[] META_LAST_SNAPSHOT = utf8("last_snapshot");

  /**
   * Reclaims the space of compacted log entries off the caller's thread (a manual compaction can
   * take a while); at most one runs, later requests while it runs are merged into one.
   */
  private final java.util.concurrent.ExecutorService compactor =
      java.util.concurrent.Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "rocksdb-log-compaction");
            t.setDaemon(true);
            return t;
          });

  private final java.util.concurrent.atomic.AtomicBoolean compactionQueued =
      new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * Files RocksDB itself leaves in a directory, even one whose creation was interrupted, and the
   * {@code lost+found} of a file system mounted there.
   */
  private static final Pattern ROCKSDB_FILE =
      Pattern.compile(
          "lost\\+found|CURRENT|IDENTITY|LOCK|LOG(\\.old\\.\\d+)?|MANIFEST-\\d+|OPTIONS-\\d+(\\.dbtmp)?"
              + "|\\d+\\.(log|sst|blob|dbtmp)|[0-9a-f-]+\\.dbtmp");

  static {
    RocksDB.loadLibrary();
  }

  private final Path directory;
  private final NodeIdentity identity;
  private boolean created;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final LRUCache blockCache;
  private final List<ColumnFamilyHandle> handles;
  private final RocksDB db;

  /** The KV column families in use; replaced together by {@link #switchKv}. */
  private volatile KvColumns kv;

  /** Generations switched away from: dropped, but their handles stay open until close. */
  private final List<ColumnFamilyHandle> retired = new ArrayList<>();

  private long nextGeneration;

  /** One generation of the KV column families. */
  public record KvColumns(long generation, ColumnFamilyHandle data, ColumnFamilyHandle meta) {}

  private final WriteOptions syncWrite;
  private final WriteOptions asyncWrite;
  private final WriteOptions stagingWrite = new WriteOptions().setDisableWAL(true);

  /**
   * The state machine's writes: no WAL. Its data reaches disk when RocksDB flushes (atomically,
   * with the applied index: see open) or when {@link #flushStateMachine} is called; a crash loses
   * the writes since, and the node re-applies them from the Raft log, which holds every entry after
   * the last snapshot (compaction only drops entries a flushed state covers). Writing them to the
   * WAL too put every value on disk twice more (issue 13).
   */
  private final WriteOptions stateMachineWrite = new WriteOptions().setDisableWAL(true);

  private boolean closed;

  private RocksStore(
      Path directory,
      NodeIdentity identity,
      DBOptions dbOptions,
      ColumnFamilyOptions cfOptions,
      LRUCache blockCache,
      List<ColumnFamilyHandle> handles,
      RocksDB db,
      WriteOptions syncWrite,
      WriteOptions asyncWrite) {
    this.directory = directory;
    this.identity = identity;
    this.dbOptions = dbOptions;
    this.cfOptions = cfOptions;
    this.blockCache = blockCache;
    this.handles = handles;
    this.db = db;
    this.syncWrite = syncWrite;
    this.asyncWrite = asyncWrite;
  }

  /**
   * Opens the node's database in {@code directory}, creating the directory and the database (and
   * recording {@code identity}, durably) when they do not exist yet.
   *
   * @throws DataDirectoryMismatchException the directory belongs to another node or cluster
   * @throws StorageException the directory cannot be created, is not writable, holds other files,
   *     is in use by another open store, or its database cannot be opened
   */
  public static RocksStore open(Path directory, NodeIdentity identity) {
    Path dir = directory.toAbsolutePath().normalize();
    prepareDirectory(dir);

    DBOptions dbOptions =
        new DBOptions()
            .setCreateIfMissing(true)
            .setCreateMissingColumnFamilies(true)
            // RocksDB's own diagnostics (the LOG file) stay small.
            .setKeepLogFileNum(4)
            .setMaxLogFileSize(8L << 20)
            // Memory: at most 32 MiB of memtables over all column families (a full one is
            // flushed), so a node's native memory stays bounded (RocksDB's default is 64 MiB per
            // column family).
            // WAL files are not recycled although an fdatasync after an overwrite is cheaper than
            // after an append (measured here: p50 0.13 vs 0.19 ms, p99 0.2 vs 0.9 ms): recycled
            // WALs have had recovery data-loss bugs, and RocksDB's own crash test runs without
            // them (facebook/rocksdb#12918). Durability first.
            .setDbWriteBufferSize(32L << 20)
            // A WAL file goes once every column family with data in it has been flushed; the
            // state machine's families change slowly under a compacted log, so without a bound
            // the WAL, not the data, set the directory's size (bench disk: 33 of 48 MiB). Past
            // this total RocksDB flushes the families that hold the oldest WAL back.
            .setMaxTotalWalSize(64L << 20)
            // The state machine writes without the WAL (the Raft log is its write-ahead log, see
            // stateMachineWrite()): its data and its applied index live in two column families
            // that must reach disk together, or a restart would re-apply entries onto data that
            // already holds them. Atomic flush writes every family's memtable in one step.
            .setAtomicFlush(true);
    // One 8 MiB block cache shared by every column family (the default is 8 MiB each).
    LRUCache blockCache = new LRUCache(8L << 20);
    ColumnFamilyOptions cfOptions =
        new ColumnFamilyOptions()
            .setWriteBufferSize(16L << 20)
            // Compressing at flush cost the leader ~2% of its CPU under load; values are the
            // clients' bytes, the log mostly the same bytes again: not worth compressing here.
            .setCompressionType(CompressionType.NO_COMPRESSION)
            .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(blockCache));
    List<ColumnFamilyDescriptor> descriptors =
        new ArrayList<>(
            List.of(
                new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions),
                new ColumnFamilyDescriptor(utf8(CF_LOG), cfOptions),
                new ColumnFamilyDescriptor(utf8(CF_META), cfOptions),
                new ColumnFamilyDescriptor(utf8(CF_KV), cfOptions),
                new ColumnFamilyDescriptor(utf8(CF_KV_META), cfOptions)));
    // Staged or retired KV generations (kv.N, kv_meta.N) must be opened too: RocksDB opens every
    // column family a database has or none.
    for (String name : existingColumnFamilies(dir)) {
      if (name.startsWith(CF_KV + ".") || name.startsWith(CF_KV_META + ".")) {
        descriptors.add(new ColumnFamilyDescriptor(utf8(name), cfOptions));
      }
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    RocksDB db;
    try {
      db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
    } catch (RocksDBException e) {
      cfOptions.close();
      dbOptions.close();
      blockCache.close();
      String why = String.valueOf(e.getMessage());
      // "While lock file: <dir>/LOCK: Resource temporarily unavailable" (another process) or
      // "lock hold by current process ... <dir>/LOCK: No locks available" (this one).
      if (why.contains("/LOCK:") || why.contains("lock hold by current process")) {
        throw new StorageException(
            "data directory " + dir + " is in use by another process or store (" + why + ")", e);
      }
      throw new StorageException("cannot open the database in " + dir + ": " + why, e);
    }
    RocksStore store =
        new RocksStore(
            dir,
            identity,
            dbOptions,
            cfOptions,
            blockCache,
            handles,
            db,
            new WriteOptions().setSync(true),
            new WriteOptions().setSync(false));
    try {
      store.created = store.checkOrRecordIdentity();
      store.selectKvGeneration(descriptors);
      return store;
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
  }

  /** The column families of the database in {@code dir}, or none if there is no database yet. */
  private static List<String> existingColumnFamilies(Path dir) {
    if (!Files.exists(dir.resolve("CURRENT"))) {
      return List.of();
    }
    try (org.rocksdb.Options options = new org.rocksdb.Options()) {
      List<String> names = new ArrayList<>();
      for (byte[] name : RocksDB.listColumnFamilies(options, dir.toString())) {
        names.add(new String(name, StandardCharsets.UTF_8));
      }
      return names;
    } catch (RocksDBException e) {
      throw new StorageException("cannot list the column families in " + dir + ": " + e, e);
    }
  }

  /**
   * Picks the KV generation {@code kv_generation} names and drops every other one: a generation
   * being staged when the process stopped, or one switched away from and not yet dropped.
   */
  private void selectKvGeneration(List<ColumnFamilyDescriptor> descriptors) {
    long current;
    try {
      byte[] g = db.get(metaColumn(), META_KV_GENERATION);
      current = g == null ? 0 : ByteBuffer.wrap(g).getLong();
    } catch (RocksDBException e) {
      throw new StorageException("cannot read the KV generation in " + directory + ": " + e, e);
    }
    ColumnFamilyHandle data = null;
    ColumnFamilyHandle meta = null;
    long highest = 0;
    for (int i = 3; i < descriptors.size(); i++) {
      String name = new String(descriptors.get(i).getName(), StandardCharsets.UTF_8);
      boolean isMeta = name.startsWith(CF_KV_META);
      int dot = name.indexOf('.');
      long generation = dot < 0 ? 0 : Long.parseLong(name.substring(dot + 1));
      highest = Math.max(highest, generation);
      ColumnFamilyHandle h = handles.get(i);
      if (generation == current) {
        if (isMeta) {
          meta = h;
        } else {
          data = h;
        }
      } else if (generation != 0) {
        dropQuietly(h);
      } else {
        retired.add(h); // generation 0's names stay (RocksDB recreates them at every open)
      }
    }
    if (data == null || meta == null) {
      throw new CorruptStorageException(
          "data directory " + directory + " has no column families for KV generation " + current);
    }
    kv = new KvColumns(current, data, meta);
    nextGeneration = highest + 1;
  }

  private void dropQuietly(ColumnFamilyHandle h) {
    try {
      db.dropColumnFamily(h);
    } catch (RocksDBException e) {
      throw new StorageException("cannot drop a stale KV generation in " + directory + ": " + e, e);
    }
    retired.add(h);
  }

  /**
   * Creates an empty KV generation to stage a snapshot into; invisible to the state machine until
   * {@link #switchKv}. Write it with {@link #stagingWrite()} (no WAL: it is flushed as a whole).
   */
  public synchronized KvColumns stageKv() {
    long g = nextGeneration++;
    try {
      ColumnFamilyHandle data =
          db.createColumnFamily(new ColumnFamilyDescriptor(utf8(CF_KV + "." + g), cfOptions));
      ColumnFamilyHandle meta =
          db.createColumnFamily(new ColumnFamilyDescriptor(utf8(CF_KV_META + "." + g), cfOptions));
      return new KvColumns(g, data, meta);
    } catch (RocksDBException e) {
      throw new StorageException("cannot stage a snapshot in " + directory + ": " + e, e);
    }
  }

  /** Options for the state machine's writes to its current generation (no WAL: see the field). */
  public WriteOptions stateMachineWrite() {
    return stateMachineWrite;
  }

  /**
   * Makes the state machine's writes so far durable: flushes its column families (data and metadata
   * together, atomic flush) to SST files and waits. Its state is then at least as new as its
   * applied index at this call after any crash, so the Raft log up to there may go.
   *
   * @throws StorageException the flush failed
   */
  public void flushStateMachine() {
    KvColumns c = kv;
    try (FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
      db.flush(flush, List.of(c.data(), c.meta()));
    } catch (RocksDBException e) {
      throw new StorageException("cannot flush the state machine in " + directory + ": " + e, e);
    }
  }

  /**
   * {@link #flushStateMachine} on the store's background thread, so the caller (the node's loop)
   * goes on meanwhile; {@code done} runs there afterwards with null, or with the failure. Nothing
   * runs once the store is closing. The flush covers every write made before this call.
   */
  public void flushStateMachineInBackground(java.util.function.Consumer<StorageException> done) {
    if (closed) {
      return;
    }
    try {
      compactor.execute(
          () -> {
            StorageException failure = null;
            try {
              flushStateMachine();
            } catch (StorageException e) {
              failure = e;
            }
            done.accept(failure);
          });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closing
    }
  }

  /** Options for writes into a staged generation: no WAL (the switch flushes it first). */
  public WriteOptions stagingWrite() {
    return stagingWrite;
  }

  /**
   * Makes {@code staged} the state machine's data, atomically and durably: flushes it, then records
   * it as current with a synced write (the commit point), then drops the old generation.
   */
  public synchronized void switchKv(KvColumns staged) {
    KvColumns old = kv;
    try (FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
      db.flush(flush, List.of(staged.data(), staged.meta()));
      db.put(
          metaColumn(),
          syncWrite,
          META_KV_GENERATION,
          ByteBuffer.allocate(8).putLong(staged.generation()).array());
    } catch (RocksDBException e) {
      throw new StorageException(
          "cannot switch to the staged snapshot in " + directory + ": " + e, e);
    }
    kv = staged;
    if (old.generation() != 0) {
      dropQuietly(old.data());
      dropQuietly(old.meta());
    } else {
      clearQuietly(old);
    }
  }

  /** Generation 0's column families cannot go (they are opened by name): they are emptied. */
  private void clearQuietly(KvColumns old) {
    try {
      clear(old.data());
      clear(old.meta());
    } catch (RocksDBException e) {
      throw new StorageException("cannot clear the old KV data in " + directory + ": " + e, e);
    }
  }

  private void clear(ColumnFamilyHandle cf) throws RocksDBException {
    byte[] first;
    byte[] last;
    try (RocksIterator it = db.newIterator(cf)) {
      it.seekToFirst();
      if (!it.isValid()) {
        return;
      }
      first = it.key();
      it.seekToLast();
      last = it.key();
    }
    db.deleteRange(cf, first, last);
    db.delete(cf, last);
  }

  /** Drops a staged generation that will not be installed. */
  public synchronized void discardKv(KvColumns staged) {
    if (staged.generation() == kv.generation()) {
      return;
    }
    dropQuietly(staged.data());
    dropQuietly(staged.meta());
  }

  /**
   * Compacts {@code cf} up to {@code end} in the background, so that the space of deleted ranges (a
   * compacted log, §7) is reclaimed now rather than whenever RocksDB would get to it.
   */
  public void compactInBackground(ColumnFamilyHandle cf, byte[] end) {
    if (closed || !compactionQueued.compareAndSet(false, true)) {
      return;
    }
    compactor.execute(
        () -> {
          compactionQueued.set(false);
          try (org.rocksdb.CompactRangeOptions options =
              new org.rocksdb.CompactRangeOptions().setExclusiveManualCompaction(false)) {
            db.compactRange(cf, null, end, options);
          } catch (RocksDBException | RuntimeException e) {
            // Only space is at stake: RocksDB's own compactions reclaim it later. Status shows it.
            lastCompactionFailure = e.toString();
          }
        });
  }

  private volatile String lastCompactionFailure;

  /** Why the last background compaction failed, or null. */
  public String lastCompactionFailure() {
    return lastCompactionFailure;
  }

  /** The last snapshot saved or installed: its header fields and size on disk. */
  public record LastSnapshot(io.raftkv.proto.snapshot.SnapshotHeader header, long bytes) {}

  /** Records the last snapshot (for status); written without sync (it is informational). */
  public void recordLastSnapshot(io.raftkv.proto.snapshot.SnapshotHeader header, long bytes) {
    byte[] value = header.toByteArray();
    try {
      db.put(
          metaColumn(),
          asyncWrite,
          META_LAST_SNAPSHOT,
          ByteBuffer.allocate(8 + value.length).putLong(bytes).put(value).array());
    } catch (RocksDBException e) {
      throw new StorageException("cannot record the snapshot in " + directory + ": " + e, e);
    }
  }

  /** The Raft log's size on disk (SST files and memtables), or -1 if RocksDB cannot tell. */
  public long logBytes() {
    try {
      return db.getLongProperty(logColumn(), "rocksdb.total-sst-files-size")
          + db.getLongProperty(logColumn(), "rocksdb.cur-size-all-mem-tables");
    } catch (RocksDBException e) {
      return -1;
    }
  }

  /** The last snapshot recorded, or null. */
  public LastSnapshot lastSnapshot() {
    try {
      byte[] raw = db.get(metaColumn(), META_LAST_SNAPSHOT);
      if (raw == null || raw.length < 8) {
        return null;
      }
      ByteBuffer b = ByteBuffer.wrap(raw);
      long bytes = b.getLong();
      return new LastSnapshot(
          io.raftkv.proto.snapshot.SnapshotHeader.parseFrom(
              java.util.Arrays.copyOfRange(raw, 8, raw.length)),
          bytes);
    } catch (RocksDBException | com.google.protobuf.InvalidProtocolBufferException e) {
      return null;
    }
  }

  /** The KV column families in use now. */
  public KvColumns kvColumns() {
    return kv;
  }

  private static void prepareDirectory(Path dir) {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new StorageException("data directory " + dir + " exists but is not a directory");
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException | SecurityException e) {
      throw new StorageException("cannot create data directory " + dir + ": " + describe(e), e);
    }
    if (!Files.isWritable(dir)) {
      throw new StorageException("data directory " + dir + " is not writable");
    }
    if (Files.exists(dir.resolve("CURRENT"))) {
      return;
    }
    try (Stream<Path> children = Files.list(dir)) {
      List<String> foreign =
          children
              .map(p -> p.getFileName().toString())
              .filter(name -> !ROCKSDB_FILE.matcher(name).matches())
              .sorted()
              .limit(3)
              .toList();
      if (!foreign.isEmpty()) {
        throw new StorageException(
            "data directory "
                + dir
                + " is not empty and holds no raftkv database (found "
                + String.join(", ", foreign)
                + "); refusing to use it");
      }
    } catch (IOException e) {
      throw new StorageException("cannot list data directory " + dir + ": " + describe(e), e);
    }
  }

  /**
   * Checks the recorded identity, or records ours in a new database.
   *
   * @return whether the identity was recorded now (a new database)
   */
  private boolean checkOrRecordIdentity() {
    try {
      byte[] version = db.get(metaColumn(), META_FORMAT_VERSION);
      byte[] cluster = db.get(metaColumn(), META_CLUSTER_ID);
      byte[] node = db.get(metaColumn(), META_NODE_ID);
      if (version == null && cluster == null && node == null) {
        if (db.get(metaColumn(), META_HARD_STATE) != null || !isEmpty(logColumn())) {
          throw new CorruptStorageException(
              "data directory " + directory + " holds Raft state but no node identity");
        }
        try (WriteBatch batch = new WriteBatch()) {
          batch.put(metaColumn(), META_FORMAT_VERSION, int32(FORMAT_VERSION));
          batch.put(metaColumn(), META_CLUSTER_ID, utf8(identity.clusterId()));
          batch.put(metaColumn(), META_NODE_ID, int32(identity.nodeId()));
          db.write(syncWrite, batch);
        }
        return true;
      }
      if (version == null || cluster == null || node == null || node.length != 4) {
        throw new CorruptStorageException(
            "data directory " + directory + " has an incomplete or unreadable identity record");
      }
      int format = ByteBuffer.wrap(version).getInt();
      NodeIdentity recorded =
          new NodeIdentity(
              new String(cluster, StandardCharsets.UTF_8), ByteBuffer.wrap(node).getInt());
      if (!recorded.equals(identity)) {
        throw new DataDirectoryMismatchException(directory, recorded, identity);
      }
      if (format != FORMAT_VERSION) {
        throw new StorageException(
            "data directory "
                + directory
                + " has storage format "
                + format
                + "; this build reads format "
                + FORMAT_VERSION);
      }
      return false;
    } catch (RocksDBException e) {
      throw new StorageException("cannot read the identity of " + directory + ": " + e, e);
    }
  }

  private boolean isEmpty(ColumnFamilyHandle cf) {
    try (RocksIterator it = db.newIterator(cf)) {
      it.seekToFirst();
      return !it.isValid();
    }
  }

  /** The data directory, absolute. */
  public Path directory() {
    return directory;
  }

  /** The identity this store was opened as (and that the directory records). */
  public NodeIdentity identity() {
    return identity;
  }

  /** Whether {@link #open} created this database (the node starts with an empty log). */
  public boolean created() {
    return created;
  }

  /** The database, for the state machine; valid until {@link #close}. */
  public RocksDB db() {
    return db;
  }

  /** Column family {@value #CF_LOG}. */
  public ColumnFamilyHandle logColumn() {
    return handles.get(1);
  }

  /** Column family {@value #CF_META}. */
  public ColumnFamilyHandle metaColumn() {
    return handles.get(2);
  }

  /** The user's keys and values (column family {@value #CF_KV} of the current generation). */
  public ColumnFamilyHandle kvColumn() {
    return kv.data();
  }

  /** The state machine's metadata ({@value #CF_KV_META} of the current generation). */
  public ColumnFamilyHandle kvMetaColumn() {
    return kv.meta();
  }

  /**
   * Shared write options owned by this store (do not close them): with {@code sync} a write returns
   * after the WAL is fsync'd; without, after it reached the OS (it survives a crash of this process
   * but not of the machine).
   */
  public WriteOptions writeOptions(boolean sync) {
    return sync ? syncWrite : asyncWrite;
  }

  /**
   * Makes every write so far durable (fsync of the WAL), then releases the database. Idempotent.
   * After it returns the directory can be opened again.
   *
   * @throws StorageException the final fsync failed (the database is closed all the same)
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    compactor.shutdown();
    try {
      if (!compactor.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS)) {
        db.cancelAllBackgroundWork(true);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    StorageException failure = null;
    try {
      // The state machine's writes are not in the WAL: flush them, or the next open re-applies
      // them from the log (correct, but slower).
      if (kv != null) {
        flushStateMachine();
      }
      db.flushWal(true);
    } catch (StorageException e) {
      failure = e;
    } catch (RocksDBException e) {
      failure = new StorageException("cannot sync the WAL of " + directory + ": " + e, e);
    }
    // Each handle closed once (by identity: a closed handle's equals would read freed memory).
    java.util.Set<ColumnFamilyHandle> all =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    all.addAll(handles);
    all.addAll(retired);
    KvColumns current = kv;
    if (current != null) {
      all.add(current.data());
      all.add(current.meta());
    }
    for (ColumnFamilyHandle h : all) {
      h.close();
    }
    try {
      db.closeE();
    } catch (RocksDBException e) {
      if (failure == null) {
        failure = new StorageException("cannot close the database in " + directory + ": " + e, e);
      }
    }
    syncWrite.close();
    asyncWrite.close();
    stagingWrite.close();
    stateMachineWrite.close();
    cfOptions.close();
    dbOptions.close();
    blockCache.close();
    if (failure != null) {
      throw failure;
    }
  }

  /** One line on why a file operation failed ("/a/b: Not a directory", "/a/b: access denied"). */
  private static String describe(Exception e) {
    if (e instanceof AccessDeniedException a) {
      return a.getFile() + ": permission denied";
    }
    if (e instanceof FileAlreadyExistsException f) {
      return f.getFile() + " exists and is not a directory";
    }
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return f.getMessage();
    }
    return e.toString();
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] int32(int v) {
    return ByteBuffer.allocate(4).putInt(v).array();
  }
}
