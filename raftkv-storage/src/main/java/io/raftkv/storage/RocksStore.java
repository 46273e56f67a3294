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
 *   <li>{@value #CF_KV}: reserved for the user's keys and values.
 *   <li>{@value #CF_KV_META}: reserved for the state machine's last applied index and client
 *       sessions.
 * </ul>
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
  private final WriteOptions syncWrite;
  private final WriteOptions asyncWrite;
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
            .setDbWriteBufferSize(32L << 20);
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
        List.of(
            new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions),
            new ColumnFamilyDescriptor(utf8(CF_LOG), cfOptions),
            new ColumnFamilyDescriptor(utf8(CF_META), cfOptions),
            new ColumnFamilyDescriptor(utf8(CF_KV), cfOptions),
            new ColumnFamilyDescriptor(utf8(CF_KV_META), cfOptions));
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
      return store;
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
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

  /** Column family {@value #CF_KV}. */
  public ColumnFamilyHandle kvColumn() {
    return handles.get(3);
  }

  /** Column family {@value #CF_KV_META}. */
  public ColumnFamilyHandle kvMetaColumn() {
    return handles.get(4);
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
    StorageException failure = null;
    try {
      db.flushWal(true);
    } catch (RocksDBException e) {
      failure = new StorageException("cannot sync the WAL of " + directory + ": " + e, e);
    }
    for (ColumnFamilyHandle h : handles) {
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
