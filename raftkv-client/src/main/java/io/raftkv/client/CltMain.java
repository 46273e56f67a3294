package io.raftkv.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
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
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
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
          "Usage: clt (-p PORT | -s HOST:PORT[,HOST:PORT...]) -o OP -k KEY",
          "           [-v VALUE | -v - | --value-file FILE]",
          "           [--timeout-ms MS] [--connect-timeout-ms MS]",
          "           [--cacert FILE] [--cert FILE --key FILE]",
          "       clt status (-p PORT | -s HOST:PORT,...) [--json] [--latency]",
          "       clt chaos (-p PORT | -s HOST:PORT,...) [--reset] [--peer ID,... FAULTS]",
          "       clt snapshot save FILE (-p PORT | -s HOST:PORT,...) | clt snapshot status FILE",
          "       clt member list|add|promote|remove|replace (-p PORT | -s HOST:PORT,...) ...",
          "Runs one operation on a raftkv cluster; 'clt status --help', 'clt chaos --help',",
          "'clt snapshot --help' and 'clt member --help' describe the admin commands (node state",
          "table, network fault injection, backups, membership changes).",
          "  -p PORT          Talk to the server at 127.0.0.1:PORT only: no leader discovery, no",
          "                   retries; a follower answers NOT_LEADER (exit 2). Writes carry no",
          "                   session (client id 0).",
          "  -s, --servers HOST:PORT,...",
          "                   All servers' KV addresses (a bare port means 127.0.0.1): find the",
          "                   leader, follow its hints and retry until the deadline, with an",
          "                   exactly-once session for writes. DIRECT_GET reads the first one.",
          "  -o OP            GET, PUT, DIRECT_GET, APPEND or DELETE (any case).",
          "  -k KEY           The key (UTF-8; an argument that is not valid UTF-8 is refused).",
          "  -v VALUE         The value (UTF-8); required by PUT and APPEND, ignored otherwise.",
          "                   '-v -' reads the value from stdin, byte for byte.",
          "  --value-file FILE",
          "                   Reads the value from FILE, byte for byte (any size the server",
          "                   accepts, beyond the shell's argument limit; binary values too).",
          "  --timeout-ms MS  Deadline of the operation, retries included (default 10000; the",
          "                   server's own request timeout is 5000).",
          "  --connect-timeout-ms MS",
          "                   With -p: how long to wait for a server that refuses connections,",
          "                   e.g. one still starting (default 3000).",
          ClientTls.USAGE,
          "                   Every clt command takes these three.",
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
          "  4  server error: unreachable, timeout, unavailable, internal error, not a KV port;",
          "     also a write whose outcome is unknown (it may or may not have been applied)",
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

  /** The value's bytes: -v's text in UTF-8, or stdin's or --value-file's bytes as they are. */
  byte[] value;

  long timeoutMillis = 10_000;
  long connectTimeoutMillis = 3_000;
  ClientTls tls = ClientTls.PLAINTEXT;
  boolean help;

  private final PrintStream out;
  private final PrintStream err;
  private final InputStream in;

  CltMain(PrintStream out, PrintStream err) {
    this(System.in, out, err);
  }

  CltMain(InputStream in, PrintStream out, PrintStream err) {
    this.in = in;
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
    return run(args, System.in, out, err);
  }

  /** Runs clt with these arguments, {@code in} as its stdin; returns its exit code. */
  static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
    if (args.length > 0 && args[0].equals("member")) {
      return MemberCli.run(java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
    }
    if (args.length > 0 && args[0].equals("snapshot")) {
      return SnapshotCli.run(java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
    }
    if (args.length > 0 && (args[0].equals("status") || args[0].equals("chaos"))) {
      // Admin commands live in their own class: KV operations never load it.
      return AdminCli.run(args[0], java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
    }
    CltMain clt = new CltMain(in, out, err);
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
        case "-p",
            "-s",
            "-o",
            "-k",
            "-v",
            "--value-file",
            "--timeout-ms",
            "--connect-timeout-ms",
            "--cacert",
            "--cert",
            "--key" -> {}
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
        case "-k" -> key = text("the key (-k)", arg);
        case "-v" -> value = arg.equals("-") ? readAll(in, "stdin") : utf8(text("-v", arg));
        case "--value-file" -> value = readFile(arg);
        case "--timeout-ms" -> timeoutMillis = number(name, arg, 1, Long.MAX_VALUE);
        case "--connect-timeout-ms" -> connectTimeoutMillis = number(name, arg, 0, Long.MAX_VALUE);
        case "--cacert", "--cert", "--key" -> tls = tls.with(canonical, arg);
        default -> throw new AssertionError(canonical);
      }
    }
    tls = tls.checked();
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
    if (seen.contains("-v") && seen.contains("--value-file")) {
      throw new UsageException("-v and --value-file exclude each other");
    }
    if ((op == Op.PUT || op == Op.APPEND) && value == null) {
      throw new UsageException(op + " needs a value (-v VALUE, -v - or --value-file FILE)");
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

  /**
   * An argument that stands for UTF-8 text, as the JVM decoded it. Java hands main() strings
   * already decoded with the platform's encoding (sun.jnu.encoding), which turns every byte it
   * cannot decode into U+FFFD: two different invalid keys would then become one key silently. The
   * original bytes are gone by then, so clt refuses any argument holding U+FFFD (a key that truly
   * contains U+FFFD is refused too, the price of not reading /proc/self/cmdline); values that are
   * not text come byte for byte through {@code -v -} or {@code --value-file}.
   */
  static String text(String what, String arg) throws UsageException {
    if (arg.indexOf('\uFFFD') >= 0) {
      String encoding = System.getProperty("sun.jnu.encoding", "UTF-8");
      throw new UsageException(
          what
              + " is not valid "
              + (encoding.equalsIgnoreCase("UTF-8")
                  ? "UTF-8"
                  : "text in this locale's encoding " + encoding + " (use a UTF-8 locale)")
              + "; give binary values with -v - or --value-file");
    }
    return arg;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] readFile(String name) throws UsageException {
    try (InputStream file = Files.newInputStream(Path.of(name))) {
      return readAll(file, name);
    } catch (IOException | InvalidPathException e) {
      throw new UsageException("cannot read --value-file " + name + ": " + e.getMessage());
    }
  }

  private static byte[] readAll(InputStream source, String name) throws UsageException {
    try {
      return source.readAllBytes();
    } catch (IOException e) {
      throw new UsageException("cannot read the value from " + name + ": " + e.getMessage());
    } catch (OutOfMemoryError e) {
      throw new UsageException("the value in " + name + " does not fit in clt's memory");
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
    try {
      return port != null ? oneShot() : viaClient(servers);
    } catch (IllegalArgumentException e) {
      err.println("clt: " + e.getMessage()); // a TLS file that cannot be read or parsed
      return 1;
    }
  }

  // ------------------------------------------------------------------ -p: one server, one call

  private int oneShot() {
    String target = "127.0.0.1:" + port;
    ManagedChannel channel = tls.channel(target);
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
          stub.put(PutRequest.newBuilder().setKey(k).setValue(ByteString.copyFrom(value)).build());
      case APPEND ->
          stub.append(
              AppendRequest.newBuilder().setKey(k).setValue(ByteString.copyFrom(value)).build());
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
    boolean write = op == Op.PUT || op == Op.APPEND || op == Op.DELETE;
    String notApplied = write ? "; the " + op + " was not applied" : "";
    String why;
    if (s.getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED) {
      why = "no answer within " + timeoutMillis + " ms";
    } else if (refused(e)) {
      why = "cannot connect (connection refused)";
    } else if (s.getCode() == io.grpc.Status.Code.UNIMPLEMENTED) {
      // The server has no KvService: nothing ran there.
      err.println("clt: " + target + " " + KvClient.NOT_A_KV_PORT + notApplied);
      return 4;
    } else if (ClientTls.handshakeFailure(s) != null) {
      err.println("clt: " + target + ": " + ClientTls.handshakeFailure(s) + notApplied);
      return 1;
    } else if (KvClient.tooLarge(s)) {
      // gRPC refused the request from its length prefix, before any handler ran.
      err.println("clt: " + target + ": " + KvClient.tooLargeMessage(s) + notApplied);
      return 1;
    } else {
      why = s.getDescription() != null ? s.getDescription() : s.getCode().toString();
    }
    if (write && !refused(e)) {
      why += "; the " + op + " may or may not have been applied";
    }
    err.println("clt: " + target + ": " + why);
    return 4;
  }

  /** Nothing reached the server (no listener there): the call was not delivered. */
  static boolean refused(StatusRuntimeException e) {
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
        KvClient.builder(addresses)
            .timeout(Duration.ofMillis(timeoutMillis))
            .channelFactory(tls::channel)
            .build()) {
      byte[] k = key.getBytes(StandardCharsets.UTF_8);
      switch (op) {
        case GET -> {
          return printOrNoKey(client.get(k));
        }
        case DIRECT_GET -> {
          return printOrNoKey(client.directGet(addresses.get(0), k));
        }
        case PUT -> client.put(k, value);
        case APPEND -> client.append(k, value);
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
