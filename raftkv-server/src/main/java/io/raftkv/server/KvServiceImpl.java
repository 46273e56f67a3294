package io.raftkv.server;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.raftkv.proto.kvs.AppendRequest;
import io.raftkv.proto.kvs.DeleteRequest;
import io.raftkv.proto.kvs.DirectGetRequest;
import io.raftkv.proto.kvs.GetRequest;
import io.raftkv.proto.kvs.KvCommand;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.KvServiceGrpc;
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.SessionHeader;
import io.raftkv.proto.kvs.Status;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.Role;
import io.raftkv.raft.SoftState;
import io.raftkv.storage.KvStateMachine;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The client-facing KV service. Writes go through the Raft log (exactly once per client session);
 * GET is linearizable through ReadIndex; DIRECT_GET reads the local store at once. A follower
 * refuses everything but DIRECT_GET with NOT_LEADER; while an election is in progress a request
 * waits, bounded by the request timeout, for its outcome.
 *
 * <p>Thread-safety: called on gRPC threads; it only enqueues work on the node.
 */
final class KvServiceImpl extends KvServiceGrpc.KvServiceImplBase {
  private final RaftNode<KvStateMachine.Applied> node;
  private final KvStateMachine stateMachine;
  private final ServerConfig config;
  private final Metrics metrics;

  KvServiceImpl(
      RaftNode<KvStateMachine.Applied> node,
      KvStateMachine stateMachine,
      ServerConfig config,
      Metrics metrics) {
    this.node = node;
    this.stateMachine = stateMachine;
    this.config = config;
    this.metrics = metrics;
  }

  @Override
  public void put(PutRequest req, StreamObserver<KvResponse> out) {
    if (checkKey(req.getKey(), out) && checkValue(req.getValue(), out)) {
      write(
          req.getSession(),
          KvCommand.newBuilder()
              .setPut(KvCommand.Put.newBuilder().setKey(req.getKey()).setValue(req.getValue())),
          out);
    }
  }

  @Override
  public void append(AppendRequest req, StreamObserver<KvResponse> out) {
    if (checkKey(req.getKey(), out) && checkValue(req.getValue(), out)) {
      write(
          req.getSession(),
          KvCommand.newBuilder()
              .setAppend(
                  KvCommand.Append.newBuilder().setKey(req.getKey()).setValue(req.getValue())),
          out);
    }
  }

  @Override
  public void delete(DeleteRequest req, StreamObserver<KvResponse> out) {
    if (checkKey(req.getKey(), out)) {
      write(
          req.getSession(),
          KvCommand.newBuilder().setDelete(KvCommand.Delete.newBuilder().setKey(req.getKey())),
          out);
    }
  }

  @Override
  public void get(GetRequest req, StreamObserver<KvResponse> out) {
    if (!checkKey(req.getKey(), out)) {
      return;
    }
    asLeader(
        out,
        () -> {
          long t0 = System.nanoTime();
          metrics.readBarriers.increment();
          node.readBarrier()
              .orTimeout(config.requestTimeoutMillis(), TimeUnit.MILLISECONDS)
              .whenComplete(
                  (ok, error) -> {
                    if (error != null) {
                      replyError(out, error, "read");
                    } else {
                      metrics.record(Metrics.Stage.READ_INDEX, System.nanoTime() - t0);
                      replyValue(out, req.getKey());
                    }
                  });
        });
  }

  @Override
  public void directGet(DirectGetRequest req, StreamObserver<KvResponse> out) {
    if (checkKey(req.getKey(), out)) {
      replyValue(out, req.getKey());
    }
  }

  // ---------------------------------------------------------------- helpers

  private void write(SessionHeader session, KvCommand.Builder op, StreamObserver<KvResponse> out) {
    asLeader(
        out,
        () -> {
          // The leader stamps its time so that every replica expires sessions identically.
          byte[] command =
              op.setClientId(session.getClientId())
                  .setSequence(session.getSequence())
                  .setLeaderTimeMillis(System.currentTimeMillis())
                  .build()
                  .toByteArray();
          long t0 = System.nanoTime();
          metrics.proposals.increment();
          node.propose(command)
              .orTimeout(config.requestTimeoutMillis(), TimeUnit.MILLISECONDS)
              .whenComplete(
                  (applied, error) -> {
                    if (error != null) {
                      replyError(out, error, "write");
                    } else {
                      metrics.record(Metrics.Stage.WRITE, System.nanoTime() - t0);
                      reply(out, applied.status(), applied.result().getMessage(), null);
                    }
                  });
        });
  }

