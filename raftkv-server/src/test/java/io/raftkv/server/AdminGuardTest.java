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
import io.raftkv.proto.admin.MembershipChangeRequest;
import io.raftkv.proto.admin.MembershipChangeResponse;
import io.raftkv.proto.admin.StatusRequest;
import io.raftkv.proto.admin.StatusResponse;
import io.raftkv.testkit.TestCertificates;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AdminGuard} without TLS (in-process calls carry no certificate): with client certificates
 * not required it lets every call through, and the service sees its caller; required, a caller
 * without one may read but not change. What a certificate's name allows is {@link AdminUsersTest}.
 */
class AdminGuardTest {

  /** Records which calls ran, and the caller each saw. */
  private static final class Admin extends AdminGrpc.AdminImplBase {
    final List<String> ran = Collections.synchronizedList(new ArrayList<>());
    final List<Caller> callers = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void chaos(ChaosRequest req, StreamObserver<ChaosResponse> out) {
      record("chaos");
      out.onNext(ChaosResponse.getDefaultInstance());
      out.onCompleted();
    }

    @Override
    public void changeMembership(
        MembershipChangeRequest req, StreamObserver<MembershipChangeResponse> out) {
      record("changeMembership");
      out.onNext(MembershipChangeResponse.getDefaultInstance());
      out.onCompleted();
    }

    @Override
    public void status(StatusRequest req, StreamObserver<StatusResponse> out) {
      record(req.getResetLatencies() ? "status+reset" : "status");
      out.onNext(StatusResponse.getDefaultInstance());
      out.onCompleted();
    }

    private void record(String call) {
      ran.add(call);
      callers.add(Caller.CURRENT.get());
    }
  }

  private final List<Server> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  private AdminGrpc.AdminBlockingStub serve(Admin admin, boolean clientCertAuth, boolean chaos)
      throws IOException {
    String name = InProcessServerBuilder.generateName();
    servers.add(
        InProcessServerBuilder.forName(name)
            .addService(
                ServerInterceptors.intercept(
                    admin,
                    new AdminGuard(0, clientCertAuth, Set.of("root")),
                    new ChaosGuard(0, chaos)))
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

  private static final StatusRequest RESET =
      StatusRequest.newBuilder().setResetLatencies(true).build();

  @Test
  void withoutClientCertAuthTheGuardLetsEveryChangeThroughAndTheServiceSeesItsCaller()
      throws IOException {
    Admin admin = new Admin();
    AdminGrpc.AdminBlockingStub stub = serve(admin, false, true);
    stub.chaos(ChaosRequest.getDefaultInstance());
    stub.changeMembership(MembershipChangeRequest.getDefaultInstance());
    stub.status(RESET);
    assertThat(admin.ran).containsExactly("chaos", "changeMembership", "status+reset");
    assertThat(admin.callers).allSatisfy(c -> assertThat(c.address()).isNotNull());
  }

  @Test
  void withoutClientCertAuthChaosStillNeedsEnableChaos() throws IOException {
    Admin admin = new Admin();
    AdminGrpc.AdminBlockingStub stub = serve(admin, false, false);
    assertThatThrownBy(() -> stub.chaos(ChaosRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getDescription()).contains("--enable-chaos"));
    assertThat(admin.ran).isEmpty();
  }

  @Test
  void withClientCertAuthACallerWithoutACertificateMayReadButNotChange() throws IOException {
    Admin admin = new Admin();
    AdminGrpc.AdminBlockingStub stub = serve(admin, true, true);
    assertThat(stub.status(StatusRequest.getDefaultInstance())).isNotNull();
    for (Runnable change :
        List.<Runnable>of(
            () -> stub.chaos(ChaosRequest.getDefaultInstance()),
            () -> stub.changeMembership(MembershipChangeRequest.getDefaultInstance()),
            () -> stub.status(RESET))) {
      assertThatThrownBy(change::run)
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                assertThat(e.getStatus().getDescription()).contains("--admin-users root");
              });
    }
    assertThat(admin.ran).as("only the read ran").containsExactly("status");
  }

  @Test
  void aCertificateNamesItsHolderOnlyWithExactlyOneCommonName(@TempDir Path dir) throws Exception {
    TestCertificates.Authority ca = TestCertificates.Authority.create(dir, "ca");
    // TestCertificates writes the subject as "CN=" + the name given.
    assertThat(Caller.commonName(load(ca.issue("a", "root,O=ops")))).isEqualTo("root");
    assertThat(Caller.commonName(load(ca.issue("b", "alice,CN=root")))).isNull();
    assertThat(Caller.commonName(load(ca.issue("c", "alice+CN=root")))).isNull();
  }

  private static X509Certificate load(TestCertificates.Issued issued) throws Exception {
    try (InputStream in = Files.newInputStream(issued.certFile())) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }
}
