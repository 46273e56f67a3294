package io.raftkv.server;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.raftkv.proto.admin.AdminGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards the Admin service: fault injection (the Chaos RPC) is answered only on a node started with
 * {@code --enable-chaos}; elsewhere it is refused with PERMISSION_DENIED before the request is
 * read, so it changes nothing. Any client that reaches the KV port could otherwise cut a node off
 * its peers (etcd keeps its failpoints out of release builds for the same reason).
 *
 * <p>Who may use it where it is enabled is {@link AdminGuard}'s question (it runs after this one).
 *
 * <p>Refusals are logged at most once per 10 s (a client in a loop cannot bury the log).
 *
 * <p>Thread-safety: thread-safe; called on gRPC threads.
 */
final class ChaosGuard implements ServerInterceptor {
  private static final Logger log = LoggerFactory.getLogger(ChaosGuard.class);

  /** The one line a refused caller gets: what is refused and how to allow it. */
  static final String DISABLED =
      "chaos (fault injection) is disabled on this node; start svr with --enable-chaos to allow it";

  private final int nodeId;
  private final boolean enabled;
  private final RateLimitedLog refusals = new RateLimitedLog(log);

  ChaosGuard(int nodeId, boolean enabled) {
    this.nodeId = nodeId;
    this.enabled = enabled;
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    boolean chaos =
        call.getMethodDescriptor()
            .getFullMethodName()
            .equals(AdminGrpc.getChaosMethod().getFullMethodName());
    if (chaos && !enabled) {
      refusals.warn(
          "node "
              + nodeId
              + ": refused a Chaos call from "
              + Caller.of(call)
              + ": --enable-chaos is off");
      call.close(Status.PERMISSION_DENIED.withDescription(DISABLED), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }
}
