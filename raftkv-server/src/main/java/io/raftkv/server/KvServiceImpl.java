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
import io.raftkv.storage.KvStateMachine;
import java.util.function.Consumer;

/**
 * The gRPC face of {@link KvService}: every decision is the service's; this class only hands each
 * call to the node's loop thread (DIRECT_GET, a local read, is answered at once) and turns the
 * service's answer into the call's single response.
 *
 * <p>Thread-safety: called on gRPC threads; the service runs on the node's loop thread.
 */
final class KvServiceImpl extends KvServiceGrpc.KvServiceImplBase {
  private final RaftNode<KvStateMachine.Applied> node;
  private final KvService service;

  KvServiceImpl(RaftNode<KvStateMachine.Applied> node, KvService service) {
    this.node = node;
    this.service = service;
  }

  @Override
  public void put(PutRequest req, StreamObserver<KvResponse> out) {
    node.execute(rt -> service.put(req, replyTo(out)));
  }

  @Override
  public void append(AppendRequest req, StreamObserver<KvResponse> out) {
    node.execute(rt -> service.append(req, replyTo(out)));
  }

  @Override
  public void delete(DeleteRequest req, StreamObserver<KvResponse> out) {
    node.execute(rt -> service.delete(req, replyTo(out)));
  }

  @Override
  public void get(GetRequest req, StreamObserver<KvResponse> out) {
    node.execute(rt -> service.get(req, replyTo(out)));
  }

  @Override
  public void directGet(DirectGetRequest req, StreamObserver<KvResponse> out) {
    replyTo(out).accept(service.directGet(req));
  }

  private static Consumer<KvResponse> replyTo(StreamObserver<KvResponse> out) {
    return response -> {
      out.onNext(response);
      out.onCompleted();
    };
  }
}
