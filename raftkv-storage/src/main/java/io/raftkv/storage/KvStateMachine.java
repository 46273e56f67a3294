package io.raftkv.storage;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.raftkv.proto.kvs.AppliedState;
import io.raftkv.proto.kvs.ClientSession;
import io.raftkv.proto.kvs.KvCommand;
import io.raftkv.proto.kvs.Status;
import io.raftkv.proto.kvs.WriteResult;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The replicated key-value state machine, kept in a {@link KvEngine}: in the server a {@link
 * RocksStore} (user keys and values in column family {@value RocksStore#CF_KV}, metadata in {@value
 * RocksStore#CF_KV_META}), in the simulator a {@link MemoryKvEngine}; the logic here is the same
 * over both. The metadata are the last applied entry ({@link AppliedState}, key {@code "applied"})
 * and one {@link ClientSession} per client (key {@code 's'} + client id, 8 bytes big-endian).
 *
 * <h2>Atomicity</h2>
 *
 * Each {@link #apply} writes the KV changes of all its entries, the new last-applied index and
 * every session change in one {@link KvEngine.Batch} (a RocksDB write batch). The batch is not
 * fsync'd (the Raft log is durable and is replayed from {@link #appliedIndex()} + 1 after a crash),
 * but it is atomic: after a restart either all of it or none of it is there, so no operation is
 * lost or applied twice (APPEND is not idempotent).
 *
 * <h2>Operations</h2>
 *
 * <ul>
 *   <li>PUT sets the key. APPEND appends to the key's value; to a missing key it acts like PUT.
 *   <li>DELETE removes the key; of a missing key it answers {@link Status#NO_KEY} and changes
 *       nothing (as GET of a missing key does: the client learns the key was not there; etcd
 *       reports the same thing as "deleted: 0").
 *   <li>An empty key, or a command with no operation, answers {@link Status#INVALID_ARGUMENT}.
 *   <li>An entry whose data is not a {@link KvCommand} answers {@link Status#INTERNAL}; it is
 *       recorded as applied (the log must move on) and changes nothing.
 *   <li>{@link EntryType#ENTRY_NOOP} entries only advance the applied index (result OK).
 *   <li>{@link EntryType#ENTRY_CONFIG} entries (membership changes) are recorded as the
 *       configuration as of the applied index, which a restart hands to the consensus core (result
 *       OK).
 * </ul>
 *
 * <h2>Exactly-once</h2>
 *
 * Sessions are registered through the log (dissertation §6.3, RegisterClient): a {@code
 * register_client} command opens a session whose client id is its entry's index, unique and the
 * same on every replica, with no write applied yet (last sequence 0). A command with client id 0
 * has no session: it is applied each time it reaches the log. Otherwise the session of its client
 * id decides (see {@code SessionHeader} in kvs.proto):
 *
 * <ul>
 *   <li>sequence 0: INVALID_ARGUMENT, nothing changes;
 *   <li>unknown session (never registered, expired or evicted): {@link Status#SESSION_EXPIRED}
 *       whatever the sequence, and nothing changes, because the session that would tell whether the
 *       write was already applied is gone. A first write (sequence 1) retried after its session was
 *       evicted is thus never applied twice. Commands proposed before registration existed (without
 *       {@code registered_sessions}) keep their rule, sequence 1 starting a session, so an old log
 *       replays as it applied;
 *   <li>sequence == the session's last and the same command (operation, key and value, compared by
 *       a SHA-256 digest kept in the session): the cached result, with {@link Applied#duplicate()}
 *       set; nothing is applied again (the session counts as seen now);
 *   <li>sequence == the session's last but another command: INVALID_ARGUMENT naming the conflict,
 *       nothing changes (a client that reused a sequence number; answering the cached OK would tell
 *       it a write was applied that never was). The digest is in the log's commands and the session
 *       table only, so every replica decides the same;
 *   <li>sequence &lt; the session's last: INVALID_ARGUMENT ("stale sequence"), nothing changes;
 *   <li>sequence &gt; the session's last (gaps are allowed): applied, and its result cached.
 * </ul>
 *
 * <h2>Session expiry, deterministic</h2>
 *
 * The state machine's clock is the largest {@code leader_time_millis} among the commands applied so
 * far (never the local clock, and never going back when a leader with a slower clock takes over).
 * Before each command, sessions last seen more than {@link Options#sessionTtl()} before that clock
 * are removed; after a session is registered (or created), the least recently seen sessions (by the
 * log index of their last command) are evicted while there are more than {@link
 * Options#maxSessions()}. Both depend only on the applied entries, so every replica removes the
 * same sessions at the same index provided every replica runs with the same {@link Options}: they
 * are cluster-wide settings.
 *
 * <h2>Thread-safety</h2>
 *
 * {@link #apply} must be called from one thread at a time (the apply thread); the session table is
 * confined to it, and so is {@link #session}. {@link #get}, {@link #appliedIndex()}, {@link
 * #appliedTerm()} and {@link #sessionCount()} may be called from any thread concurrently with
 * apply: RocksDB reads are thread-safe and a batch becomes visible at once, and the applied index
 * is published only after its batch is written, so a reader that sees {@code appliedIndex() >= i}
 * reads a state that includes entry {@code i}. The {@link RocksStore} must stay open while this is
 * used.
 */
public final class KvStateMachine {
  /** Default {@link Options#sessionTtl()}: a client idle this long loses its session. */
  public static final Duration DEFAULT_SESSION_TTL = Duration.ofMinutes(10);

  /** Default {@link Options#maxSessions()}. */
  public static final int DEFAULT_MAX_SESSIONS = 65_536;

  static final byte[] APPLIED_KEY = RocksStore.utf8("applied");
  static final byte SESSION_PREFIX = 's';

  private static final WriteResult OK = WriteResult.newBuilder().setStatus(Status.OK).build();

  /**
   * Cluster-wide settings of the state machine: every replica must use the same ones, or their
   * session tables (and so their answers to retried writes) diverge.
   *
   * @param sessionTtl how long (of the leaders' clock) a client may stay silent and keep its
   *     session
   * @param maxSessions how many sessions are kept at most (least recently seen evicted first)
   */
  public record Options(Duration sessionTtl, int maxSessions) {
    public Options {
      Objects.requireNonNull(sessionTtl, "sessionTtl");
      if (sessionTtl.isNegative() || sessionTtl.isZero()) {
        throw new IllegalArgumentException("session TTL must be positive: " + sessionTtl);
      }
      if (maxSessions < 1) {
        throw new IllegalArgumentException("max sessions must be at least 1: " + maxSessions);
      }
    }

    /** {@link #DEFAULT_SESSION_TTL} and {@link #DEFAULT_MAX_SESSIONS}. */
    public static Options defaults() {
      return new Options(DEFAULT_SESSION_TTL, DEFAULT_MAX_SESSIONS);
    }
  }

  /**
   * The outcome of one log entry.
   *
   * @param index the entry's index
   * @param term the entry's term (with the index, tells a waiting proposer whether this is the
   *     entry it proposed or one that replaced it after a leader change)
   * @param clientId the command's client id (0 for no session, a no-op or an unparsable entry); for
   *     a registration, the new session's (the entry's index)
   * @param sequence the command's sequence (0 likewise, and for a registration)
   * @param result what to answer the client
   * @param duplicate whether the result comes from the session (a retry of a write already applied)
   *     rather than from applying this entry
   */
  public record Applied(
      long index, long term, long clientId, long sequence, WriteResult result, boolean duplicate) {
    public Status status() {
      return result.getStatus();
    }
  }

  /**
   * What one {@link #apply} did.
   *
   * @param appliedIndex the applied index afterwards
   * @param results exactly one per entry given, in the same order
   * @param expiredSessions sessions removed because their TTL passed
   * @param evictedSessions sessions removed because there were more than the maximum
   */
  public record ApplyResult(
      long appliedIndex, List<Applied> results, int expiredSessions, int evictedSessions) {
    public ApplyResult {
      results = List.copyOf(results);
    }
  }

  private final KvEngine engine;
  private final Options options;
  private final long ttlMillis;

  // Apply-thread state, reloaded from the database at open (and after a failed write).
  private final Map<Long, ClientSession> sessions = new HashMap<>();

  /** last_seen_index -> client id: sessions from least to most recently seen. */
  private final TreeMap<Long, Long> byLastSeen = new TreeMap<>();

  private long clockMillis;

  // Published to readers after each batch is written.
  private volatile long appliedIndex;
  private volatile long appliedTerm;
  private volatile int sessionCount;

  /** The configuration as of the applied index (the default instance: none applied yet). */
  private volatile ConfState configuration = ConfState.getDefaultInstance();

  /**
   * The members known to have held data (RecordDataHolders entries applied), ascending; an
   * immutable copy, replaced after each batch that changes it.
   */
  private volatile SortedSet<Integer> dataHolders = Collections.emptySortedSet();

  /** Opens the state machine in {@code store} with {@link Options#defaults()}. */
  public KvStateMachine(RocksStore store) {
    this(store, Options.defaults());
  }

  /**
   * Opens the state machine in {@code store}, reading its applied index and sessions.
   *
   * @throws CorruptStorageException the applied state or a session record is unreadable
   * @throws StorageException the database cannot be read
   */
  public KvStateMachine(RocksStore store, Options options) {
    this(KvEngine.rocks(Objects.requireNonNull(store, "store")), options);
  }

  /**
   * Opens the state machine in {@code engine}, reading its applied index and sessions (none in a
   * new {@link MemoryKvEngine}).
   *
   * @throws CorruptStorageException the applied state or a session record is unreadable
   * @throws StorageException the engine cannot be read
   */
  public KvStateMachine(KvEngine engine, Options options) {
    this.engine = Objects.requireNonNull(engine, "engine");
    this.options = Objects.requireNonNull(options, "options");
    this.ttlMillis = options.sessionTtl().toMillis();
    load();
  }

  private void load() {
    sessions.clear();
    byLastSeen.clear();
    AppliedState applied;
    try {
      byte[] raw = engine.getMeta(APPLIED_KEY);
      applied = raw == null ? AppliedState.getDefaultInstance() : AppliedState.parseFrom(raw);
    } catch (InvalidProtocolBufferException e) {
      throw corrupt("the applied index record is unreadable (" + e.getMessage() + ")", e);
    }
    engine.scanMeta(
        SESSION_PREFIX,
        (k, value) -> {
          if (k.length != 9) {
            throw corrupt("a session key has " + k.length + " bytes", null);
          }
          long clientId = ByteBuffer.wrap(k, 1, 8).getLong();
          ClientSession s;
          try {
            s = ClientSession.parseFrom(value);
          } catch (InvalidProtocolBufferException e) {
            throw corrupt(
                "the session of client " + Long.toUnsignedString(clientId) + " is unreadable", e);
          }
          Long other = byLastSeen.put(s.getLastSeenIndex(), clientId);
          if (other != null || s.getLastSeenIndex() > applied.getIndex()) {
            throw corrupt(
                "the session of client "
                    + Long.toUnsignedString(clientId)
                    + " has an impossible last-seen index "
                    + s.getLastSeenIndex(),
                null);
          }
          sessions.put(clientId, s);
        });
    clockMillis = applied.getClockMillis();
    configuration = applied.getConfiguration();
    dataHolders = Collections.unmodifiableSortedSet(new TreeSet<>(applied.getDataHoldersList()));
    appliedTerm = applied.getTerm();
    appliedIndex = applied.getIndex();
    sessionCount = sessions.size();
  }

  /**
   * The engine's contents were replaced underneath (a snapshot installed, §7): reads the applied
   * state and the sessions again. Apply thread only.
   *
   * @throws CorruptStorageException the applied state or a session record is unreadable
   */
  public void reload() {
    load();
  }

  /** The settings this state machine runs with. */
  public Options options() {
    return options;
  }

  /**
   * The configuration as of {@link #appliedIndex()}: the last configuration entry applied, or the
   * one of the snapshot installed (the default instance if none): what a restart hands to the
   * consensus core ({@code PersistentState#withConfiguration}).
   */
  public ConfState configuration() {
    return configuration;
  }

  /**
   * The members known to have held data as of {@link #appliedIndex()}: a node with one of these ids
   * that starts with an empty data directory lost its data (see kvs.proto's RecordDataHolders). Any
   * thread.
   */
  public SortedSet<Integer> dataHolders() {
    return dataHolders;
  }

  /**
   * Records {@code recorded} as the configuration as of the applied index, durably with it: after a
   * snapshot install (the snapshot's, §7), or the default instance after a restore from a backup (a
   * new cluster takes its members from its command line, as etcd's snapshot restore does). Apply
   * thread only.
   */
  public void recordConfiguration(ConfState recorded) {
    record(recorded, dataHolders);
  }

  /**
   * Makes this state (a backup just restored) the start of a new cluster: no configuration (the
   * members come from the command line, as etcd's snapshot restore takes --initial-cluster) and no
   * data holders (the new cluster's members have held none of its data yet, whatever their ids were
   * in the backed-up one). Apply thread only.
   */
  public void startNewCluster() {
    record(ConfState.getDefaultInstance(), Collections.emptySortedSet());
  }

  private void record(ConfState conf, SortedSet<Integer> holders) {
    try (KvEngine.Batch batch = engine.newBatch()) {
      batch.putMeta(
          APPLIED_KEY, appliedState(appliedIndex, appliedTerm, conf, holders).toByteArray());
      batch.commit();
    }
    configuration = conf;
    dataHolders = holders;
  }

  private AppliedState appliedState(
      long index, long term, ConfState conf, SortedSet<Integer> holders) {
    AppliedState.Builder b =
        AppliedState.newBuilder()
            .setIndex(index)
            .setTerm(term)
            .setClockMillis(clockMillis)
            .addAllDataHolders(holders);
    if (conf.getVotersCount() > 0) {
      b.setConfiguration(conf);
    }
    return b.build();
  }

  /** The index of the last applied entry (0 = none); Raft resumes applying at the next one. */
  public long appliedIndex() {
    return appliedIndex;
  }

  /** The term of the last applied entry (0 = none). */
  public long appliedTerm() {
    return appliedTerm;
  }

  /** The state machine clock: the largest leader time applied (apply thread only). */
  public long clockMillis() {
    return clockMillis;
  }

  /** How many client sessions are kept now. */
  public int sessionCount() {
    return sessionCount;
  }

  /** The session of {@code clientId}, if kept (apply thread only). */
  public Optional<ClientSession> session(long clientId) {
    return Optional.ofNullable(sessions.get(clientId));
  }

  /**
   * Reads {@code key} from the local state: what the entries up to {@link #appliedIndex()} made of
   * it. Linearizable only when the caller has waited for the applied index to reach a ReadIndex; as
   * such, DIRECT_GET.
   *
   * @throws StorageException the database cannot be read
   */
  public Optional<byte[]> get(byte[] key) {
    return Optional.ofNullable(engine.get(key));
  }

  /**
   * Applies committed entries in index order and commits all their effects in one atomic batch. The
   * entries must continue the applied index: Raft, restored from {@link #appliedIndex()}, never
   * hands an entry over twice, so one given twice is a driver bug and is refused.
   *
   * @return one result per entry, in order
   * @throws IllegalArgumentException the entries do not start right after the applied index or are
   *     not consecutive; nothing was applied
   * @throws StorageException the batch could not be written; nothing was applied (the in-memory
   *     state is reloaded from the database), and the node should stop
   */
  public ApplyResult apply(List<Entry> committed) {
    long expected = appliedIndex + 1;
    for (Entry e : committed) {
      if (e.getIndex() != expected) {
        throw new IllegalArgumentException(
            "cannot apply entry "
                + e.getIndex()
                + ": expected entry "
                + expected
                + " (the applied index is "
                + appliedIndex
                + ")");
      }
      expected++;
    }
    if (committed.isEmpty()) {
      return new ApplyResult(appliedIndex, List.of(), 0, 0);
    }

    Batch b = new Batch();
    List<Applied> results = new ArrayList<>(committed.size());
    try (KvEngine.Batch batch = engine.newBatch()) {
      b.batch = batch;
      long term = appliedTerm;
      ConfState conf = configuration;
      for (Entry e : committed) {
        if (e.getType() == EntryType.ENTRY_CONFIG) {
          conf = parseConfiguration(e);
        }
        results.add(applyOne(b, e));
        term = e.getTerm();
      }
      long lastIndex = committed.get(committed.size() - 1).getIndex();
      SortedSet<Integer> holders =
          b.newHolders == null ? dataHolders : Collections.unmodifiableSortedSet(b.newHolders);
      batch.putMeta(APPLIED_KEY, appliedState(lastIndex, term, conf, holders).toByteArray());
      batch.commit();
      configuration = conf;
      dataHolders = holders;
      appliedTerm = term;
      appliedIndex = lastIndex;
      sessionCount = sessions.size();
    } catch (RuntimeException e) {
      // The in-memory sessions and clock may be ahead of the database: go back to what it holds.
      load();
      throw e;
    }
    return new ApplyResult(appliedIndex, results, b.expired, b.evicted);
  }

  /** The state of one {@link #apply}: its write batch and the KV values it changed so far. */
  private static final class Batch {
    KvEngine.Batch batch;

    /** Keys written in this batch: their new value, or empty when deleted. */
    final Map<ByteBuffer, Optional<byte[]>> written = new HashMap<>();

    int expired;
    int evicted;

    /** The data holders as this batch leaves them; null while it changed none. */
    TreeSet<Integer> newHolders;
  }

  private ConfState parseConfiguration(Entry e) {
    try {
      return ConfState.parseFrom(e.getData());
    } catch (InvalidProtocolBufferException ex) {
      // The core parsed it when it was appended: a log that changed since is damaged.
      throw corrupt("configuration entry " + e.getIndex() + " is unreadable", ex);
    }
  }

  private Applied applyOne(Batch b, Entry e) {
    if (e.getType() == EntryType.ENTRY_NOOP || e.getType() == EntryType.ENTRY_CONFIG) {
      return new Applied(e.getIndex(), e.getTerm(), 0, 0, OK, false);
    }
    if (e.getType() != EntryType.ENTRY_NORMAL) {
      return new Applied(
          e.getIndex(),
          e.getTerm(),
          0,
          0,
          failure(Status.INTERNAL, "entry " + e.getIndex() + " has unknown type " + e.getType()),
          false);
    }
    KvCommand cmd;
    try {
      cmd = KvCommand.parseFrom(e.getData());
    } catch (InvalidProtocolBufferException ex) {
      return new Applied(
          e.getIndex(),
          e.getTerm(),
          0,
          0,
          failure(
              Status.INTERNAL,
              "entry " + e.getIndex() + " is not a KV command (" + ex.getMessage() + ")"),
          false);
    }
    if (cmd.getLeaderTimeMillis() > clockMillis) {
      clockMillis = cmd.getLeaderTimeMillis();
    }
    expireSessions(b);

    if (cmd.hasRegisterClient()) {
      return register(b, e);
    }
    if (cmd.hasRecordDataHolders()) {
      if (b.newHolders == null) {
        b.newHolders = new TreeSet<>(dataHolders);
      }
      b.newHolders.addAll(cmd.getRecordDataHolders().getNodeIdsList());
      return new Applied(e.getIndex(), e.getTerm(), 0, 0, OK, false);
    }
    long clientId = cmd.getClientId();
    long seq = cmd.getSequence();
    if (clientId == 0) {
      return new Applied(e.getIndex(), e.getTerm(), 0, seq, execute(b, cmd), false);
    }
    if (seq == 0) {
      return new Applied(
          e.getIndex(),
          e.getTerm(),
          clientId,
          seq,
          failure(Status.INVALID_ARGUMENT, "sequence numbers start at 1"),
          false);
    }
    ClientSession s = sessions.get(clientId);
    if (s == null && (seq != 1 || cmd.getRegisteredSessions())) {
      return new Applied(
          e.getIndex(),
          e.getTerm(),
          clientId,
          seq,
          failure(
              Status.SESSION_EXPIRED,
              "the session of client "
                  + Long.toUnsignedString(clientId, 16)
                  + " is unknown (never registered, expired or evicted); sequence "
                  + Long.toUnsignedString(seq)
                  + " was not applied now, register a new session"),
          false);
    }
    if (s != null && Long.compareUnsigned(seq, s.getLastSequence()) < 0) {
      return new Applied(
          e.getIndex(),
          e.getTerm(),
          clientId,
          seq,
          failure(
              Status.INVALID_ARGUMENT,
              "stale sequence "
                  + Long.toUnsignedString(seq)
                  + " of client "
                  + Long.toUnsignedString(clientId, 16)
                  + ": sequence "
                  + Long.toUnsignedString(s.getLastSequence())
                  + " was already applied"),
          false);
    }
    boolean duplicate = s != null && seq == s.getLastSequence();
    ByteString digest = commandDigest(cmd);
    if (duplicate
        && !s.getLastCommandDigest().isEmpty()
        && !s.getLastCommandDigest().equals(digest)) {
      return new Applied(
          e.getIndex(),
          e.getTerm(),
          clientId,
          seq,
          failure(
              Status.INVALID_ARGUMENT,
              "conflicting retry: sequence "
                  + Long.toUnsignedString(seq)
                  + " of client "
                  + Long.toUnsignedString(clientId, 16)
                  + " was already applied to another command; this "
                  + cmd.getOpCase()
                  + " was not applied (a new write needs the next sequence)"),
          false);
    }
    WriteResult result = duplicate ? s.getLastResult() : execute(b, cmd);
    ClientSession updated =
        ClientSession.newBuilder()
            .setLastSequence(seq)
            .setLastResult(result)
            .setLastSeenMillis(clockMillis)
            .setLastSeenIndex(e.getIndex())
            .setLastCommandDigest(duplicate ? s.getLastCommandDigest() : digest)
            .build();
    putSession(b, clientId, s, updated);
    if (s == null) {
      evictSessions(b);
    }
    return new Applied(e.getIndex(), e.getTerm(), clientId, seq, result, duplicate);
  }

  /**
   * Opens a session (§6.3, RegisterClient) whose client id is the entry's index: unique in the log
   * and the same on every replica, so no client can pick an id that names a session it never
   * opened. No write is applied under it yet (last sequence 0).
   */
  private Applied register(Batch b, Entry e) {
    long clientId = e.getIndex();
    ClientSession opened =
        ClientSession.newBuilder()
            .setLastResult(OK)
            .setLastSeenMillis(clockMillis)
            .setLastSeenIndex(e.getIndex())
            .build();
    putSession(b, clientId, sessions.get(clientId), opened);
    evictSessions(b);
    return new Applied(e.getIndex(), e.getTerm(), clientId, 0, OK, false);
  }

  /**
   * SHA-256 of what a write does: its operation, key and value, each length-prefixed. Not the
   * session or the leader's time, which differ between attempts of one write.
   */
  static ByteString commandDigest(KvCommand cmd) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    ByteString key;
    ByteString value = ByteString.EMPTY;
    switch (cmd.getOpCase()) {
      case PUT -> {
        key = cmd.getPut().getKey();
        value = cmd.getPut().getValue();
      }
      case APPEND -> {
        key = cmd.getAppend().getKey();
        value = cmd.getAppend().getValue();
      }
      case DELETE -> key = cmd.getDelete().getKey();
      default -> key = ByteString.EMPTY;
    }
    ByteBuffer header = ByteBuffer.allocate(4).putInt(cmd.getOpCase().getNumber()).flip();
    sha.update(header);
    for (ByteString part : List.of(key, value)) {
      sha.update(ByteBuffer.allocate(4).putInt(part.size()).flip());
      sha.update(part.asReadOnlyByteBuffer());
    }
    return ByteString.copyFrom(sha.digest());
  }

  /** Carries out the command's operation on the KV data (in the batch). */
  private WriteResult execute(Batch b, KvCommand cmd) {
    switch (cmd.getOpCase()) {
      case PUT -> {
        ByteString key = cmd.getPut().getKey();
        if (key.isEmpty()) {
          return failure(Status.INVALID_ARGUMENT, "the key is empty");
        }
        write(b, key.toByteArray(), cmd.getPut().getValue().toByteArray());
        return OK;
      }
      case APPEND -> {
        ByteString key = cmd.getAppend().getKey();
        if (key.isEmpty()) {
          return failure(Status.INVALID_ARGUMENT, "the key is empty");
        }
        byte[] k = key.toByteArray();
        ByteString suffix = cmd.getAppend().getValue();
        byte[] value =
            read(b, k)
                .map(old -> ByteString.copyFrom(old).concat(suffix))
                .orElse(suffix)
                .toByteArray();
        write(b, k, value);
        return OK;
      }
      case DELETE -> {
        ByteString key = cmd.getDelete().getKey();
        if (key.isEmpty()) {
          return failure(Status.INVALID_ARGUMENT, "the key is empty");
        }
        byte[] k = key.toByteArray();
        if (read(b, k).isEmpty()) {
          return failure(Status.NO_KEY, "no such key");
        }
        b.written.put(ByteBuffer.wrap(k), Optional.empty());
        b.batch.delete(k);
        return OK;
      }
      default -> {
        return failure(Status.INVALID_ARGUMENT, "the command has no operation");
      }
    }
  }

  private Optional<byte[]> read(Batch b, byte[] key) {
    Optional<byte[]> pending = b.written.get(ByteBuffer.wrap(key));
    if (pending != null) {
      return pending;
    }
    return Optional.ofNullable(engine.get(key));
  }

  private void write(Batch b, byte[] key, byte[] value) {
    b.written.put(ByteBuffer.wrap(key), Optional.of(value));
    b.batch.put(key, value);
  }

  /** Removes the sessions whose last command is more than the TTL before the clock. */
  private void expireSessions(Batch b) {
    while (!byLastSeen.isEmpty()) {
      long clientId = byLastSeen.firstEntry().getValue();
      ClientSession oldest = sessions.get(clientId);
      // Sessions are ordered by last-seen index, and the clock never goes back, so their
      // last-seen times are ordered too: the first one that is alive ends the scan.
      if (clockMillis - oldest.getLastSeenMillis() <= ttlMillis) {
        return;
      }
      removeSession(b, clientId, oldest);
      b.expired++;
    }
  }

  /** Evicts the least recently seen sessions while there are too many. */
  private void evictSessions(Batch b) {
    while (sessions.size() > options.maxSessions()) {
      long clientId = byLastSeen.firstEntry().getValue();
      removeSession(b, clientId, sessions.get(clientId));
      b.evicted++;
    }
  }

  private void putSession(Batch b, long clientId, ClientSession old, ClientSession updated) {
    if (old != null) {
      byLastSeen.remove(old.getLastSeenIndex());
    }
    sessions.put(clientId, updated);
    byLastSeen.put(updated.getLastSeenIndex(), clientId);
    b.batch.putMeta(sessionKey(clientId), updated.toByteArray());
  }

  private void removeSession(Batch b, long clientId, ClientSession s) {
    sessions.remove(clientId);
    byLastSeen.remove(s.getLastSeenIndex());
    b.batch.deleteMeta(sessionKey(clientId));
  }

  static byte[] sessionKey(long clientId) {
    return ByteBuffer.allocate(9).put(SESSION_PREFIX).putLong(clientId).array();
  }

  private static WriteResult failure(Status status, String message) {
    return WriteResult.newBuilder().setStatus(status).setMessage(message).build();
  }

  private CorruptStorageException corrupt(String what, Throwable cause) {
    return new CorruptStorageException(engine.describe() + " is corrupt: " + what, cause);
  }
}
