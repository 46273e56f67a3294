package io.raftkv.bench;

import io.grpc.ManagedChannel;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.Role;
import io.raftkv.proto.admin.StatusRequest;
import io.raftkv.proto.admin.StatusResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The Admin Status RPC of every node of a raftkv cluster (what {@code clt status --json} prints),
 * one channel per node. A node that does not answer yields null, never an exception.
 */
final class RaftkvAdmin implements AutoCloseable {
  private final List<ManagedChannel> channels = new ArrayList<>();

  RaftkvAdmin(List<String> endpoints) {
    for (String ep : endpoints) {
      channels.add(OkHttpChannelBuilder.forTarget(ep).usePlaintext().build());
    }
  }

  /** Node i's brief Status (identity, role, term, indexes), or null within {@code deadlineMs}. */
  StatusResponse status(int node, long deadlineMs) {
    try {
      return AdminGrpc.newBlockingStub(channels.get(node))
          .withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS)
          .status(StatusRequest.newBuilder().setBrief(true).build());
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The node that says it is leader, or -1 if none answers so. */
  int leader() {
    for (int i = 0; i < channels.size(); i++) {
      StatusResponse st = status(i, 1000);
      if (st != null && st.getRole() == Role.LEADER) {
        return i;
      }
    }
    return -1;
  }

  @Override
  public void close() {
    for (ManagedChannel ch : channels) {
      ch.shutdownNow();
    }
  }
}
