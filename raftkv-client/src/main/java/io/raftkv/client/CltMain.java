package io.raftkv.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.raftkv.proto.kvs.AppendRequest;
import io.raftkv.proto.kvs.DeleteRequest;
import io.raftkv.proto.kvs.DirectGetRequest;
import io.raftkv.proto.kvs.GetRequest;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.KvServiceGrpc;
import io.raftkv.proto.kvs.KvServiceGrpc.KvServiceBlockingStub;
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.Status;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code clt}: one KV operation per process, as the course's tests and users' scripts run it.
 *
 * <p>With {@code -p PORT} it talks to the one server at 127.0.0.1:PORT and nothing else (the seed's
 * semantics): a follower's NOT_LEADER ends it with exit code 2, and a write carries no session
 * (client id 0), since a one-shot process never retries a request that may have been sent. The only
 * wait is a bounded one for the connection, for a server that is still starting.
 *
 * <p>With {@code -s HOST:PORT,...} it uses {@link KvClient}: it finds the leader, follows hints and
 * retries until {@code --timeout-ms}, with an exactly-once session for writes.
 */
@Command(
    name = "clt",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    exitCodeOnInvalidInput = 1,
    exitCodeOnExecutionException = 4,
    description = "Runs one operation on a raftkv cluster.",
    footer = {
      "",
      "GET and DIRECT_GET print the value alone on stdout, followed by a newline. Errors are one"
          + " line on stderr.",
      "",
      "Exit codes:",
      "  0  OK",
      "  1  client error: bad arguments, or the server refused the request as invalid"
          + " (INVALID_ARGUMENT: empty or oversized key or value)",
      "  2  the server is not the leader (-p); with -s: never (no leader found is 4)",
      "  3  no such key (GET, DIRECT_GET, DELETE)",
      "  4  server error: unreachable, timeout, unavailable, internal error; also a write whose"
          + " outcome is unknown (it may or may not have been applied)",
    })
public final class CltMain implements Callable<Integer> {

  /** The operations; names are accepted in any case. */
  enum Op {
    GET,
    PUT,
    DIRECT_GET,
    APPEND,
    DELETE
  }

  @Option(
      names = "-p",
      paramLabel = "PORT",
      description = "Talk to the server at 127.0.0.1:PORT only (no leader discovery, no retries).")
  Integer port;

  @Option(
      names = {"-s", "--servers"},
      split = ",",
      paramLabel = "HOST:PORT",
      description =
          "All servers' KV addresses (a bare port means 127.0.0.1): find the leader and retry."
              + " DIRECT_GET reads the first one.")
  List<String> servers;

  @Option(
      names = "-o",
      required = true,
      paramLabel = "OP",
      description = "GET, PUT, DIRECT_GET, APPEND or DELETE (any case).")
  Op op;

  @Option(names = "-k", required = true, paramLabel = "KEY", description = "The key (UTF-8).")
  String key;

  @Option(
      names = "-v",
      paramLabel = "VALUE",
      description = "The value (UTF-8); required by PUT and APPEND, ignored otherwise.")
  String value;

  @Option(
      names = "--timeout-ms",
      defaultValue = "10000",
      description =
          "Deadline of the operation, retries included (default: ${DEFAULT-VALUE}; the server's"
              + " own request timeout is 5000).")
  long timeoutMillis;

  @Option(
      names = "--connect-timeout-ms",
      defaultValue = "3000",
      description =
          "With -p: how long to wait for a server that refuses connections, e.g. one still"
              + " starting (default: ${DEFAULT-VALUE}).")
  long connectTimeoutMillis;

  private final PrintStream out;
  private final PrintStream err;

