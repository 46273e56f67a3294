package io.raftkv.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.raftkv.client.retry.RetryPolicy;
import io.raftkv.client.retry.ServerRouting;
import io.raftkv.client.retry.WriteSession;
import io.raftkv.proto.kvs.AppendRequest;
import io.raftkv.proto.kvs.DeleteRequest;
import io.raftkv.proto.kvs.DirectGetRequest;
import io.raftkv.proto.kvs.GetRequest;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.KvServiceGrpc;
import io.raftkv.proto.kvs.KvServiceGrpc.KvServiceBlockingStub;
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.RegisterClientRequest;
import io.raftkv.proto.kvs.SessionHeader;
import io.raftkv.proto.kvs.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

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
 *   <li>Writes carry a session: a client id the cluster gives when the client registers (lazily,
 *       before its first write: RegisterClient through the log, dissertation §6.3) and a sequence
 *       number that starts at 1 and grows by one per write. Every retry of one write reuses the
 *       same (id, sequence), so the cluster applies it at most once. One write is outstanding at a
 *       time.
 *   <li>A write that may have been applied is never reported as failed: it ends with {@link
 *       OutcomeUnknownException}. On SESSION_EXPIRED the client registers a new session before its
 *       next write; if no earlier attempt of the write can have reached the log, the write is sent
 *       again under the new session at once, else its outcome is reported as unknown.
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

  private final RetryPolicy policy;
  private final Function<String, ManagedChannel> channelFactory;
  private final ServerRouting routing;
  private final ConcurrentHashMap<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /** One write outstanding at a time per session: writes hold this while they run. */
  private final Object writeLock = new Object();

  // Guarded by writeLock.
  private final WriteSession session;

  private KvClient(Builder b) {
    this.policy =
        new RetryPolicy(
            b.timeout.toNanos(),
            b.attemptTimeout.toNanos(),
            b.initialBackoff.toNanos(),
            b.maxBackoff.toNanos());
    this.channelFactory = b.channelFactory;
    this.session = new WriteSession();
    this.routing = new ServerRouting(b.servers);
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
    return routing.leader();
  }

  /** The current session's client id (0 before the first write, and after an expiry). */
  public long clientId() {
    synchronized (writeLock) {
      return session.clientId();
    }
  }

  /** The sequence number of the last write sent (0 before the first write of a session). */
  public long lastSequence() {
    synchronized (writeLock) {
      return session.lastSequence();
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

  private static final RegisterClientRequest REGISTER = RegisterClientRequest.getDefaultInstance();

  private interface WriteRpc {
    KvResponse call(KvServiceBlockingStub stub, SessionHeader session);
  }

  private interface ReadRpc {
    KvResponse call(KvServiceBlockingStub stub);
  }

  private KvResponse write(String op, WriteRpc rpc) throws KvException {
    synchronized (writeLock) {
      checkOpen();
      RetryPolicy.Operation o =
          policy.write(op, routing, session, System.nanoTime(), ThreadLocalRandom.current());
      return run(
          o, stub -> o.registering() ? stub.registerClient(REGISTER) : rpc.call(stub, o.session()));
    }
  }

  private KvResponse read(String op, String server, ReadRpc rpc) throws KvException {
    checkOpen();
    RetryPolicy.Operation o =
        policy.read(op, routing, server, System.nanoTime(), ThreadLocalRandom.current());
    return run(o, rpc);
  }

  /** Attempts until the policy says done or failed, sleeping its backoffs. */
  private KvResponse run(RetryPolicy.Operation o, ReadRpc rpc) throws KvException {
    while (true) {
      String server = o.target();
      long budget = o.attemptBudgetNanos(System.nanoTime());
      KvResponse response = null;
      RetryPolicy.Answer answer;
      try {
        KvServiceBlockingStub stub =
            KvServiceGrpc.newBlockingStub(channel(server))
                .withDeadlineAfter(budget, TimeUnit.NANOSECONDS);
        response = rpc.call(stub);
        answer = RetryPolicy.Answer.of(server, response);
      } catch (StatusRuntimeException e) {
        answer = transportFailure(server, e.getStatus(), budget);
      }
      RetryPolicy.Decision d = o.onAnswer(answer, System.nanoTime());
      switch (d.kind()) {
        case DONE -> {
          return response;
        }
        case FAIL -> throw d.error();
        case RETRY -> {
          // Closed, interrupted or overslept: end as the deadline would (a write that may have
          // applied is reported unknown, never failed).
          if (!sleep(d.delayNanos()) || closed || !o.hasTimeForAnAttempt(System.nanoTime())) {
            throw o.giveUp();
          }
        }
      }
    }
  }

  /** How a failed call reads to the policy: a deadline is TIMEOUT, a lost server UNAVAILABLE. */
  private static RetryPolicy.Answer transportFailure(
      String server, io.grpc.Status g, long budgetNanos) {
    String tls = ClientTls.handshakeFailure(g);
    if (tls != null) {
      // A configuration error, not a lost server: fail now, and say nothing was applied.
      return RetryPolicy.Answer.transportFailure(
          server, Status.INVALID_ARGUMENT, server + ": " + tls + "; not applied");
    }
    if (tooLarge(g)) {
      // Refused from its length prefix before any handler ran; every retry would be too.
      return RetryPolicy.Answer.transportFailure(
          server, Status.INVALID_ARGUMENT, server + ": " + tooLargeMessage(g) + "; not applied");
    }
    Status status =
        switch (g.getCode()) {
          case DEADLINE_EXCEEDED -> Status.TIMEOUT;
          case UNAVAILABLE, CANCELLED, RESOURCE_EXHAUSTED, ABORTED, UNKNOWN -> Status.UNAVAILABLE;
          default -> Status.INTERNAL;
        };
    String what = g.getDescription() != null ? g.getDescription() : g.getCode().toString();
    if (g.getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED) {
      what = "no answer within " + TimeUnit.NANOSECONDS.toMillis(budgetNanos) + " ms";
    } else if (g.getCode() == io.grpc.Status.Code.UNIMPLEMENTED) {
      // No KvService there (INTERNAL: not retried): nothing ran, so nothing was applied there.
      return RetryPolicy.Answer.transportFailure(
          server, status, server + " " + NOT_A_KV_PORT + "; nothing was applied there");
    }
    return RetryPolicy.Answer.transportFailure(server, status, server + ": " + what);
  }

  /** What a server without the KV service (UNIMPLEMENTED) is, probably. */
  static final String NOT_A_KV_PORT =
      "is not a KV port (it does not serve the KV service: a Raft port?)";

  /**
   * Whether gRPC refused a message for its size: the server's bound on requests (its
   * --max-key-bytes + --max-value-bytes and some overhead), checked from the length prefix before
   * the message is read, or this client's bound on responses.
   */
  static boolean tooLarge(io.grpc.Status g) {
    return g.getCode() == io.grpc.Status.Code.RESOURCE_EXHAUSTED
        && g.getDescription() != null
        && g.getDescription().contains("exceeds maximum size");
  }

  /** The one line for {@link #tooLarge}: gRPC's figures, and which server flags set the bound. */
  static String tooLargeMessage(io.grpc.Status g) {
    return "the message is too large ("
        + g.getDescription()
        + "); a server accepts a key and value of at most its --max-key-bytes and"
        + " --max-value-bytes";
  }

  /** Sleeps; false if interrupted (the interrupt is kept). */
  private static boolean sleep(long nanos) {
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  // ------------------------------------------------------------------ helpers

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

  /** A plaintext gRPC channel over OkHttp (cheap to start, unlike Netty) to "host:port". */
  static ManagedChannel okHttpChannel(String address) {
    return OkHttpChannelBuilder.forTarget(address).usePlaintext().build();
  }
}
