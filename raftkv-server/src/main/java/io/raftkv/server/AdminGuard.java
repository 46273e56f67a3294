package io.raftkv.server;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.StatusRequest;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may change things through the Admin service. With {@code --client-cert-auth} every client has
 * a certificate, and the calls that change the node or the cluster, or copy all of its data, need
 * one whose common name is in {@code --admin-users}: Chaos, ChangeMembership, SaveSnapshot, and a
 * Status that resets the latencies (judged from its request). Reading (Status, MemberList) stays
 * open to every authenticated client. Without client certificates there is no identity to check,
 * and the guard lets every call through (etcd likewise authorizes only what it can authenticate).
 *
 * <p>Every call it lets through carries its {@link Caller} in {@link Caller#CURRENT}, so that the
 * service logs who changed what. Refusals are logged at most once per 10 s.
 *
 * <p>Thread-safety: thread-safe (gRPC calls it from its threads).
 */
final class AdminGuard implements ServerInterceptor {
  private static final Logger log = LoggerFactory.getLogger(AdminGuard.class);

  /** The calls that always need an admin, by full method name, with what they do. */
  private static final Map<String, String> CHANGES =
      Map.of(
          AdminGrpc.getChaosMethod().getFullMethodName(), "Chaos (fault injection)",
          AdminGrpc.getChangeMembershipMethod().getFullMethodName(), "ChangeMembership",
          AdminGrpc.getSaveSnapshotMethod().getFullMethodName(), "SaveSnapshot (a backup)");

  private static final String STATUS = AdminGrpc.getStatusMethod().getFullMethodName();

  private final int nodeId;
  private final boolean clientCertAuth;
  private final Set<String> adminUsers;
  private final RateLimitedLog refusals = new RateLimitedLog(log);

  /**
   * @param clientCertAuth whether every client on the port has a verified certificate
   * @param adminUsers the common names allowed to change things
   */
  AdminGuard(int nodeId, boolean clientCertAuth, Set<String> adminUsers) {
    this.nodeId = nodeId;
    this.clientCertAuth = clientCertAuth;
    this.adminUsers = new TreeSet<>(adminUsers); // sorted, for messages
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    Caller caller = Caller.of(call);
    String method = call.getMethodDescriptor().getFullMethodName();
    String change = CHANGES.get(method);
    if (change != null && !admin(caller)) {
      refuse(call, caller, change);
      return new ServerCall.Listener<>() {};
    }
    ServerCall.Listener<Q> admitted =
        Contexts.interceptCall(
            Context.current().withValue(Caller.CURRENT, caller), call, headers, next);
    return method.equals(STATUS) && !admin(caller)
        ? new StatusWithoutReset<>(admitted, call, caller)
        : admitted;
  }

  private boolean admin(Caller caller) {
    return !clientCertAuth
        || (caller.commonName() != null && adminUsers.contains(caller.commonName()));
  }

  /** A non-admin's Status: served, unless it asks to reset the latencies. */
  private final class StatusWithoutReset<Q, A>
      extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
    private final ServerCall<Q, A> call;
    private final Caller caller;
    private boolean refused;

    StatusWithoutReset(ServerCall.Listener<Q> delegate, ServerCall<Q, A> call, Caller caller) {
      super(delegate);
      this.call = call;
      this.caller = caller;
    }

    @Override
    public void onMessage(Q message) {
      // A brief Status reports no latencies and resets none.
      if (!refused
          && message instanceof StatusRequest r
          && r.getResetLatencies()
          && !r.getBrief()) {
        refused = true;
        refuse(call, caller, "resetting the latencies (Status reset_latencies)");
        return;
      }
      if (!refused) {
        super.onMessage(message);
      }
    }

    @Override
    public void onHalfClose() {
      // Closed already: the service must not answer a request it never got.
      if (!refused) {
        super.onHalfClose();
      }
    }
  }

  private void refuse(ServerCall<?, ?> call, Caller caller, String what) {
    String holder =
        caller.commonName() == null
            ? "this client's certificate has no single common name"
            : "this client's is '" + caller.commonName() + "'";
    refusals.warn(
        "node "
            + nodeId
            + " refused "
            + what
            + " from "
            + caller
            + ": not one of --admin-users "
            + String.join(",", adminUsers));
    call.close(
        Status.PERMISSION_DENIED.withDescription(
            what
                + " needs a client certificate whose common name (CN) is one of svr"
                + " --admin-users "
                + String.join(",", adminUsers)
                + "; "
                + holder),
        new Metadata());
  }
}
