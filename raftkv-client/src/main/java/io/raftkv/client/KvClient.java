package io.raftkv.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
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
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.RegisterClientRequest;
import io.raftkv.proto.kvs.SessionHeader;
import io.raftkv.proto.kvs.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.random.RandomGenerator;

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
 * <p>Every operation comes blocking ({@link #put(byte[], byte[])}) and asynchronous ({@link
 * #putAsync(byte[], byte[])}: a {@link CompletableFuture}, as jetcd's). Both run the same steps of
 * the same {@link RetryPolicy} over asynchronous gRPC calls; a blocking call runs them on the
 * calling thread while it waits (no hand-off, no timer thread, as gRPC's blocking stubs), an
 * asynchronous one on gRPC's callback threads, with its backoffs on a timer shared by every client
 * of the process ({@link Builder#timer}). No thread waits for an asynchronous call, so one process
 * can keep thousands in flight.
 *
 * <p>Thread-safe. Reads run concurrently. Writes are queued, blocking and asynchronous alike: one
 * is in flight at a time (exactly-once needs it: the cluster keeps the last sequence's result only,
 * so a retry of write n must not race write n+1), sent in the order they were called, and a write's
 * deadline starts when it leaves the queue. Use one client per independent writer for write
 * concurrency.
 */
public final class KvClient implements AutoCloseable {

  /** Configures a {@link KvClient}. Not thread-safe: configure it from one thread. */
  public static final class Builder {
    private final List<String> servers;
    private Duration timeout = Duration.ofSeconds(10);
    private Duration attemptTimeout = Duration.ofSeconds(6);
    private Duration initialBackoff = Duration.ofMillis(10);
    private Duration maxBackoff = Duration.ofMillis(500);
    private Function<String, ManagedChannel> channelFactory = KvClient::okHttpChannel;
    private ScheduledExecutorService timer;

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

    /**
     * How a channel to a "host:port" address is made (default: plaintext gRPC over OkHttp). The
     * channel's executor runs the asynchronous calls' steps and their futures' dependent stages;
     * gRPC's default, a cached pool, grows a thread per concurrent callback: with many calls in
     * flight, give a bounded executor, or {@code directExecutor()} if those stages never block.
     */
    public Builder channelFactory(Function<String, ManagedChannel> channelFactory) {
      this.channelFactory = Objects.requireNonNull(channelFactory);
      return this;
    }

    /**
     * The timer of the asynchronous calls' backoffs (default: one daemon thread shared by every
     * client of the process, started at the first backoff). The client does not shut it down.
     * Blocking calls wait out their backoffs on the calling thread.
     */
    public Builder timer(ScheduledExecutorService timer) {
      this.timer = Objects.requireNonNull(timer);
      return this;
    }

    /** A new client with these settings (it connects lazily, at its first call). */
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

  /**
   * A client of the servers at these "host:port" addresses (any order; any one may lead).
   * Thread-safe.
   */
  public static Builder builder(List<String> servers) {
    return new Builder(servers);
  }

  /** A client with default settings. Thread-safe. */
  public static KvClient connect(List<String> servers) {
    return builder(servers).build();
  }

  /**
   * The random source of the backoffs' jitter: each call draws from the calling thread's own
   * generator (an operation's steps run on several threads; a ThreadLocalRandom must not be handed
   * from one to another).
   */
  private static final RandomGenerator JITTER = () -> ThreadLocalRandom.current().nextLong();

  private static final AsyncOperation.Rpc<RegisterClientRequest> REGISTER =
      new AsyncOperation.Rpc<>(
          KvServiceGrpc.getRegisterClientMethod(), RegisterClientRequest.getDefaultInstance());

  private final RetryPolicy policy;
  private final Function<String, ManagedChannel> channelFactory;
  private final ServerRouting routing;
  private final TimerExecutor async;
  private final ConcurrentHashMap<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /**
   * Guards the session and the write queue. Held briefly (to take a sequence number, to let the
   * policy update the session, to queue a write), never while a write waits for its answer.
   */
  private final Object writeLock = new Object();

  // Guarded by writeLock.
  private final WriteSession session;

  // Guarded by writeLock: writes waiting for the one in flight (one at a time per session).
  private final ArrayDeque<Write> queuedWrites = new ArrayDeque<>();
  private boolean writing;

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
    this.async = new TimerExecutor(b.timer);
  }

  // ------------------------------------------------------------------ blocking operations

  /**
   * Sets key to value; returns once the cluster has applied it.
   *
   * <p>Thread-safe; waits for this client's earlier writes first (see the class comment). Runs on
   * the calling thread: its backoffs are sleeps, an interrupt ends it as its deadline would.
   *
   * @throws KvException if it failed ({@link OutcomeUnknownException} if it may have applied)
   * @throws IllegalStateException if the client is closed
   */
  public void put(byte[] key, byte[] value) throws KvException {
    BlockingWait w = new BlockingWait();
    await(w, put(key, value, w));
  }

  /**
   * Appends value to key's value (a missing key counts as empty). Thread-safety and errors as
   * {@link #put(byte[], byte[])}.
   */
  public void append(byte[] key, byte[] value) throws KvException {
    BlockingWait w = new BlockingWait();
    await(w, append(key, value, w));
  }

  /**
   * Removes key; returns false when it did not exist (NO_KEY: nothing changed). Thread-safety and
   * errors as {@link #put(byte[], byte[])}.
   */
  public boolean delete(byte[] key) throws KvException {
    BlockingWait w = new BlockingWait();
    return await(w, delete(key, w)).getStatus() == Status.OK;
  }

  /**
   * Reads key linearizably through the leader; empty when the key does not exist.
   *
   * <p>Thread-safe; reads run concurrently with each other and with writes. Runs on the calling
   * thread, as {@link #put(byte[], byte[])}.
   *
   * @throws KvException if it failed
   * @throws IllegalStateException if the client is closed
   */
  public Optional<byte[]> get(byte[] key) throws KvException {
    BlockingWait w = new BlockingWait();
    return value(await(w, get(key, w)));
  }

  /**
   * Reads key from one server's local store, without Raft (may be stale); empty when that server
   * does not have the key. Transport failures are retried on that server until the deadline.
   * Thread-safety and errors as {@link #get(byte[])}.
   */
  public Optional<byte[]> directGet(String server, byte[] key) throws KvException {
    BlockingWait w = new BlockingWait();
    return value(await(w, directGet(server, key, w)));
  }

  /** {@link #put(byte[], byte[])} with UTF-8 strings; thread-safety and errors as that. */
  public void put(String key, String value) throws KvException {
    put(utf8(key), utf8(value));
  }

  /** {@link #append(byte[], byte[])} with UTF-8 strings; thread-safety and errors as that. */
  public void append(String key, String value) throws KvException {
    append(utf8(key), utf8(value));
  }

  /** {@link #delete(byte[])} with a UTF-8 key; thread-safety and errors as that. */
  public boolean delete(String key) throws KvException {
    return delete(utf8(key));
  }

  /** {@link #get(byte[])} with UTF-8 key and value; thread-safety and errors as that. */
  public Optional<String> get(String key) throws KvException {
    return get(utf8(key)).map(v -> new String(v, StandardCharsets.UTF_8));
  }

  // ------------------------------------------------------------------ asynchronous operations

  /**
   * {@link #put(byte[], byte[])} without waiting: the future completes once the cluster has applied
   * the write, or exceptionally with the same {@link KvException} (or {@link
   * OutcomeUnknownException}) the blocking call would throw.
   *
   * <p>Thread-safe. Writes are queued: they are sent one at a time, in the order they were called
   * (their sequence numbers follow that order), and a write's deadline starts when it leaves the
   * queue; the queue is unbounded, so a caller that writes faster than the cluster applies bounds
   * its own writes in flight. The future completes on a gRPC or timer thread (or the caller's, if
   * the operation ends at once): dependent stages must not block there (use the {@code ...Async}
   * stages with an executor of your own for slow work). Cancelling the future stops the write (its
   * outcome is then unknown); the next one waits until it has ended.
   *
   * @throws IllegalStateException if the client is closed
   */
  public CompletableFuture<Void> putAsync(byte[] key, byte[] value) {
    return outcome(put(key, value, async), r -> null);
  }

  /**
   * {@link #append(byte[], byte[])} without waiting; thread-safety, queueing and errors as {@link
   * #putAsync(byte[], byte[])}.
   */
  public CompletableFuture<Void> appendAsync(byte[] key, byte[] value) {
    return outcome(append(key, value, async), r -> null);
  }

  /**
   * {@link #delete(byte[])} without waiting: true if the key existed; thread-safety, queueing and
   * errors as {@link #putAsync(byte[], byte[])}.
   */
  public CompletableFuture<Boolean> deleteAsync(byte[] key) {
    return outcome(delete(key, async), r -> r.getStatus() == Status.OK);
  }

  /**
   * {@link #get(byte[])} without waiting: the future completes with the value (empty when the key
   * does not exist), or exceptionally with the {@link KvException} the blocking call would throw.
   *
   * <p>Thread-safe; reads are not queued (any number may be in flight, beside the writes). A read
   * called after a write may run before it: to read your write, call it when the write's future
   * completes. Completion thread and cancelling as {@link #putAsync(byte[], byte[])}.
   *
   * @throws IllegalStateException if the client is closed
   */
  public CompletableFuture<Optional<byte[]>> getAsync(byte[] key) {
    return outcome(get(key, async), KvClient::value);
  }

  /**
   * {@link #directGet(String, byte[])} without waiting; thread-safety and errors as {@link
   * #getAsync(byte[])}.
   */
  public CompletableFuture<Optional<byte[]>> directGetAsync(String server, byte[] key) {
    return outcome(directGet(server, key, async), KvClient::value);
  }

  // ------------------------------------------------------------------ state

  /** The last server known to lead, or null. Thread-safe. */
  public String leader() {
    return routing.leader();
  }

  /**
   * The current session's client id (0 before the first write, and after an expiry). Thread-safe.
   */
  public long clientId() {
    synchronized (writeLock) {
      return session.clientId();
    }
  }

  /**
   * The sequence number of the last write sent (0 before the first write of a session).
   * Thread-safe.
   */
  public long lastSequence() {
    synchronized (writeLock) {
      return session.lastSequence();
    }
  }

  /**
   * Closes the channels. Operations in flight end as at their deadline (a write that may have
   * applied with {@link OutcomeUnknownException}); queued writes, never sent, fail with
   * UNAVAILABLE; later calls throw IllegalStateException. Thread-safe; idempotent.
   */
  @Override
  public void close() {
    closed = true;
    List<Write> refused;
    synchronized (writeLock) {
      refused = new ArrayList<>(queuedWrites);
      queuedWrites.clear();
    }
    for (Write w : refused) {
      w.result.completeExceptionally(notSent(w.op, "the client was closed"));
    }
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

  // ------------------------------------------------------------------ operations, on an executor

  /** An operation started (or queued) and how to stop it. */
  private interface Handle {
    CompletableFuture<KvResponse> result();

    void abort();
  }

  private Handle put(byte[] key, byte[] value, OperationExecutor ex) {
    ByteString k = ByteString.copyFrom(key);
    ByteString v = ByteString.copyFrom(value);
    return write(
        "PUT",
        s ->
            new AsyncOperation.Rpc<>(
                KvServiceGrpc.getPutMethod(),
                PutRequest.newBuilder().setSession(s).setKey(k).setValue(v).build()),
        ex);
  }

  private Handle append(byte[] key, byte[] value, OperationExecutor ex) {
    ByteString k = ByteString.copyFrom(key);
    ByteString v = ByteString.copyFrom(value);
    return write(
        "APPEND",
        s ->
            new AsyncOperation.Rpc<>(
                KvServiceGrpc.getAppendMethod(),
                AppendRequest.newBuilder().setSession(s).setKey(k).setValue(v).build()),
        ex);
  }

  private Handle delete(byte[] key, OperationExecutor ex) {
    ByteString k = ByteString.copyFrom(key);
    return write(
        "DELETE",
        s ->
            new AsyncOperation.Rpc<>(
                KvServiceGrpc.getDeleteMethod(),
                DeleteRequest.newBuilder().setSession(s).setKey(k).build()),
        ex);
  }

  private Handle get(byte[] key, OperationExecutor ex) {
    GetRequest req = GetRequest.newBuilder().setKey(ByteString.copyFrom(key)).build();
    return read("GET", null, new AsyncOperation.Rpc<>(KvServiceGrpc.getGetMethod(), req), ex);
  }

  private Handle directGet(String server, byte[] key, OperationExecutor ex) {
    Objects.requireNonNull(server);
    DirectGetRequest req = DirectGetRequest.newBuilder().setKey(ByteString.copyFrom(key)).build();
    return read(
        "DIRECT_GET",
        server,
        new AsyncOperation.Rpc<>(KvServiceGrpc.getDirectGetMethod(), req),
        ex);
  }

  // ------------------------------------------------------------------ reads and the write queue

  private Handle read(String op, String server, AsyncOperation.Rpc<?> rpc, OperationExecutor ex) {
    checkOpen();
    CompletableFuture<KvResponse> result = new CompletableFuture<>();
    RetryPolicy.Operation o = policy.read(op, routing, server, System.nanoTime(), JITTER);
    AsyncOperation a =
        new AsyncOperation(o, x -> rpc, ex, this::channel, () -> closed, null, () -> {}, result);
    a.start();
    return new Handle() {
      @Override
      public CompletableFuture<KvResponse> result() {
        return result;
      }

      @Override
      public void abort() {
        a.abort();
      }
    };
  }

  /**
   * A write, queued until the one in flight has ended: exactly-once needs one outstanding write per
   * session (the cluster caches the last sequence's result only, and a retry must not overtake a
   * later write), and FIFO keeps the sequence numbers in call order.
   */
  private final class Write implements Handle {
    final String op;
    final Function<SessionHeader, AsyncOperation.Rpc<?>> rpc;
    final OperationExecutor executor;
    final CompletableFuture<KvResponse> result = new CompletableFuture<>();

    // Guarded by writeLock.
    AsyncOperation running;
    boolean aborted;

    Write(String op, Function<SessionHeader, AsyncOperation.Rpc<?>> rpc, OperationExecutor ex) {
      this.op = op;
      this.rpc = rpc;
      this.executor = ex;
    }

    @Override
    public CompletableFuture<KvResponse> result() {
      return result;
    }

    @Override
    public void abort() {
      AsyncOperation a;
      boolean dequeued;
      synchronized (writeLock) {
        aborted = true;
        a = running;
        dequeued = queuedWrites.remove(this);
      }
      if (dequeued) {
        result.completeExceptionally(notSent(op, "it was cancelled or interrupted"));
      } else if (a != null) {
        a.abort();
      }
    }

    /** Its turn: takes the session's next sequence (or registers one) and sends it. */
    void start() {
      RetryPolicy.Operation o;
      synchronized (writeLock) {
        if (closed || aborted) {
          o = null;
        } else {
          o = policy.write(op, routing, session, System.nanoTime(), JITTER);
          running =
              new AsyncOperation(
                  o,
                  x -> x.registering() ? REGISTER : rpc.apply(x.session()),
                  executor,
                  KvClient.this::channel,
                  () -> closed,
                  writeLock,
                  KvClient.this::writeEnded,
                  result);
        }
      }
      if (o == null) {
        writeEnded();
        result.completeExceptionally(
            notSent(op, closed ? "the client was closed" : "it was cancelled or interrupted"));
      } else {
        running.start();
      }
    }
  }

  private Handle write(
      String op, Function<SessionHeader, AsyncOperation.Rpc<?>> rpc, OperationExecutor ex) {
    checkOpen();
    Write w = new Write(op, rpc, ex);
    synchronized (writeLock) {
      if (writing) {
        queuedWrites.add(w);
        return w;
      }
      writing = true;
    }
    w.start();
    return w;
  }

  /** The write in flight has ended: the next one in the queue starts, on its own executor. */
  private void writeEnded() {
    Write next;
    synchronized (writeLock) {
      next = queuedWrites.poll();
      if (next == null) {
        writing = false;
      }
    }
    if (next != null) {
      next.executor.execute(next::start);
    }
  }

  private static KvException notSent(String op, String why) {
    return new KvException(Status.UNAVAILABLE, op + " not sent: " + why + "; not applied");
  }

  /** Waits for a blocking call's operation, running its steps on this thread. */
  private static KvResponse await(BlockingWait w, Handle h) throws KvException {
    try {
      return w.await(h.result(), h::abort);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof KvException k) {
        throw k;
      }
      if (c instanceof RuntimeException r) {
        throw r;
      }
      if (c instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(c);
    }
  }

  /**
   * The public future of an asynchronous operation: its result mapped; cancelling it aborts the
   * operation.
   */
  private static <T> CompletableFuture<T> outcome(Handle h, Function<KvResponse, T> map) {
    CompletableFuture<T> f = h.result().thenApply(map);
    f.whenComplete(
        (v, e) -> {
          if (f.isCancelled()) {
            h.abort();
          }
        });
    return f;
  }

  /** How a failed call reads to the policy: a deadline is TIMEOUT, a lost server UNAVAILABLE. */
  static RetryPolicy.Answer transportFailure(String server, io.grpc.Status g, long budgetNanos) {
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