  /** Runs {@code action} if this node leads; waits for an election in progress; else redirects. */
  private void asLeader(StreamObserver<KvResponse> out, Runnable action) {
    SoftState s = node.softState();
    if (s.role() == Role.LEADER) {
      action.run();
    } else if (s.leaderId() != RaftConfig.NONE) {
      replyNotLeader(out, s.leaderId());
    } else {
      node.awaitLeader()
          .orTimeout(config.requestTimeoutMillis(), TimeUnit.MILLISECONDS)
          .whenComplete(
              (now, error) -> {
                if (error != null) {
                  reply(
                      out,
                      Status.UNAVAILABLE,
                      "no leader elected within " + config.requestTimeoutMillis() + " ms",
                      null);
                } else if (now.role() == Role.LEADER && now.leaderId() == node.id()) {
                  action.run();
                } else {
                  replyNotLeader(out, now.leaderId());
                }
              });
    }
  }

  private boolean checkKey(ByteString key, StreamObserver<KvResponse> out) {
    if (key.isEmpty()) {
      reply(out, Status.INVALID_ARGUMENT, "the key is empty", null);
      return false;
    }
    if (key.size() > config.maxKeyBytes()) {
      reply(
          out,
          Status.INVALID_ARGUMENT,
          "key of " + key.size() + " bytes exceeds the limit of " + config.maxKeyBytes() + " bytes",
          null);
      return false;
    }
    return true;
  }

  private boolean checkValue(ByteString value, StreamObserver<KvResponse> out) {
    if (value.size() > config.maxValueBytes()) {
      reply(
          out,
          Status.INVALID_ARGUMENT,
          "value of "
              + value.size()
              + " bytes exceeds the limit of "
              + config.maxValueBytes()
              + " bytes",
          null);
      return false;
    }
    return true;
  }

  private void replyValue(StreamObserver<KvResponse> out, ByteString key) {
    Optional<byte[]> value = stateMachine.get(key.toByteArray());
    if (value.isPresent()) {
      reply(out, Status.OK, "", ByteString.copyFrom(value.get()));
    } else {
      reply(out, Status.NO_KEY, "no such key", null);
    }
  }

  private void replyNotLeader(StreamObserver<KvResponse> out, int leaderId) {
    String address = config.kvsAddressOf(leaderId);
    String message =
        leaderId == RaftConfig.NONE
            ? "not the leader; no leader is known"
            : "not the leader; the leader is node "
                + leaderId
                + (address.isEmpty() ? "" : " at " + address);
    out.onNext(
        KvResponse.newBuilder()
            .setStatus(Status.NOT_LEADER)
            .setLeaderAddress(address)
            .setMessage(message)
            .build());
    out.onCompleted();
  }

  private void replyError(StreamObserver<KvResponse> out, Throwable error, String what) {
    Throwable e =
        error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (e instanceof RaftNode.NotLeaderException nl) {
      replyNotLeader(out, nl.leaderId());
    } else if (e instanceof RaftNode.OutcomeUnknownException) {
      reply(out, Status.UNAVAILABLE, e.getMessage(), null);
    } else if (e instanceof TimeoutException) {
      reply(
          out,
          Status.TIMEOUT,
          "no outcome within "
              + config.requestTimeoutMillis()
              + " ms"
              + (what.equals("write") ? "; the write may still apply" : ""),
          null);
    } else {
      reply(out, Status.INTERNAL, e.toString(), null);
    }
  }

  private static void reply(
      StreamObserver<KvResponse> out, Status status, String message, ByteString value) {
    KvResponse.Builder b = KvResponse.newBuilder().setStatus(status).setMessage(message);
    if (value != null) {
      b.setValue(value);
    }
    out.onNext(b.build());
    out.onCompleted();
  }
}
