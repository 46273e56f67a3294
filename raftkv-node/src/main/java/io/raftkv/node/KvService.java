package io.raftkv.node;

import com.google.protobuf.ByteString;
import io.raftkv.proto.kvs.AppendRequest;
import io.raftkv.proto.kvs.DeleteRequest;
import io.raftkv.proto.kvs.DirectGetRequest;
import io.raftkv.proto.kvs.GetRequest;
import io.raftkv.proto.kvs.KvCommand;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.RegisterClientRequest;
import io.raftkv.proto.kvs.SessionHeader;
import io.raftkv.proto.kvs.Status;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.Role;
import io.raftkv.raft.SoftState;
import io.raftkv.storage.KvStateMachine;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * The KV service's decisions, without a transport: request validation, NOT_LEADER routing (with the
 * leader's address when known), sessions registered through the log (§6.3), writes proposed through
 * the log with the client's session, linearizable GETs through ReadIndex (§8), DIRECT_GET from the
 * local state, and the mapping of every outcome to a {@link KvResponse}. The gRPC service adapts it
 * in the server; the simulator calls it directly.
 *
 * <p>A follower refuses everything but DIRECT_GET with NOT_LEADER; while no leader is known (an
 * election in progress) a request waits, bounded by the request timeout, for the outcome.
 *
 * <p>Thread-safety: {@link #registerClient}, {@link #put}, {@link #append}, {@link #delete} and
 * {@link #get} run on the node's thread (the one that owns its {@link NodeRuntime}); replies are
 * given on it. {@link #directGet} may run on any thread.
 */
public final class KvService {

  /** The clocks the service reads; injected so the simulator can give simulated time. */
  public interface Clock {
    /** Wall-clock milliseconds: stamped into commands by the leader to expire sessions. */
    long wallMillis();

    /** A monotonic clock in nanoseconds, for latency figures only. */
    long nanos();
  }

  /** Told of requests and their latencies (the server's metrics); defaults to nothing. */
  public interface Probe {
    default void writeProposed() {}

    default void writeCompleted(long nanos) {}

    /** A proposed write got no result (leadership lost, entry replaced, timed out). */
    default void writeFailed() {}

    default void readRequested() {}

    default void readIndexCompleted(long nanos) {}
  }

  /**
   * @param maxKeyBytes the largest key accepted
   * @param maxValueBytes the largest value accepted
   */
  public record Limits(int maxKeyBytes, int maxValueBytes) {}

  private final NodeRuntime<KvStateMachine.Applied> node;
  private final KvStateMachine stateMachine;
  private final Limits limits;
  private final IntFunction<String> kvAddressOf;
  private final Clock clock;
  private final Probe probe;

  /**
   * @param kvAddressOf the KV address of a node id, or "" when unknown (then NOT_LEADER names the
   *     leader's id only)
   */
  public KvService(
      NodeRuntime<KvStateMachine.Applied> node,
      KvStateMachine stateMachine,
      Limits limits,
      IntFunction<String> kvAddressOf,
      Clock clock,
      Probe probe) {
    this.node = node;
    this.stateMachine = stateMachine;
    this.limits = limits;
    this.kvAddressOf = kvAddressOf;
    this.clock = clock;
    this.probe = probe;
  }

  // ---------------------------------------------------------------- requests

  public void put(PutRequest req, Consumer<KvResponse> reply) {
    if (keyOk(req.getKey(), reply) && valueOk(req.getValue(), reply)) {
      write(
          req.getSession(),
          KvCommand.newBuilder()
              .setPut(KvCommand.Put.newBuilder().setKey(req.getKey()).setValue(req.getValue())),
          reply);
    }
  }

  public void append(AppendRequest req, Consumer<KvResponse> reply) {
    if (keyOk(req.getKey(), reply) && valueOk(req.getValue(), reply)) {
      write(
          req.getSession(),
          KvCommand.newBuilder()
              .setAppend(
                  KvCommand.Append.newBuilder().setKey(req.getKey()).setValue(req.getValue())),
          reply);
    }
  }

  public void delete(DeleteRequest req, Consumer<KvResponse> reply) {
    if (keyOk(req.getKey(), reply)) {
      write(
          req.getSession(),
          KvCommand.newBuilder().setDelete(KvCommand.Delete.newBuilder().setKey(req.getKey())),
          reply);
    }
  }

  /**
   * Opens a session (dissertation §6.3, RegisterClient): the leader appends a registration, and the
   * index it is applied at is the client id, answered in {@link KvResponse#getClientId()}.
   */
  public void registerClient(RegisterClientRequest req, Consumer<KvResponse> reply) {
    propose(
        KvCommand.newBuilder().setRegisterClient(KvCommand.RegisterClient.getDefaultInstance()),
        applied ->
            applied.status() == Status.OK
                ? response(Status.OK, "", null).toBuilder().setClientId(applied.clientId()).build()
                : answer(applied),
        reply);
  }

  /** A linearizable read: a ReadIndex barrier, then the local state once it is applied. */
  public void get(GetRequest req, Consumer<KvResponse> reply) {
    if (!keyOk(req.getKey(), reply)) {
      return;
    }
    asLeader(
        reply,
        () -> {
          long t0 = clock.nanos();
          probe.readRequested();
          node.read(
              outcome -> {
                if (outcome.isOk()) {
                  probe.readIndexCompleted(clock.nanos() - t0);
                  reply.accept(value(req.getKey()));
                } else {
                  reply.accept(failure(outcome, false));
                }
              });
        });
  }

  /** The local state at once, without Raft (may be stale). Any thread. */
  public KvResponse directGet(DirectGetRequest req) {
    KvResponse invalid = checkKey(req.getKey());
    return invalid != null ? invalid : value(req.getKey());
  }

  private void write(SessionHeader session, KvCommand.Builder op, Consumer<KvResponse> reply) {
    propose(
        op.setClientId(session.getClientId())
            .setSequence(session.getSequence())
            .setRegisteredSessions(true),
        KvService::answer,
        reply);
  }

  /** Proposes {@code command} as leader and answers with {@code answer} of what applying it did. */
  private void propose(
      KvCommand.Builder command,
      Function<KvStateMachine.Applied, KvResponse> answer,
      Consumer<KvResponse> reply) {
    asLeader(
        reply,
        () -> {
          // The leader stamps its time so that every replica expires sessions identically.
          ByteString data = command.setLeaderTimeMillis(clock.wallMillis()).build().toByteString();
          long t0 = clock.nanos();
          probe.writeProposed();
          node.propose(
              data,
              outcome -> {
                if (outcome.isOk()) {
                  probe.writeCompleted(clock.nanos() - t0);
                  reply.accept(answer.apply(outcome.value()));
                } else {
                  probe.writeFailed();
                  reply.accept(failure(outcome, true));
                }
              });
        });
  }

  /** The answer to a write that was applied (or refused by the state machine). */
  private static KvResponse answer(KvStateMachine.Applied applied) {
    return response(applied.status(), applied.result().getMessage(), null);
  }

  /** What a request does once this node is known to lead. */
  private interface LeaderAction {
    void run();
  }

  /** Runs {@code action} if this node leads; waits for an election in progress; else redirects. */
  private void asLeader(Consumer<KvResponse> reply, LeaderAction action) {
    SoftState s = node.softState();
    if (s.role() == Role.LEADER) {
      action.run();
    } else if (s.leaderId() != RaftConfig.NONE) {
      reply.accept(notLeader(s.leaderId()));
    } else {
      node.whenLeaderKnown(
          outcome -> {
            if (!outcome.isOk()) {
              reply.accept(
                  response(
                      Status.UNAVAILABLE,
                      outcome.kind() == Outcome.Kind.TIMEOUT
                          ? "no leader elected within "
                              + node.timing().requestTimeoutMillis()
                              + " ms"
                          : outcome.message(),
                      null));
            } else if (node.softState().role() == Role.LEADER) {
              action.run();
            } else {
              reply.accept(notLeader(outcome.value().leaderId()));
            }
          });
    }
  }

  // ---------------------------------------------------------------- answers

  private boolean keyOk(ByteString key, Consumer<KvResponse> reply) {
    KvResponse invalid = checkKey(key);
    if (invalid != null) {
      reply.accept(invalid);
    }
    return invalid == null;
  }

  private KvResponse checkKey(ByteString key) {
    if (key.isEmpty()) {
      return response(Status.INVALID_ARGUMENT, "the key is empty", null);
    }
    if (key.size() > limits.maxKeyBytes()) {
      return response(
          Status.INVALID_ARGUMENT,
          "key of " + key.size() + " bytes exceeds the limit of " + limits.maxKeyBytes() + " bytes",
          null);
    }
    return null;
  }

  private boolean valueOk(ByteString value, Consumer<KvResponse> reply) {
    if (value.size() > limits.maxValueBytes()) {
      reply.accept(
          response(
              Status.INVALID_ARGUMENT,
              "value of "
                  + value.size()
                  + " bytes exceeds the limit of "
                  + limits.maxValueBytes()
                  + " bytes",
              null));
      return false;
    }
    return true;
  }

  private KvResponse value(ByteString key) {
    Optional<byte[]> value = stateMachine.get(key.toByteArray());
    return value
        .map(v -> response(Status.OK, "", ByteString.copyFrom(v)))
        .orElseGet(() -> response(Status.NO_KEY, "no such key", null));
  }

  private KvResponse notLeader(int leaderId) {
    String address = leaderId == RaftConfig.NONE ? "" : kvAddressOf.apply(leaderId);
    String message =
        leaderId == RaftConfig.NONE
            ? "not the leader; no leader is known"
            : "not the leader; the leader is node "
                + leaderId
                + (address.isEmpty() ? "" : " at " + address);
    return KvResponse.newBuilder()
        .setStatus(Status.NOT_LEADER)
        .setLeaderAddress(address)
        .setMessage(message)
        .build();
  }

  private KvResponse failure(Outcome<?> outcome, boolean write) {
    return switch (outcome.kind()) {
      case NOT_LEADER -> notLeader(outcome.leaderId());
      case UNKNOWN -> response(Status.UNAVAILABLE, outcome.message(), null);
      case REFUSED -> response(Status.INVALID_ARGUMENT, outcome.message(), null);
      case TIMEOUT ->
          response(
              Status.TIMEOUT,
              "no outcome within "
                  + node.timing().requestTimeoutMillis()
                  + " ms"
                  + (write ? "; the write may still apply" : ""),
              null);
      case OK -> throw new IllegalArgumentException("not a failure");
    };
  }

  private static KvResponse response(Status status, String message, ByteString value) {
    KvResponse.Builder b = KvResponse.newBuilder().setStatus(status).setMessage(message);
    if (value != null) {
      b.setValue(value);
    }
    return b.build();
  }
}
