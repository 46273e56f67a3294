package io.raftkv.client;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
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
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A scripted KvService: records every call and answers what {@link #behavior} says. A registration
 * (method {@code REGISTER_CLIENT}) that the behavior answers OK gets the next client id of the
 * shared counter, as a cluster's log index would be.
 */
final class FakeKvService extends KvServiceGrpc.KvServiceImplBase {

  /** One call as the server saw it. */
  record Call(String server, String method, long clientId, long sequence, String key) {}

  /** Makes the fake fail the call at the transport level (gRPC UNAVAILABLE). */
  static final KvResponse DROP = KvResponse.newBuilder().setMessage("drop").build();

  /** Makes the fake never answer (the client's attempt deadline passes). */
  static final KvResponse HANG = KvResponse.newBuilder().setMessage("hang").build();

  /** Makes the fake keep the call open until the test answers it (see {@link #held}). */
  static final KvResponse HOLD = KvResponse.newBuilder().setMessage("hold").build();

  /** A call kept open: the test answers it, or the client cancels it. */
  static final class Held {
    final Call call;
    private final StreamObserver<KvResponse> out;
    private final Runnable onEnd;
    private final AtomicBoolean ended = new AtomicBoolean();
    volatile boolean cancelled;

    private Held(Call call, StreamObserver<KvResponse> out, Runnable onEnd) {
      this.call = call;
      this.out = out;
      this.onEnd = onEnd;
    }

    void answer(KvResponse r) {
      if (ended.compareAndSet(false, true)) {
        onEnd.run();
      }
      out.onNext(r);
      out.onCompleted();
    }

    private void cancelled() {
      cancelled = true;
      if (ended.compareAndSet(false, true)) {
        onEnd.run();
      }
    }
  }

  static KvResponse ok() {
    return KvResponse.newBuilder().setStatus(Status.OK).build();
  }

  static KvResponse ok(String value) {
    return KvResponse.newBuilder()
        .setStatus(Status.OK)
        .setValue(com.google.protobuf.ByteString.copyFromUtf8(value))
        .build();
  }

  static KvResponse status(Status status, String message) {
    return KvResponse.newBuilder().setStatus(status).setMessage(message).build();
  }

  static KvResponse notLeader(String hint) {
    return KvResponse.newBuilder()
        .setStatus(Status.NOT_LEADER)
        .setLeaderAddress(hint)
        .setMessage("not the leader" + (hint.isEmpty() ? "; no leader is known" : " at " + hint))
        .build();
  }

  /** The method name a registration is recorded under. */
  static final String REGISTER = "REGISTER_CLIENT";

  private final String name;
  private final List<Call> log;
  private final AtomicLong ids;
  volatile Function<Call, KvResponse> behavior = c -> ok();

  /** The calls answered {@link #HOLD}, in arrival order. */
  final LinkedBlockingQueue<Held> held = new LinkedBlockingQueue<>();

  /**
   * Writes (and registrations) this fake is working on: arrived, neither answered nor cancelled.
   */
  private final AtomicInteger writesInFlight;

  /** The most writes in flight at once, over all fakes sharing the counter. */
  private final AtomicInteger maxWritesInFlight;

  /** The value of the last PUT or APPEND received. */
  volatile com.google.protobuf.ByteString lastValue;

  FakeKvService(String name, List<Call> log, AtomicLong ids) {
    this(name, log, ids, new AtomicInteger(), new AtomicInteger());
  }

  /** With in-flight write counters shared by several fakes (one cluster's servers). */
  FakeKvService(
      String name,
      List<Call> log,
      AtomicLong ids,
      AtomicInteger writesInFlight,
      AtomicInteger maxWritesInFlight) {
    this.name = name;
    this.log = log;
    this.ids = ids;
    this.writesInFlight = writesInFlight;
    this.maxWritesInFlight = maxWritesInFlight;
  }

  /** {@code writes} for writes and reads; registrations answered OK. */
  static Function<Call, KvResponse> writesOnly(Function<Call, KvResponse> writes) {
    return c -> c.method().equals(REGISTER) ? ok() : writes.apply(c);
  }

  @Override
  public void registerClient(RegisterClientRequest req, StreamObserver<KvResponse> out) {
    handle(REGISTER, SessionHeader.getDefaultInstance(), "", out);
  }

  @Override
  public void put(PutRequest req, StreamObserver<KvResponse> out) {
    lastValue = req.getValue();
    handle("PUT", req.getSession(), req.getKey().toStringUtf8(), out);
  }

  @Override
  public void append(AppendRequest req, StreamObserver<KvResponse> out) {
    lastValue = req.getValue();
    handle("APPEND", req.getSession(), req.getKey().toStringUtf8(), out);
  }

  @Override
  public void delete(DeleteRequest req, StreamObserver<KvResponse> out) {
    handle("DELETE", req.getSession(), req.getKey().toStringUtf8(), out);
  }

  @Override
  public void get(GetRequest req, StreamObserver<KvResponse> out) {
    handle("GET", SessionHeader.getDefaultInstance(), req.getKey().toStringUtf8(), out);
  }

  @Override
  public void directGet(DirectGetRequest req, StreamObserver<KvResponse> out) {
    handle("DIRECT_GET", SessionHeader.getDefaultInstance(), req.getKey().toStringUtf8(), out);
  }

  private void handle(
      String method, SessionHeader session, String key, StreamObserver<KvResponse> out) {
    Call call = new Call(name, method, session.getClientId(), session.getSequence(), key);
    boolean write = !method.equals("GET") && !method.equals("DIRECT_GET");
    if (write) {
      maxWritesInFlight.accumulateAndGet(writesInFlight.incrementAndGet(), Math::max);
    }
    log.add(call);
    KvResponse r = behavior.apply(call);
    if (method.equals(REGISTER) && r.getStatus() == Status.OK && r.getClientId() == 0) {
      r = r.toBuilder().setClientId(ids.incrementAndGet()).build();
    }
    if (r == HOLD) {
      Held h = new Held(call, out, write ? writesInFlight::decrementAndGet : () -> {});
      ((ServerCallStreamObserver<KvResponse>) out).setOnCancelHandler(h::cancelled);
      held.add(h);
      return;
    }
    if (write) {
      writesInFlight.decrementAndGet();
    }
    if (r == HANG) {
      return;
    }
    if (r == DROP) {
      out.onError(io.grpc.Status.UNAVAILABLE.withDescription("dropped").asRuntimeException());
      return;
    }
    out.onNext(r);
    out.onCompleted();
  }
}
