package io.raftkv.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.raftkv.proto.kvs.AppendRequest;
import io.raftkv.proto.kvs.DeleteRequest;
import io.raftkv.proto.kvs.DirectGetRequest;
import io.raftkv.proto.kvs.GetRequest;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.KvServiceGrpc;
import io.raftkv.proto.kvs.KvServiceGrpc.KvServiceBlockingStub;
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.SessionHeader;
import io.raftkv.proto.kvs.Status;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * A client of a raftkv cluster: finds the leader, retries, and makes writes exactly-once.
 *
 * <ul>
 *   <li>It knows every server, remembers the last leader, and follows the {@code leader_address}
 *       hint of a NOT_LEADER answer; without a hint it tries the next server. With no leader known
 *       it starts with the first server given.
 *   <li>Every operation has one overall deadline ({@link Builder#timeout}). Within it, transport
 *       failures, UNAVAILABLE and TIMEOUT are retried with exponential backoff (and jitter), each
 *       time on the next server.
 *   <li>Writes carry a session: a random non-zero 64-bit client id and a sequence number that
 *       starts at 1 and grows by one per write. Every retry of one write reuses the same (id,
 *       sequence), so the cluster applies it at most once. One write is outstanding at a time.
 *   <li>A write that may have been applied is never reported as failed: it ends with {@link
 *       OutcomeUnknownException}. On SESSION_EXPIRED the client starts a new session (new id,
 *       sequence 1); if no earlier attempt of the write can have reached the log, the write is sent
 *       again under the new session, else its outcome is reported as unknown.
 * </ul>
 *
 * <p>Thread-safe. Reads run concurrently; writes are serialized (one outstanding write per session,
 * as the protocol requires). Use one client per independent writer for write concurrency.
 */
public final class KvClient implements AutoCloseable {

  /** Configures a {@link KvClient}. */
  public static final class Builder {
    private final List<String> servers;
    private Duration timeout = Duration.ofSeconds(10);
    private Duration attemptTimeout = Duration.ofSeconds(6);
    private Duration initialBackoff = Duration.ofMillis(10);
    private Duration maxBackoff = Duration.ofMillis(500);
    private Function<String, ManagedChannel> channelFactory = KvClient::okHttpChannel;
    private LongSupplier clientIds;

    private Builder(List<String> servers) {
      if (servers.isEmpty()) {
        throw new IllegalArgumentException("no servers given");
      }
      for (String s : servers) {
        if (s == null || s.isBlank()) {
          throw new IllegalArgumentException("empty server address");
        }
      }
      this.servers = List.copyOf(servers);
    }

    /** The overall deadline of one operation, retries included (default 10 s). */
    public Builder timeout(Duration timeout) {
      this.timeout = positive(timeout, "timeout");
      return this;
    }

    /**
     * The deadline of one attempt (default 6 s, a bit above the server's default request timeout so
     * that the server's own TIMEOUT answer usually arrives first).
     */
    public Builder attemptTimeout(Duration attemptTimeout) {
      this.attemptTimeout = positive(attemptTimeout, "attempt timeout");
      return this;
    }

    /** The first retry's backoff (default 10 ms); it doubles up to {@link #maxBackoff}. */
    public Builder initialBackoff(Duration initialBackoff) {
      this.initialBackoff = positive(initialBackoff, "initial backoff");
      return this;
    }

    /** The largest backoff between retries (default 500 ms). */
    public Builder maxBackoff(Duration maxBackoff) {
      this.maxBackoff = positive(maxBackoff, "max backoff");
      return this;
    }

    /** How a channel to a "host:port" address is made (default: plaintext gRPC over OkHttp). */
    public Builder channelFactory(Function<String, ManagedChannel> channelFactory) {
      this.channelFactory = Objects.requireNonNull(channelFactory);
      return this;
    }

    /** Where session ids come from (default: SecureRandom); zeros are skipped. For tests. */
    public Builder clientIds(LongSupplier clientIds) {
      this.clientIds = Objects.requireNonNull(clientIds);
      return this;
    }

    public KvClient build() {
      if (maxBackoff.compareTo(initialBackoff) < 0) {
        throw new IllegalArgumentException("max backoff is below the initial backoff");
      }
      return new KvClient(this);
    }

    private static Duration positive(Duration d, String what) {
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(what + " must be positive: " + d);
      }
      return d;
    }
  }

  /** A client of the servers at these "host:port" addresses (any order; any one may lead). */
  public static Builder builder(List<String> servers) {
    return new Builder(servers);
  }

  /** A client with default settings. */
  public static KvClient connect(List<String> servers) {
    return builder(servers).build();
  }

  private static final long MIN_ATTEMPT_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  private final long timeoutNanos;
  private final long attemptTimeoutNanos;
  private final long initialBackoffNanos;
  private final long maxBackoffNanos;
  private final Function<String, ManagedChannel> channelFactory;
  private final LongSupplier clientIds;

  /** Known servers: the configured ones plus leaders learned from hints. Guarded by itself. */
  private final List<String> servers;

  private final ConcurrentHashMap<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private volatile String leader;
  private volatile boolean closed;

  private final Object writeLock = new Object();
  // Guarded by writeLock.
  private long clientId;
  private long lastSequence;

  private KvClient(Builder b) {
    this.timeoutNanos = b.timeout.toNanos();
    this.attemptTimeoutNanos = b.attemptTimeout.toNanos();
    this.initialBackoffNanos = b.initialBackoff.toNanos();
    this.maxBackoffNanos = b.maxBackoff.toNanos();
    this.channelFactory = b.channelFactory;
    this.clientIds = b.clientIds != null ? b.clientIds : () -> RandomIds.RANDOM.nextLong();
    this.servers = new ArrayList<>(b.servers);
  }

  // ------------------------------------------------------------------ operations

  /** Sets key to value. */
  public void put(byte[] key, byte[] value) throws KvException {
    ByteString k = ByteString.copyFrom(key);
    ByteString v = ByteString.copyFrom(value);
    write(
        "PUT",
        (stub, session) ->
            stub.put(PutRequest.newBuilder().setSession(session).setKey(k).setValue(v).build()));
  }

  /** Appends value to key's value (a missing key counts as empty). */
  public void append(byte[] key, byte[] value) throws KvException {
    ByteString k = ByteString.copyFrom(key);
    ByteString v = ByteString.copyFrom(value);
    write(
        "APPEND",
        (stub, session) ->
            stub.append(
                AppendRequest.newBuilder().setSession(session).setKey(k).setValue(v).build()));
  }

  /** Removes key; returns false when it did not exist (NO_KEY: nothing changed). */
  public boolean delete(byte[] key) throws KvException {
    ByteString k = ByteString.copyFrom(key);
    KvResponse r =
        write(
            "DELETE",
            (stub, session) ->
                stub.delete(DeleteRequest.newBuilder().setSession(session).setKey(k).build()));
    return r.getStatus() == Status.OK;
  }

  /** Reads key linearizably through the leader; empty when the key does not exist. */
  public Optional<byte[]> get(byte[] key) throws KvException {
    GetRequest req = GetRequest.newBuilder().setKey(ByteString.copyFrom(key)).build();
    return value(read("GET", null, stub -> stub.get(req)));
  }

  /**
   * Reads key from one server's local store, without Raft (may be stale); empty when that server
   * does not have the key. Transport failures are retried on that server until the deadline.
   */
  public Optional<byte[]> directGet(String server, byte[] key) throws KvException {
    Objects.requireNonNull(server);
    DirectGetRequest req = DirectGetRequest.newBuilder().setKey(ByteString.copyFrom(key)).build();
    return value(read("DIRECT_GET", server, stub -> stub.directGet(req)));
  }

  /** {@link #put(byte[], byte[])} with UTF-8 strings. */
  public void put(String key, String value) throws KvException {
    put(utf8(key), utf8(value));
  }

  /** {@link #append(byte[], byte[])} with UTF-8 strings. */
  public void append(String key, String value) throws KvException {
    append(utf8(key), utf8(value));
  }

  /** {@link #delete(byte[])} with a UTF-8 key. */
  public boolean delete(String key) throws KvException {
    return delete(utf8(key));
  }

  /** {@link #get(byte[])} with UTF-8 key and value. */
  public Optional<String> get(String key) throws KvException {
    return get(utf8(key)).map(v -> new String(v, StandardCharsets.UTF_8));
  }

  /** The last server known to lead, or null. */
  public String leader() {
    return leader;
  }

  /** The current session's client id (0 before the first write). */
  public long clientId() {
    synchronized (writeLock) {
      return clientId;
    }
  }

  /** The sequence number of the last write sent (0 before the first write of a session). */
  public long lastSequence() {
    synchronized (writeLock) {
      return lastSequence;
    }
  }

  @Override
  public void close() {
    closed = true;
    for (ManagedChannel ch : channels.values()) {
      ch.shutdownNow();
    }
    for (ManagedChannel ch : channels.values()) {
      try {
        ch.awaitTermination(1, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  // ------------------------------------------------------------------ the retry loops

  private interface WriteRpc {
    KvResponse call(KvServiceBlockingStub stub, SessionHeader session);
  }

  private interface ReadRpc {
    KvResponse call(KvServiceBlockingStub stub);
  }

  /** Result of one attempt: a server's answer, or a transport failure (response null). */
  private record Attempt(String server, KvResponse response, Status status, String message) {}

  private KvResponse write(String op, WriteRpc rpc) throws KvException {
    synchronized (writeLock) {
      checkOpen();
      long deadline = System.nanoTime() + timeoutNanos;
      SessionHeader session = nextSession();
      Route route = new Route();
      boolean maybeApplied = false;
      boolean renewed = false;
      Attempt last;
      while (true) {
        SessionHeader s = session;
        last = attempt(route.target(), deadline, stub -> rpc.call(stub, s));
        switch (last.status()) {
          case OK, NO_KEY -> {
            leader = last.server();
            return last.response();
          }
          case INVALID_ARGUMENT -> {
            // Refused as malformed (possibly by a follower, which checks before redirecting).
            throw new KvException(last.status(), last.message());
          }
          case INTERNAL -> {
            // A bug or storage failure on the server: it may have happened after the write was
            // proposed, so only "unknown" is safe to claim unless nothing can have applied.
            if (maybeApplied || last.response() != null) {
              throw new OutcomeUnknownException(
                  Status.INTERNAL, op + " outcome unknown: " + last.message());
            }
            throw new KvException(Status.INTERNAL, last.message());
          }
          case SESSION_EXPIRED -> {
            leader = last.server();
            // This attempt changed nothing; an earlier one may have been applied, though.
            newSession();
            if (!maybeApplied && renewed) {
              throw new KvException(Status.SESSION_EXPIRED, last.message());
            }
            if (maybeApplied) {
              throw new OutcomeUnknownException(
                  Status.SESSION_EXPIRED,
                  op
                      + " outcome unknown: the session expired ("
                      + last.message()
                      + "); an earlier attempt may have been applied");
            }
            renewed = true;
            session = nextSession();
            continue; // nothing was applied: send it again at once under the new session
          }
          case NOT_LEADER -> route.notLeader(last);
          default -> {
            // UNAVAILABLE, TIMEOUT or a transport failure: the write may have been applied.
            maybeApplied = true;
            route.failed(last.server());
          }
        }
        if (!route.pause(deadline)) {
          if (maybeApplied) {
            throw new OutcomeUnknownException(
                last.status(),
                op
                    + " outcome unknown: no answer within "
                    + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
                    + " ms; last: "
                    + last.message());
          }
          throw deadlineFailure(last);
        }
      }
    }
  }

  private KvResponse read(String op, String server, ReadRpc rpc) throws KvException {
    checkOpen();
    long deadline = System.nanoTime() + timeoutNanos;
    Route route = server == null ? new Route() : new Route(server);
    while (true) {
      Attempt last = attempt(route.target(), deadline, rpc::call);
      switch (last.status()) {
        case OK, NO_KEY -> {
          if (server == null) {
            leader = last.server();
          }
          return last.response();
        }
        case INVALID_ARGUMENT, INTERNAL, SESSION_EXPIRED ->
            throw new KvException(last.status(), last.message());
        case NOT_LEADER -> route.notLeader(last);
        default -> route.failed(last.server());
      }
      if (!route.pause(deadline)) {
        throw deadlineFailure(last);
      }
    }
  }

  private KvException deadlineFailure(Attempt last) {
    String within = "within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms";
    if (last.status() == Status.NOT_LEADER) {
      return new KvException(
          Status.UNAVAILABLE,
          "no leader found " + within + "; last: " + last.message(),
          last.response().getLeaderAddress());
    }
    return new KvException(last.status(), "no answer " + within + "; last: " + last.message());
  }

  private Attempt attempt(String server, long deadline, ReadRpc rpc) {
    long budget = Math.min(attemptTimeoutNanos, deadline - System.nanoTime());
    try {
      KvServiceBlockingStub stub =
          KvServiceGrpc.newBlockingStub(channel(server))
              .withDeadlineAfter(Math.max(budget, 1), TimeUnit.NANOSECONDS);
      KvResponse r = rpc.call(stub);
      String message = r.getMessage();
      if (message.isEmpty() && r.getStatus() != Status.OK) {
        message = defaultMessage(r.getStatus());
      }
      return new Attempt(server, r, r.getStatus(), message);
    } catch (StatusRuntimeException e) {
      io.grpc.Status g = e.getStatus();
      Status status =
          switch (g.getCode()) {
            case DEADLINE_EXCEEDED -> Status.TIMEOUT;
            case UNAVAILABLE, CANCELLED, RESOURCE_EXHAUSTED, ABORTED, UNKNOWN -> Status.UNAVAILABLE;
            default -> Status.INTERNAL;
          };
      String what = g.getDescription() != null ? g.getDescription() : g.getCode().toString();
      if (g.getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED) {
        what = "no answer within " + TimeUnit.NANOSECONDS.toMillis(Math.max(budget, 0)) + " ms";
      }
      return new Attempt(server, null, status, server + ": " + what);
    }
  }

  /**
   * Which server to try next within one operation, and how long to wait before the retry: a leader
   * hint is followed at once (a bounded number of times in a row); any other retry moves to the
   * next server after an exponentially growing, jittered backoff.
   */
  private final class Route {
    private final String fixed;
    private String target;
    private boolean followHint;
    private int hintsInARow;
    private long backoff = initialBackoffNanos;

    Route() {
      this.fixed = null;
      String l = leader;
      this.target = l != null ? l : firstServer();
    }

    Route(String fixed) {
      this.fixed = fixed;
      this.target = fixed;
    }

    String target() {
      return target;
    }

    void notLeader(Attempt a) {
      String hint = a.response().getLeaderAddress();
      if (a.server().equals(leader)) {
        leader = null;
      }
      if (fixed == null
          && !hint.isEmpty()
          && !hint.equals(a.server())
          && hintsInARow < serverCount()) {
        learn(hint);
        leader = hint;
        target = hint;
        followHint = true;
        hintsInARow++;
      } else {
        target = fixed != null ? fixed : nextServer(a.server());
        followHint = false;
      }
    }

    void failed(String server) {
      if (server.equals(leader)) {
        leader = null;
      }
      target = fixed != null ? fixed : nextServer(server);
      followHint = false;
    }

    /**
     * Waits before the next attempt; false if the deadline leaves no time for one. An attempt needs
     * at least a few milliseconds: one cut off by its deadline counts as possibly applied.
     */
    boolean pause(long deadline) {
      long minAttempt = Math.min(attemptTimeoutNanos, MIN_ATTEMPT_NANOS);
      if (followHint) {
        followHint = false;
        return deadline - System.nanoTime() >= minAttempt;
      }
      hintsInARow = 0;
      long sleep = backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1);
      backoff = Math.min(maxBackoffNanos, backoff * 2);
      long left = deadline - System.nanoTime();
      if (left < sleep + minAttempt) {
        return false;
      }
      try {
        TimeUnit.NANOSECONDS.sleep(sleep);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      return !closed && deadline - System.nanoTime() >= minAttempt;
    }
  }

  // ------------------------------------------------------------------ helpers

  private SessionHeader nextSession() {
    if (clientId == 0) {
      newSession();
    }
    lastSequence++;
    return SessionHeader.newBuilder().setClientId(clientId).setSequence(lastSequence).build();
  }

  private void newSession() {
    long id;
    do {
      id = clientIds.getAsLong();
    } while (id == 0 || id == clientId);
    clientId = id;
    lastSequence = 0;
  }

  private String firstServer() {
    synchronized (servers) {
      return servers.get(0);
    }
  }

  private String nextServer(String current) {
    synchronized (servers) {
      int i = servers.indexOf(current);
      return servers.get((i + 1) % servers.size());
    }
  }

  private int serverCount() {
    synchronized (servers) {
      return servers.size();
    }
  }

  private void learn(String server) {
    synchronized (servers) {
      if (!servers.contains(server)) {
        servers.add(server);
      }
    }
  }

  private ManagedChannel channel(String server) {
    return channels.computeIfAbsent(server, channelFactory);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the client is closed");
    }
  }

  private static Optional<byte[]> value(KvResponse r) {
    return r.getStatus() == Status.OK ? Optional.of(r.getValue().toByteArray()) : Optional.empty();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String defaultMessage(Status status) {
    return switch (status) {
      case OK -> "ok";
      case NOT_LEADER -> "not the leader";
      case NO_KEY -> "no such key";
      case INVALID_ARGUMENT -> "invalid argument";
      case UNAVAILABLE -> "the cluster is unavailable";
      case TIMEOUT -> "timed out";
      case INTERNAL -> "internal server error";
      case SESSION_EXPIRED -> "the client session expired";
      default -> "unrecognized status " + status;
    };
  }

  /** Session ids; created on first use (seeding costs start-up time a read does not need). */
  private static final class RandomIds {
    static final SecureRandom RANDOM = new SecureRandom();
  }

  /** A plaintext gRPC channel over OkHttp (cheap to start, unlike Netty) to "host:port". */
  static ManagedChannel okHttpChannel(String address) {
    return OkHttpChannelBuilder.forTarget(address).usePlaintext().build();
  }
}
