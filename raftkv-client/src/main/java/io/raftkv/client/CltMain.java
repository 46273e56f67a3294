package io.raftkv.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.raftkv.client.retry.RetryPolicy;
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
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

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
 *
 * <p>The arguments are parsed by hand, not with picocli: picocli's class files are Java 5 ones,
 * which JDK 17's class-data sharing cannot archive, and loading them cost about a third of clt's
 * start-up.
 */
public final class CltMain {

  static final String USAGE =
      String.join(
          "\n",
          "Usage: clt (-p PORT | -s HOST:PORT[,HOST:PORT...]) -o OP -k KEY [-v VALUE]",
          "           [--timeout-ms MS] [--connect-timeout-ms MS]",
          "       clt status (-p PORT | -s HOST:PORT,...) [--json] [--latency]",
          "       clt chaos (-p PORT | -s HOST:PORT,...) [--reset] [--peer ID,... FAULTS]",
          "       clt snapshot save FILE (-p PORT | -s HOST:PORT,...) | clt snapshot status FILE",
          "Runs one operation on a raftkv cluster; 'clt status --help', 'clt chaos --help' and",
          "'clt snapshot --help' describe the admin commands (node state table, network fault",
          "injection, backups).",
          "  -p PORT          Talk to the server at 127.0.0.1:PORT only: no leader discovery, no",
          "                   retries; a follower answers NOT_LEADER (exit 2). Writes carry no",
          "                   session (client id 0).",
          "  -s, --servers HOST:PORT,...",
          "                   All servers' KV addresses (a bare port means 127.0.0.1): find the",
          "                   leader, follow its hints and retry until the deadline, with an",
          "                   exactly-once session for writes. DIRECT_GET reads the first one.",
          "  -o OP            GET, PUT, DIRECT_GET, APPEND or DELETE (any case).",
          "  -k KEY           The key (UTF-8).",
          "  -v VALUE         The value (UTF-8); required by PUT and APPEND, ignored otherwise.",
          "  --timeout-ms MS  Deadline of the operation, retries included (default 10000; the",
          "                   server's own request timeout is 5000).",
          "  --connect-timeout-ms MS",
          "                   With -p: how long to wait for a server that refuses connections,",
          "                   e.g. one still starting (default 3000).",
          "  -h, --help       Show this help and exit.",
          "",
          "GET and DIRECT_GET print the value alone on stdout, followed by a newline. Errors are",
          "one line on stderr.",
          "",
          "Exit codes:",
          "  0  OK",
          "  1  client error: bad arguments, or the server refused the request as invalid",
          "     (INVALID_ARGUMENT: e.g. an empty or oversized key or value)",
          "  2  the server is not the leader (-p; with -s, finding no leader is exit 4)",
          "  3  no such key (GET, DIRECT_GET, DELETE)",
          "  4  server error: unreachable, timeout, unavailable, internal error; also a write",
          "     whose outcome is unknown (it may or may not have been applied)",
          "");

  /** The operations; names are accepted in any case. */
  enum Op {
    GET,
    PUT,
    DIRECT_GET,
    APPEND,
    DELETE
  }

