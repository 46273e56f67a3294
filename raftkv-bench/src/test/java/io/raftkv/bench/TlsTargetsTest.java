package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.grpc.netty.GrpcSslContexts;
import io.raftkv.client.ClientTls;
import io.raftkv.client.KvClient;
import io.raftkv.client.KvException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The clusters of {@code bench --tls} really are TLS clusters: bench's own clients (with its client
 * certificate) write and read through 3 members, which commit only if the members reach each other
 * over peer mTLS, while a plaintext client and a TLS client without a certificate are refused; and
 * {@code compare --tls-cost} runs all four variants. What needs etcd is skipped when there is no
 * etcd on PATH.
 */
class TlsTargetsTest {
  private static final byte[] KEY = "tls-key".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] VALUE = "over tls".getBytes(StandardCharsets.US_ASCII);

  @TempDir Path tmp;

  @Test
  @Timeout(120)
  void raftkvServesBenchsCertifiedClientsAndRefusesOthers() throws Exception {
    try (RaftkvTarget t =
        RaftkvTarget.start(
            InsertReadCommand.devLauncher(null, "svr"), 3, 2, false, List.of(), true)) {
      assertThat(t.name()).isEqualTo("raftkv+tls");
      try (Target.Session s = t.session(0)) {
        s.put(KEY, VALUE);
        assertThat(s.read(KEY)).hasValue(VALUE);
      }
      assertRefused(t.endpoints(), ClientTls.PLAINTEXT);
      assertRefused(t.endpoints(), new ClientTls(t.tls().caFile(), null, null));
    }
  }

  private static void assertRefused(List<String> endpoints, ClientTls tls) {
    try (KvClient c =
        KvClient.builder(endpoints)
            .timeout(Duration.ofSeconds(3))
            .channelFactory(tls::channel)
            .build()) {
      assertThatThrownBy(() -> c.get(KEY)).as("a GET with %s", tls).isInstanceOf(KvException.class);
    }
  }

  @Test
  @Timeout(120)
  void etcdServesBenchsCertifiedClientsAndRefusesOthers() throws Exception {
    assumeThat(Processes.onPath("etcd")).as("etcd on PATH").isNotNull();
    try (EtcdTarget t = EtcdTarget.start(EtcdTarget.findEtcd(null), 3, 2, false, List.of(), true)) {
      assertThat(t.name()).isEqualTo("etcd+tls");
      assertThat(t.endpoints()).allSatisfy(u -> assertThat(u).startsWith("https://"));
      try (Target.Session s = t.session(0)) {
        s.put(KEY, VALUE);
        assertThat(s.read(KEY)).hasValue(VALUE);
      }
      List<String> plain = t.endpoints().stream().map(u -> u.replace("https:", "http:")).toList();
      assertRefused(Client.builder().endpoints(plain.toArray(String[]::new)));
      String[] https = t.endpoints().toArray(String[]::new);
      Path ca = t.logFile(0).resolveSibling("certs/ca.crt");
      assertRefused(
          Client.builder()
              .endpoints(https)
              .sslContext(GrpcSslContexts.forClient().trustManager(ca.toFile()).build()));
    }
  }

  /** jetcd retries a refused connection until the call's deadline. */
  private static void assertRefused(io.etcd.jetcd.ClientBuilder b) {
    try (Client c = b.connectTimeout(Duration.ofSeconds(2)).build()) {
      assertThatThrownBy(() -> c.getKVClient().get(ByteSequence.from(KEY)).get(3, TimeUnit.SECONDS))
          .isInstanceOf(TimeoutException.class);
    }
  }

  @Test
  @Timeout(180)
  void compareTlsCostRunsBothSystemsPlaintextAndWithTls() throws Exception {
    assumeThat(Processes.onPath("etcd")).as("etcd on PATH").isNotNull();
    Path json = tmp.resolve("tls-cost.json");
    Path md = tmp.resolve("tls-cost.md");
    int rc =
        BenchMain.execute(
            "compare",
            "--tls-cost",
            "--rounds=1",
            "--nodes=1",
            "--clients=2",
            "--connections=1",
            "--duration=1s",
            "--warmup=500ms",
            "--keys=100",
            "--quiet",
            "--out=" + json,
            "--markdown=" + md);
    assertThat(rc).isZero();
    String report = Files.readString(md);
    for (String run : List.of("raftkv", "etcd", "raftkv+tls", "etcd+tls")) {
      assertThat(report).containsPattern("(?m)^round 1 " + Pattern.quote(run) + " +[0-9]+ ops/s");
    }
    assertThat(report).contains("| raftkv+tls/raftkv | ops/s |").contains("| etcd+tls/etcd |");
    assertThat(Files.readString(json))
        .contains("\"tls_over_plain\": [{\"system\": \"raftkv\", \"ops_per_s\": ")
        .contains("{\"system\": \"etcd\", \"ops_per_s\": ")
        .contains("\"target\": \"etcd+tls\"");
  }
}
