package io.raftkv.server;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.raftkv.proto.admin.AdminGrpc;
import java.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards the Admin service: fault injection (the Chaos RPC) is answered only on a node started with
 * {@code --enable-chaos}; elsewhere it is refused with PERMISSION_DENIED before the request is
 * read, so it changes nothing. Any client that reaches the KV port could otherwise cut a node off
 * its peers (etcd keeps its failpoints out of release builds for the same reason).
 *
 * <p>Every admitted call carries its caller's remote address in {@link #CALLER}, so that the
 * service can log who changed the faults.
 *
 * <p>Thread-safety: stateless; called on gRPC threads.
 */
final class ChaosGuard implements ServerInterceptor {
  private static final Logger log = LoggerFactory.getLogger(ChaosGuard.class);

  /** The remote address of the call being served (null outside a call). */
  static final Context.Key<SocketAddress> CALLER = Context.key("raftkv-caller");

  /** The one line a refused caller gets: what is refused and how to allow it. */
  static final String DISABLED =
      "chaos (fault injection) is disabled on this node; start svr with --enable-chaos to allow it";

  private final int nodeId;
  private final boolean enabled;

  ChaosGuard(int nodeId, boolean enabled) {
    this.nodeId = nodeId;
    this.enabled = enabled;
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    SocketAddress caller = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    boolean chaos =
        call.getMethodDescriptor()
            .getFullMethodName()
            .equals(AdminGrpc.getChaosMethod().getFullMethodName());
    if (chaos && !enabled) {
      log.warn("node {}: refused a Chaos call from {}: --enable-chaos is off", nodeId, caller);
      call.close(Status.PERMISSION_DENIED.withDescription(DISABLED), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return Contexts.interceptCall(Context.current().withValue(CALLER, caller), call, headers, next);
  }
}