  CltMain(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  public static void main(String[] args) {
    int code = run(args, System.out, System.err);
    System.out.flush();
    System.exit(code);
  }

  /** Runs clt with these arguments; returns its exit code. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    CommandLine cmd = new CommandLine(new CltMain(out, err));
    cmd.setCaseInsensitiveEnumValuesAllowed(true);
    cmd.setOut(new PrintWriter(out, true));
    cmd.setErr(new PrintWriter(err, true));
    cmd.setParameterExceptionHandler(
        (ex, a) -> {
          err.println("clt: " + ex.getMessage() + " (see clt --help)");
          return 1;
        });
    cmd.setExecutionExceptionHandler(
        (ex, c, r) -> {
          err.println("clt: internal error: " + ex);
          return 4;
        });
    return cmd.execute(args);
  }

  /**
   * The exit code for a server's status: OK 0, INVALID_ARGUMENT 1, NOT_LEADER 2, NO_KEY 3, else 4.
   */
  static int exitCode(Status status) {
    return switch (status) {
      case OK -> 0;
      case INVALID_ARGUMENT -> 1;
      case NOT_LEADER -> 2;
      case NO_KEY -> 3;
      default -> 4;
    };
  }

  @Override
  public Integer call() {
    if ((port == null) == (servers == null)) {
      return usageError(
          port == null
              ? "give the server with -p PORT, or all servers with -s HOST:PORT,..."
              : "-p and -s exclude each other");
    }
    if ((op == Op.PUT || op == Op.APPEND) && value == null) {
      return usageError(op + " needs a value (-v VALUE)");
    }
    if (timeoutMillis <= 0 || connectTimeoutMillis < 0) {
      return usageError("timeouts must be positive");
    }
    if (port != null) {
      if (port < 1 || port > 65535) {
        return usageError("port " + port + " is out of range 1-65535");
      }
      return oneShot();
    }
    List<String> addresses = new ArrayList<>();
    for (String s : servers) {
      String a = address(s.trim());
      if (a == null) {
        return usageError("bad server address '" + s + "' (want HOST:PORT or PORT)");
      }
      addresses.add(a);
    }
    return viaClient(addresses);
  }

  // ------------------------------------------------------------------ -p: one server, one call

  private int oneShot() {
    String target = "127.0.0.1:" + port;
    ManagedChannel channel =
        OkHttpChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      long connectDeadline =
          System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(connectTimeoutMillis);
      while (true) {
        try {
          KvServiceBlockingStub stub =
              KvServiceGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS);
          return report(call(stub));
        } catch (StatusRuntimeException e) {
          // Connection refused: nothing was sent, so trying again is safe even for a write.
          if (refused(e) && System.nanoTime() < connectDeadline) {
            sleepMillis(50);
            channel.resetConnectBackoff();
            continue;
          }
          return transportError(target, e);
        }
      }
    } finally {
      channel.shutdownNow();
    }
  }

  private KvResponse call(KvServiceBlockingStub stub) {
    ByteString k = ByteString.copyFromUtf8(key);
    // No session (client id 0): this process sends each write once.
    return switch (op) {
      case GET -> stub.get(GetRequest.newBuilder().setKey(k).build());
      case DIRECT_GET -> stub.directGet(DirectGetRequest.newBuilder().setKey(k).build());
      case PUT ->
          stub.put(
              PutRequest.newBuilder().setKey(k).setValue(ByteString.copyFromUtf8(value)).build());
      case APPEND ->
          stub.append(
              AppendRequest.newBuilder()
                  .setKey(k)
                  .setValue(ByteString.copyFromUtf8(value))
                  .build());
      case DELETE -> stub.delete(DeleteRequest.newBuilder().setKey(k).build());
    };
  }

  private int report(KvResponse r) {
    if (r.getStatus() == Status.OK) {
      if (op == Op.GET || op == Op.DIRECT_GET) {
        printValue(r.getValue().toByteArray());
      }
      return 0;
    }
    String message = r.getMessage();
    if (message.isEmpty()) {
      message = KvClient.defaultMessage(r.getStatus());
      if (r.getStatus() == Status.NOT_LEADER && !r.getLeaderAddress().isEmpty()) {
        message += "; the leader is at " + r.getLeaderAddress();
      }
    }
    err.println("clt: " + message);
    return exitCode(r.getStatus());
  }

  private int transportError(String target, StatusRuntimeException e) {
    io.grpc.Status s = e.getStatus();
    String why;
    if (s.getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED) {
      why = "no answer within " + timeoutMillis + " ms";
    } else if (refused(e)) {
      why = "cannot connect (connection refused)";
    } else {
      why = s.getDescription() != null ? s.getDescription() : s.getCode().toString();
    }
    err.println("clt: " + target + ": " + why);
    return 4;
  }

  private static boolean refused(StatusRuntimeException e) {
    if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE) {
      return false;
    }
    for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
      if (t instanceof ConnectException) {
        return true;
      }
    }
    return false;
  }

  // ------------------------------------------------------------------ -s: KvClient

  private int viaClient(List<String> addresses) {
    try (KvClient client =
        KvClient.builder(addresses).timeout(Duration.ofMillis(timeoutMillis)).build()) {
      byte[] k = key.getBytes(StandardCharsets.UTF_8);
      switch (op) {
        case GET -> {
          return printOrNoKey(client.get(k));
        }
        case DIRECT_GET -> {
          return printOrNoKey(client.directGet(addresses.get(0), k));
        }
        case PUT -> client.put(k, value.getBytes(StandardCharsets.UTF_8));
        case APPEND -> client.append(k, value.getBytes(StandardCharsets.UTF_8));
        case DELETE -> {
          if (!client.delete(k)) {
            err.println("clt: no such key");
            return 3;
          }
        }
      }
      return 0;
    } catch (KvException e) {
      err.println("clt: " + e.getMessage());
      return e.outcomeUnknown() ? 4 : exitCode(e.status());
    }
  }

  private int printOrNoKey(Optional<byte[]> v) {
    if (v.isEmpty()) {
      err.println("clt: no such key");
      return 3;
    }
    printValue(v.get());
    return 0;
  }

  // ------------------------------------------------------------------ helpers

  private void printValue(byte[] v) {
    out.write(v, 0, v.length);
    out.write('\n');
    out.flush();
  }

  private int usageError(String message) {
    err.println("clt: " + message + " (see clt --help)");
    return 1;
  }

  /** "host:port" or a bare port (meaning 127.0.0.1), as "host:port"; null if malformed. */
  static String address(String s) {
    int colon = s.lastIndexOf(':');
    String host = colon < 0 ? "127.0.0.1" : s.substring(0, colon);
    String p = colon < 0 ? s : s.substring(colon + 1);
    if (host.isEmpty()) {
      return null;
    }
    try {
      int n = Integer.parseInt(p);
      return n >= 1 && n <= 65535 ? host + ":" + n : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static void sleepMillis(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
