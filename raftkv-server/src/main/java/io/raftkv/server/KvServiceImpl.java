package io.raftkv.server;

import io.grpc.stub.StreamObserver;
import io.raftkv.node.KvService;
import io.raftkv.proto.kvs.AppendRequest;
import io.raftkv.proto.kvs.DeleteRequest;
import io.raftkv.proto.kvs.DirectGetRequest;
import io.raftkv.proto.kvs.GetRequest;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.KvServiceGrpc;
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.RegisterClientRequest;
import io.raftkv.storage.KvStateMachine;
import java.util.function.Consumer;

/**
 * The gRPC face of {@link KvService}: every decision is the service's; this class only hands each
 * call to the node's loop thread (DIRECT_GET, a local read, is answered at once), turns the
 * service's answer into the call's single response, and counts and times it ({@link
 * RequestMetrics}: from the call's arrival here, so time waiting in the node's inbox counts).
 *
 * <p>Thread-safety: called on gRPC threads; the service runs on the node's loop thread.
 */
final class KvServiceImpl extends KvServiceGrpc.KvServiceImplBase {
  private final RaftNode<KvStateMachine.Applied> node;
  private final KvService service;
  private final RequestMetrics metrics;

  KvServiceImpl(RaftNode<KvStateMachine.Applied> node, KvService service, RequestMetrics metrics) {
    this.node = node;
    this.service = service;
    this.metrics = metrics;
  }

  @Override
  public void registerClient(RegisterClientRequest req, StreamObserver<KvResponse> out) {
    Consumer<KvResponse> reply = replyTo(out, RequestMetrics.Op.REGISTER_CLIENT);
    node.execute(rt -> service.registerClient(req, reply));
  }

  @Override
  public void put(PutRequest req, StreamObserver<KvResponse> out) {
    Consumer<KvResponse> reply = replyTo(out, RequestMetrics.Op.PUT);
    node.execute(rt -> service.put(req, reply));
  }

  @Override
  public void append(AppendRequest req, StreamObserver<KvResponse> out) {
    Consumer<KvResponse> reply = replyTo(out, RequestMetrics.Op.APPEND);
    node.execute(rt -> service.append(req, reply));
  }

  @Override
  public void delete(DeleteRequest req, StreamObserver<KvResponse> out) {
    Consumer<KvResponse> reply = replyTo(out, RequestMetrics.Op.DELETE);
    node.execute(rt -> service.delete(req, reply));
  }

  @Override
  public void get(GetRequest req, StreamObserver<KvResponse> out) {
    Consumer<KvResponse> reply = replyTo(out, RequestMetrics.Op.GET);
    node.execute(rt -> service.get(req, reply));
  }

  @Override
  public void directGet(DirectGetRequest req, StreamObserver<KvResponse> out) {
    replyTo(out, RequestMetrics.Op.DIRECT_GET).accept(service.directGet(req));
  }

  /** The call's one answer; counted and timed from now, the call's arrival. */
  private Consumer<KvResponse> replyTo(StreamObserver<KvResponse> out, RequestMetrics.Op op) {
    long t0 = System.nanoTime();
    return response -> {
      metrics.answered(op, response.getStatus(), System.nanoTime() - t0);
      out.onNext(response);
      out.onCompleted();
    };
  }
}
