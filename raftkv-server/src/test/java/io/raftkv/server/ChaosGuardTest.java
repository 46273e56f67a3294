package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.ChaosRequest;
import io.raftkv.proto.admin.ChaosResponse;
import io.raftkv.proto.admin.PeerFault;
import io.raftkv.proto.admin.StatusRequest;
import io.raftkv.proto.admin.StatusResponse;
import java.io.IOException;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ChaosGuardTest {

  /** Applies Chaos to a real {@link Chaos} and records the caller each call saw. */
  private static final class Admin extends AdminGrpc.AdminImplBase {
    final Chaos chaos = Chaos.unseeded(0, List.of(0, 1, 2));
    final List<SocketAddress> callers = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void chaos(ChaosRequest req, StreamObserver<ChaosResponse> out) {
      callers.add(Caller.current().address());
      for (PeerFault f : req.getFaultsList()) {
        chaos.apply(false, Map.of(f.getPeerId(), new Chaos.Fault(0, 0, 0, f.getCut())));
      }
      out.onNext(ChaosResponse.getDefaultInstance());
      out.onCompleted();
    }

    @Override
    public void status(StatusRequest req, StreamObserver<StatusResponse> out) {
      out.onNext(StatusResponse.getDefaultInstance());
      out.onCompleted();
    }
  }

  private final List<Server> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  private AdminGrpc.AdminBlockingStub serve(Admin admin, boolean chaosEnabled) throws IOException {
    String name = InProcessServerBuilder.generateName();
    servers.add(
        InProcessServerBuilder.forName(name)
            .addService(
                ServerInterceptors.intercept(
                    admin,
                    new AdminGuard(0, false, Security.DEFAULT_ADMIN_USERS),
                    new ChaosGuard(0, chaosEnabled)))
            .build()
            .start());
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    channels.add(channel);
    return AdminGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    servers.forEach(Server::shutdownNow);
  }

  private static ChaosRequest cut(int peer) {
    return ChaosRequest.newBuilder()
        .addFaults(PeerFault.newBuilder().setPeerId(peer).setCut(true))
        .build();
  }

  @Test
  void withoutEnableChaosChaosIsPermissionDeniedAndFaultsStayUnchanged() throws IOException {
    Admin admin = new Admin();
    AdminGrpc.AdminBlockingStub stub = serve(admin, false);

    assertThatThrownBy(() -> stub.chaos(cut(1)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
              assertThat(e.getStatus().getDescription()).contains("--enable-chaos");
            });
    assertThat(admin.callers).as("the service never ran").isEmpty();
    assertThat(admin.chaos.fault(1)).isEqualTo(Chaos.Fault.NONE);
    // Reading the node's state is not guarded.
    assertThat(stub.status(StatusRequest.getDefaultInstance())).isNotNull();
  }

  @Test
  void withEnableChaosTheCallRunsAndKnowsItsCallersAddress() throws IOException {
    Admin admin = new Admin();
    serve(admin, true).chaos(cut(2));
    assertThat(admin.chaos.fault(2).cut()).isTrue();
    assertThat(admin.callers).hasSize(1);
    assertThat(admin.callers.get(0)).as("the remote address, for the log").isNotNull();
  }
}