  /** A bad command line; its message is the one line clt prints. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  Integer port;
  List<String> servers;
  Op op;
  String key;
  String value;
  long timeoutMillis = 10_000;
  long connectTimeoutMillis = 3_000;
  boolean help;

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
    if (args.length > 0 && args[0].equals("snapshot")) {
      return SnapshotCli.run(java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
    }
    if (args.length > 0 && (args[0].equals("status") || args[0].equals("chaos"))) {
      // Admin commands live in their own class: KV operations never load it.
      return AdminCli.run(args[0], java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
    }
    CltMain clt = new CltMain(out, err);
    try {
      clt.parse(args);
    } catch (UsageException e) {
      err.println("clt: " + e.getMessage() + " (see clt --help)");
      return 1;
    }
    if (clt.help) {
      out.print(USAGE);
      out.flush();
      return 0;
    }
    try {
      return clt.call();
    } catch (RuntimeException e) {
      err.println("clt: internal error: " + e);
      return 4;
    }
  }

  /** Reads the command line into the fields; checks everything that needs no server. */
  void parse(String[] args) throws UsageException {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("-h") || a.equals("--help")) {
        help = true;
        return;
      }
      String name;
      String arg;
      if (a.startsWith("--")) {
        int eq = a.indexOf('=');
        name = eq < 0 ? a : a.substring(0, eq);
        arg = eq < 0 ? null : a.substring(eq + 1);
      } else if (a.startsWith("-") && a.length() >= 2) {
        name = a.substring(0, 2);
        arg = a.length() > 2 ? a.substring(2) : null;
      } else {
        throw new UsageException("unexpected argument '" + a + "'");
      }
      String canonical = name.equals("--servers") ? "-s" : name;
      switch (canonical) {
        case "-p", "-s", "-o", "-k", "-v", "--timeout-ms", "--connect-timeout-ms" -> {}
        default -> throw new UsageException("unknown option '" + name + "'");
      }
      if (arg == null) {
        if (i + 1 >= args.length) {
          throw new UsageException("option '" + name + "' needs a value");
        }
        arg = args[++i];
      }
      if (!seen.add(canonical)) {
        throw new UsageException("option '" + name + "' is given more than once");
      }
      switch (canonical) {
        case "-p" -> port = (int) number(name, arg, 1, 65535);
        case "-s" -> servers = List.of(arg.split(",", -1));
        case "-o" -> op = operation(arg);
        case "-k" -> key = arg;
        case "-v" -> value = arg;
        case "--timeout-ms" -> timeoutMillis = number(name, arg, 1, Long.MAX_VALUE);
        case "--connect-timeout-ms" -> connectTimeoutMillis = number(name, arg, 0, Long.MAX_VALUE);
        default -> throw new AssertionError(canonical);
      }
    }
    if (op == null) {
      throw new UsageException("missing the operation (-o GET|PUT|DIRECT_GET|APPEND|DELETE)");
    }
    if (key == null) {
      throw new UsageException("missing the key (-k KEY)");
    }
    if (port == null && servers == null) {
      throw new UsageException(
          "give the server with -p PORT, or all servers with -s HOST:PORT,...");
    }
    if (port != null && servers != null) {
      throw new UsageException("-p and -s exclude each other");
    }
    if ((op == Op.PUT || op == Op.APPEND) && value == null) {
      throw new UsageException(op + " needs a value (-v VALUE)");
    }
    if (servers != null) {
      List<String> addresses = new ArrayList<>();
      for (String s : servers) {
        String address = address(s.trim());
        if (address == null) {
          throw new UsageException("bad server address '" + s + "' (want HOST:PORT or PORT)");
        }
        addresses.add(address);
      }
      servers = List.copyOf(addresses);
    }
  }

  private static Op operation(String s) throws UsageException {
    for (Op o : Op.values()) {
      if (o.name().equalsIgnoreCase(s)) {
        return o;
      }
    }
    throw new UsageException(
        "unknown operation '" + s + "' (want GET, PUT, DIRECT_GET, APPEND or DELETE)");
  }

  static long number(String option, String s, long min, long max) throws UsageException {
    try {
      long n = Long.parseLong(s.trim());
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new UsageException(
        "option '"
            + option
            + "' wants a number"
            + (max == 65535 ? " from 1 to 65535" : min == 1 ? " above 0" : "")
            + ", not '"
            + s
            + "'");
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

  /** Runs the parsed operation; returns the exit code. */
  int call() {
    return port != null ? oneShot() : viaClient(servers);
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
      message = RetryPolicy.defaultMessage(r.getStatus());
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
    boolean write = op == Op.PUT || op == Op.APPEND || op == Op.DELETE;
    if (write && !refused(e)) {
      why += "; the " + op + " may or may not have been applied";
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
