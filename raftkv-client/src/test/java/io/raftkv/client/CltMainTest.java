package io.raftkv.client;

import static io.raftkv.client.FakeKvService.notLeader;
import static io.raftkv.client.FakeKvService.status;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.okhttp.OkHttpServerBuilder;
import io.raftkv.client.FakeKvService.Call;
import io.raftkv.proto.kvs.Status;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class CltMainTest {

  /** What one clt run printed and returned. */
  record Run(int code, String out, String err) {}

  private static Run clt(String... args) {
    return cltWithStdin(new byte[0], args);
  }

  private static Run cltWithStdin(byte[] stdin, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        CltMain.run(
            args,
            new ByteArrayInputStream(stdin),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static void assertClientError(Run r, String fragment) {
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).isEmpty();
    assertThat(r.err()).startsWith("clt: ").contains(fragment).endsWith("\n");
    assertThat(r.err().strip().lines()).hasSize(1);
  }

  // ------------------------------------------------------------------ arguments, no server

  @Test
  void unknownOperationIsAClientError() {
    assertClientError(clt("-p", "2025", "-o", "FETCH", "-k", "1"), "unknown operation 'FETCH'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"PUT", "APPEND", "put"})
  void putAndAppendNeedAValue(String op) {
    assertClientError(clt("-p", "2025", "-o", op, "-k", "1"), "needs a value");
  }

  @ParameterizedTest
  @ValueSource(strings = {"abc", "0", "70000", "-1", ""})
  void aPortMustBeANumberInRange(String port) {
    assertClientError(clt("-p", port, "-o", "GET", "-k", "1"), "option '-p' wants a number");
  }

  @Test
  void aServerMustBeGiven() {
    assertClientError(clt("-o", "GET", "-k", "1"), "give the server with -p PORT");
  }

  @Test
  void portAndServersExcludeEachOther() {
    assertClientError(clt("-p", "1", "-s", "2", "-o", "GET", "-k", "1"), "exclude each other");
  }

  @Test
  void otherBadArguments() {
    assertClientError(clt("-p", "1", "-o", "GET"), "missing the key");
    assertClientError(clt("-p", "1", "-k", "1"), "missing the operation");
    assertClientError(clt("-p", "1", "-o", "GET", "-k", "1", "-x"), "unknown option '-x'");
    assertClientError(clt("-p", "1", "-o", "GET", "-k"), "needs a value");
    assertClientError(clt("-p", "1", "-o", "GET", "-k", "1", "extra"), "unexpected argument");
    assertClientError(clt("-p", "1", "-p", "2", "-o", "GET", "-k", "1"), "more than once");
    assertClientError(clt("-s", "h:x", "-o", "GET", "-k", "1"), "bad server address 'h:x'");
    assertClientError(clt("-p", "1", "-o", "GET", "-k", "1", "--timeout-ms", "0"), "above 0");
  }

  @Test
  void helpGoesToStdoutWithExitCodeZero() {
    Run r = clt("--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("Usage: clt").contains("Exit codes:").contains("INVALID_ARGUMENT");
    assertThat(r.err()).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(Status.class)
  void everyStatusHasAnExitCode(Status s) {
    int expected =
        switch (s) {
          case OK -> 0;
          case INVALID_ARGUMENT -> 1;
          case NOT_LEADER -> 2;
          case NO_KEY -> 3;
          default -> 4;
        };
    if (s != Status.UNRECOGNIZED) {
      assertThat(CltMain.exitCode(s)).isEqualTo(expected);
    }
  }

  @Test
  void addressesAcceptBarePorts() {
    assertThat(CltMain.address("2025")).isEqualTo("127.0.0.1:2025");
    assertThat(CltMain.address("h:2025")).isEqualTo("h:2025");
    assertThat(CltMain.address(":2025")).isNull();
    assertThat(CltMain.address("h:0")).isNull();
  }

  @Test
  void anUnreachableServerIsAServerError() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      port = s.getLocalPort();
    }
    Run r = clt("-p", "" + port, "-o", "GET", "-k", "1", "--connect-timeout-ms", "100");
    assertThat(r.code()).isEqualTo(4);
    assertThat(r.err())
        .isEqualTo("clt: 127.0.0.1:" + port + ": cannot connect (connection refused)\n");
  }

  // ------------------------------------------------------------------ against a fake server

  private final List<Call> log = Collections.synchronizedList(new ArrayList<>());
  private final FakeKvService fake = new FakeKvService("fake", log, new AtomicLong(100));
  private Server server;

  private String port() throws IOException {
    if (server == null) {
      server =
          OkHttpServerBuilder.forPort(
                  new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
              .addService(fake)
              .build()
              .start();
    }
    return "" + ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
  }

  @AfterEach
  void stopServer() {
    if (server != null) {
      server.shutdownNow();
    }
  }

  @ParameterizedTest
  @CsvSource({"GET", "get", "DIRECT_GET", "direct_get"})
  void getsPrintTheValueAloneWithANewline(String op) throws IOException {
    fake.behavior = c -> FakeKvService.ok("100");
    Run r = clt("-p", port(), "-o", op, "-k", "10");
    assertThat(r).isEqualTo(new Run(0, "100\n", ""));
    assertThat(log.get(0).method()).isEqualTo(op.toUpperCase());
  }

  @Test
  void writesPrintNothingAndCarryNoSession() throws IOException {
    String p = port();
    assertThat(clt("-p", p, "-o", "PUT", "-k", "10", "-v", "100")).isEqualTo(new Run(0, "", ""));
    assertThat(clt("-p", p, "-o", "APPEND", "-k", "10", "-v", "1")).isEqualTo(new Run(0, "", ""));
    assertThat(clt("-p", p, "-o", "DELETE", "-k", "10")).isEqualTo(new Run(0, "", ""));
    assertThat(log).extracting(Call::method).containsExactly("PUT", "APPEND", "DELETE");
    assertThat(log).extracting(Call::clientId).containsOnly(0L);
  }

  @Test
  void aFollowerAnswersNotLeaderWithExitCodeTwo() throws IOException {
    fake.behavior =
        c ->
            notLeader("127.0.0.1:2026").toBuilder()
                .setMessage("not the leader; the leader is node 1 at 127.0.0.1:2026")
                .build();
    Run r = clt("-p", port(), "-o", "PUT", "-k", "10", "-v", "100");
    assertThat(r)
        .isEqualTo(new Run(2, "", "clt: not the leader; the leader is node 1 at 127.0.0.1:2026\n"));
    assertThat(log).hasSize(1); // -p never follows the hint
  }

  @ParameterizedTest
  @CsvSource({
    "NO_KEY, 3",
    "INVALID_ARGUMENT, 1",
    "UNAVAILABLE, 4",
    "TIMEOUT, 4",
    "INTERNAL, 4",
    "SESSION_EXPIRED, 4"
  })
  void serverStatusesMapToExitCodes(Status s, int code) throws IOException {
    fake.behavior = c -> status(s, "server says " + s);
    Run r = clt("-p", port(), "-o", "GET", "-k", "10");
    assertThat(r).isEqualTo(new Run(code, "", "clt: server says " + s + "\n"));
  }

  @Test
  void anEmptyServerMessageGetsADefault() throws IOException {
    fake.behavior = c -> status(Status.NO_KEY, "");
    assertThat(clt("-p", port(), "-o", "GET", "-k", "10"))
        .isEqualTo(new Run(3, "", "clt: no such key\n"));
  }

  @Test
  void valuesAreRawBytes() throws IOException {
    fake.behavior = c -> FakeKvService.ok("héllo wörld");
    Run r = clt("-p", port(), "-o", "GET", "-k", "k");
    assertThat(r.out()).isEqualTo("héllo wörld\n");
  }

  @Test
  void withServersItFindsTheLeader() throws IOException {
    String p = port();
    int dead;
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      dead = s.getLocalPort();
    }
    fake.behavior = c -> FakeKvService.ok("v");
    Run r = clt("-s", dead + ",127.0.0.1:" + p, "-o", "GET", "-k", "k", "--timeout-ms", "5000");
    assertThat(r).isEqualTo(new Run(0, "v\n", ""));

    fake.behavior = FakeKvService.writesOnly(c -> status(Status.NO_KEY, "no such key"));
    assertThat(clt("-s", p, "-o", "DELETE", "-k", "k").code()).isEqualTo(3);
    assertThat(log).extracting(Call::clientId).last().isNotEqualTo(0L);

    fake.behavior =
        FakeKvService.writesOnly(c -> status(Status.TIMEOUT, "no outcome within 5000 ms"));
    Run unknown = clt("-s", p, "-o", "PUT", "-k", "k", "-v", "v", "--timeout-ms", "300");
    assertThat(unknown.code()).isEqualTo(4);
    assertThat(unknown.err()).startsWith("clt: PUT outcome unknown");

    fake.behavior = c -> notLeader("");
    Run noLeader = clt("-s", p, "-o", "GET", "-k", "k", "--timeout-ms", "200");
    assertThat(noLeader.code()).isEqualTo(4);
    assertThat(noLeader.err()).startsWith("clt: no leader found");
  }

  // ------------------------------------------------------------------ values and keys as bytes

  @Test
  void aKeyThatWasNotValidUtf8IsRefusedNotTurnedIntoReplacementCharacters() {
    // The JVM decoded the invalid bytes of argv to U+FFFD before main() ran.
    assertClientError(clt("-p", "1", "-o", "GET", "-k", "a\uFFFDb"), "the key (-k) is not valid");
    assertClientError(clt("-p", "1", "-o", "PUT", "-k", "k", "-v", "\uFFFD"), "-v is not valid");
  }

  @Test
  void dashVDashReadsTheValueFromStdinByteForByte() throws IOException {
    byte[] value = {'x', (byte) 0xff, 0, 'y', '\n'};
    assertThat(cltWithStdin(value, "-p", port(), "-o", "PUT", "-k", "k", "-v", "-").code())
        .isZero();
    assertThat(fake.lastValue.toByteArray()).isEqualTo(value);
  }

  @Test
  void valueFileReadsTheValueFromAFile(@TempDir Path dir) throws IOException {
    byte[] value = new byte[3 << 20]; // beyond what a shell passes in one argument
    value[0] = (byte) 0xfe;
    value[value.length - 1] = 7;
    Path f = dir.resolve("v.bin");
    Files.write(f, value);
    assertThat(clt("-s", port(), "-o", "APPEND", "-k", "k", "--value-file", f.toString()).code())
        .isZero();
    assertThat(fake.lastValue.toByteArray()).isEqualTo(value);
    assertClientError(
        clt("-p", "1", "-o", "PUT", "-k", "k", "--value-file", dir.resolve("none").toString()),
        "cannot read --value-file");
    assertClientError(
        clt("-p", "1", "-o", "PUT", "-k", "k", "-v", "1", "--value-file", f.toString()),
        "exclude each other");
  }

  // ------------------------------------------------------------------ a server that is not KV

  @Test
  void aKvCallToAPortWithoutTheKvServiceSaysItWasNotApplied() throws IOException {
    // A server with no KvService answers UNIMPLEMENTED, as a node's Raft port does.
    Server other =
        OkHttpServerBuilder.forPort(
                new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
            .addService(new io.raftkv.proto.admin.AdminGrpc.AdminImplBase() {})
            .build()
            .start();
    try {
      String p = "" + ((InetSocketAddress) other.getListenSockets().get(0)).getPort();
      Run one = clt("-p", p, "-o", "PUT", "-k", "k", "-v", "v");
      assertThat(one.code()).isEqualTo(4);
      assertThat(one.err())
          .isEqualTo(
              "clt: 127.0.0.1:"
                  + p
                  + " is not a KV port (it does not serve the KV service: a Raft port?);"
                  + " the PUT was not applied\n");
      Run any = clt("-s", p, "-o", "PUT", "-k", "k", "-v", "v");
      assertThat(any.code()).isEqualTo(4);
      assertThat(any.err()).contains("is not a KV port").contains("nothing was applied there");
      assertThat(any.err()).doesNotContain("may or may not");
    } finally {
      other.shutdownNow();
    }
  }

  @Test
  void aRequestOverTheServersMessageLimitIsAClientErrorNamingTheLimit() throws IOException {
    // What svr's gRPC (Netty) answers when a request's length prefix is over its bound.
    Server small =
        OkHttpServerBuilder.forPort(
                new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
            .addService(
                new io.raftkv.proto.kvs.KvServiceGrpc.KvServiceImplBase() {
                  @Override
                  public void registerClient(
                      io.raftkv.proto.kvs.RegisterClientRequest req,
                      io.grpc.stub.StreamObserver<io.raftkv.proto.kvs.KvResponse> out) {
                    out.onNext(FakeKvService.ok().toBuilder().setClientId(1).build());
                    out.onCompleted();
                  }

                  @Override
                  public void put(
                      io.raftkv.proto.kvs.PutRequest req,
                      io.grpc.stub.StreamObserver<io.raftkv.proto.kvs.KvResponse> out) {
                    out.onError(
                        io.grpc.Status.RESOURCE_EXHAUSTED
                            .withDescription("gRPC message exceeds maximum size 1000: 5007")
                            .asRuntimeException());
                  }
                })
            .build()
            .start();
    try {
      String p = "" + ((InetSocketAddress) small.getListenSockets().get(0)).getPort();
      for (String[] target : List.of(new String[] {"-p", p}, new String[] {"-s", p})) {
        Run r = clt(target[0], target[1], "-o", "PUT", "-k", "k", "-v", "v");
        assertThat(r.code()).as(r.toString()).isEqualTo(1);
        assertThat(r.err().lines()).hasSize(1);
        assertThat(r.err())
            .contains("exceeds maximum size 1000")
            .contains("--max-value-bytes")
            .contains("not applied");
      }
    } finally {
      small.shutdownNow();
    }
  }
}
