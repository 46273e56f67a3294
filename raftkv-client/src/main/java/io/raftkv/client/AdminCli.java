package io.raftkv.client;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.StringValue;
import com.google.protobuf.util.JsonFormat;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.ChaosRequest;
import io.raftkv.proto.admin.ChaosResponse;
import io.raftkv.proto.admin.PeerFault;
import io.raftkv.proto.admin.PeerStatus;
import io.raftkv.proto.admin.Role;
import io.raftkv.proto.admin.StageLatency;
import io.raftkv.proto.admin.StatusRequest;
import io.raftkv.proto.admin.StatusResponse;
import java.io.PrintStream;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code clt status} and {@code clt chaos}: the Admin service (admin.proto) from the command line.
 * Kept apart from {@link CltMain} so that KV operations never load these classes.
 *
 * <p>Like CltMain, the arguments are parsed by hand (start-up time).
 */
final class AdminCli {

  static final String STATUS_USAGE =
      String.join(
          "\n",
          "Usage: clt status (-p PORT | -s HOST:PORT[,HOST:PORT...]) [--json] [--latency]",
          "                  [--reset-latencies] [--timeout-ms MS]",
          "Prints each node's state as a table: endpoint, id, role, term, leader, commit and",
          "applied index, the log's first and last index and size on disk, the last snapshot",
          "(index/term), and on the leader each peer's match index (and a snapshot in flight).",
          "  -p PORT          The one server at 127.0.0.1:PORT.",
          "  -s, --servers HOST:PORT,...",
          "                   Several servers (a bare port means 127.0.0.1), one row each.",
          "  --json           Everything the nodes report (peers, counters, latencies) as JSON,",
          "                   one array with an object per server and line (protobuf's JSON",
          "                   mapping: 64-bit numbers are strings).",
          "  --latency        Also print each node's stage latencies (fsync, replication, apply,",
          "                   write, read_index) in milliseconds.",
          "  --reset-latencies",
          "                   Start the nodes' latency histograms afresh after reporting.",
          "                   With svr --client-cert-auth: needs a client certificate whose",
          "                   common name is one of the server's --admin-users (default root).",
          "  --timeout-ms MS  Deadline of each call (default 3000).",
          ClientTls.USAGE,
          "",
          "Exit codes: 0 every server answered, 1 bad arguments, 4 a server did not answer",
          "(the others are still printed).",
          "");

  static final String CHAOS_USAGE =
      String.join(
          "\n",
          "Usage: clt chaos (-p PORT | -s HOST:PORT[,...]) [--reset] [--peer ID[,ID...]",
          "                 [--drop-out P] [--drop-in P] [--delay-ms MS] [--cut]] [--timeout-ms MS]",
          "Sets network faults in the peer transport of the given server(s) (each one, with -s).",
          "A dropped message is discarded silently: its sender times out, it does not fail fast.",
          "  --reset          Clear every fault first.",
          "  --peer ID,...    Peers (node ids) whose fault is set; the fault replaces the peer's",
          "                   previous one (no fault options: clears it).",
          "  --drop-out P     Probability (0-1) of discarding a message to the peer.",
          "  --drop-in P      Probability (0-1) of discarding a message from the peer.",
          "  --delay-ms MS    Delay added to each message to the peer (order is kept).",
          "  --cut            Discard everything to and from the peer.",
          "  --timeout-ms MS  Deadline of each call (default 3000).",
          ClientTls.USAGE,
          "With neither --reset nor --peer it only prints the faults in force.",
          "",
          "The server must have been started with --enable-chaos; otherwise it refuses (exit 4)",
          "and changes nothing. With svr --client-cert-auth, chaos needs a client certificate",
          "whose common name is one of the server's --admin-users (default root).",
          "",
          "Exit codes: 0 OK, 1 bad arguments (or refused by the server as invalid), 4 a server",
          "did not answer or refused chaos (started without --enable-chaos).",
          "");

  private final PrintStream out;
  private final PrintStream err;
  private final boolean chaos;

  List<String> servers;
  boolean json;
  boolean latency;
  boolean resetLatencies;
  long timeoutMillis = 3_000;
  ClientTls tls = ClientTls.PLAINTEXT;
  boolean reset;
  List<Integer> peers;
  double dropOut;
  double dropIn;
  long delayMs;
  boolean cut;
  boolean faultGiven;
  boolean help;

  private AdminCli(boolean chaos, PrintStream out, PrintStream err) {
    this.chaos = chaos;
    this.out = out;
    this.err = err;
  }

  /** {@code args} without the command word; returns the exit code. */
  static int run(String command, String[] args, PrintStream out, PrintStream err) {
    AdminCli cli = new AdminCli(command.equals("chaos"), out, err);
    try {
      cli.parse(args);
    } catch (CltMain.UsageException e) {
      err.println("clt " + command + ": " + e.getMessage() + " (see clt " + command + " --help)");
      return 1;
    }
    if (cli.help) {
      out.print(cli.chaos ? CHAOS_USAGE : STATUS_USAGE);
      out.flush();
      return 0;
    }
    try {
      return cli.chaos ? cli.chaos() : cli.status();
    } catch (RuntimeException e) {
      err.println("clt " + command + ": internal error: " + e);
      return 4;
    }
  }

  // ------------------------------------------------------------------ arguments

  void parse(String[] args) throws CltMain.UsageException {
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
        throw new CltMain.UsageException("unexpected argument '" + a + "'");
      }
      String canonical = name.equals("--servers") ? "-s" : name;
      boolean flag;
      switch (canonical) {
        case "-p", "-s", "--timeout-ms", "--cacert", "--cert", "--key" -> flag = false;
        case "--json", "--latency", "--reset-latencies" -> {
          if (chaos) {
            throw new CltMain.UsageException("unknown option '" + name + "'");
          }
          flag = true;
        }
        case "--peer", "--drop-out", "--drop-in", "--delay-ms" -> {
          if (!chaos) {
            throw new CltMain.UsageException("unknown option '" + name + "'");
          }
          flag = false;
        }
        case "--cut", "--reset" -> {
          if (!chaos) {
            throw new CltMain.UsageException("unknown option '" + name + "'");
          }
          flag = true;
        }
        default -> throw new CltMain.UsageException("unknown option '" + name + "'");
      }
      if (flag && arg != null) {
        throw new CltMain.UsageException("option '" + name + "' takes no value");
      }
      if (!flag && arg == null) {
        if (i + 1 >= args.length) {
          throw new CltMain.UsageException("option '" + name + "' needs a value");
        }
        arg = args[++i];
      }
      if (!seen.add(canonical)) {
        throw new CltMain.UsageException("option '" + name + "' is given more than once");
      }
      switch (canonical) {
        case "-p" -> servers = List.of("127.0.0.1:" + CltMain.number(name, arg, 1, 65535));
        case "-s" -> servers = addresses(arg);
        case "--timeout-ms" -> timeoutMillis = CltMain.number(name, arg, 1, Long.MAX_VALUE);
        case "--cacert", "--cert", "--key" -> tls = tls.with(canonical, arg);
        case "--json" -> json = true;
        case "--latency" -> latency = true;
        case "--reset-latencies" -> resetLatencies = true;
        case "--reset" -> reset = true;
        case "--cut" -> {
          cut = true;
          faultGiven = true;
        }
        case "--peer" -> peers = peerIds(arg);
        case "--drop-out" -> {
          dropOut = probability(name, arg);
          faultGiven = true;
        }
        case "--drop-in" -> {
          dropIn = probability(name, arg);
          faultGiven = true;
        }
        case "--delay-ms" -> {
          delayMs = CltMain.number(name, arg, 0, 0xFFFFFFFFL);
          faultGiven = true;
        }
        default -> throw new AssertionError(canonical);
      }
    }
    tls = tls.checked();
    if (seen.contains("-p") && seen.contains("-s")) {
      throw new CltMain.UsageException("-p and -s exclude each other");
    }
    if (servers == null) {
      throw new CltMain.UsageException(
          "give the server with -p PORT, or servers with -s HOST:PORT,...");
    }
    if (faultGiven && peers == null) {
      throw new CltMain.UsageException("say which peers the fault is for (--peer ID[,ID...])");
    }
  }

  static List<String> addresses(String arg) throws CltMain.UsageException {
    List<String> list = new ArrayList<>();
    for (String s : arg.split(",", -1)) {
      String address = CltMain.address(s.trim());
      if (address == null) {
        throw new CltMain.UsageException("bad server address '" + s + "' (want HOST:PORT or PORT)");
      }
      list.add(address);
    }
    return List.copyOf(list);
  }

  private static List<Integer> peerIds(String arg) throws CltMain.UsageException {
    List<Integer> ids = new ArrayList<>();
    for (String s : arg.split(",", -1)) {
      ids.add((int) CltMain.number("--peer", s, 0, Integer.MAX_VALUE));
    }
    return List.copyOf(ids);
  }

  private static double probability(String option, String s) throws CltMain.UsageException {
    try {
      double p = Double.parseDouble(s.trim());
      if (p >= 0 && p <= 1) {
        return p;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new CltMain.UsageException(
        "option '" + option + "' wants a probability from 0 to 1, not '" + s + "'");
  }

  // ------------------------------------------------------------------ status

  private record Answer<T>(String endpoint, T response, String error) {}

  private int status() {
    StatusRequest req = StatusRequest.newBuilder().setResetLatencies(resetLatencies).build();
    List<Answer<StatusResponse>> answers = callAll(stub -> stub.status(req));
    int code = 0;
    for (Answer<StatusResponse> a : answers) {
      if (a.error() != null) {
        err.println("clt status: " + a.endpoint() + ": " + a.error());
        code = 4;
      }
    }
    if (json) {
      printJson(answers);
    } else {
      printTable(answers);
      if (latency) {
        printLatencies(answers);
      }
    }
    out.flush();
    return code;
  }

  private void printTable(List<Answer<StatusResponse>> answers) {
    Table t =
        new Table(
            "ENDPOINT",
            "ID",
            "ROLE",
            "TERM",
            "LEADER",
            "COMMIT",
            "APPLIED",
            "FIRST INDEX",
            "LAST INDEX",
            "LOG MIB",
            "SNAPSHOT",
            "PEER MATCH");
    for (Answer<StatusResponse> a : answers) {
      StatusResponse s = a.response();
      if (s == null) {
        continue;
      }
      StringBuilder match = new StringBuilder();
      if (s.getRole() == Role.LEADER) {
        for (PeerStatus p : s.getPeersList()) {
          match.append(match.length() == 0 ? "" : " ").append(p.getId()).append(':');
          match.append(p.getMatchIndex());
          if (p.getPendingSnapshot() > 0) {
            match.append("(snapshot ").append(p.getPendingSnapshot()).append(')');
          }
        }
      }
      t.row(
          a.endpoint(),
          num(s.getId()),
          role(s.getRole()),
          num(s.getTerm()),
          s.getLeaderId() < 0 ? "-" : num(s.getLeaderId()),
          num(s.getCommitIndex()),
          num(s.getAppliedIndex()),
          num(s.getFirstIndex()),
          num(s.getLastIndex()),
          String.format("%.1f", s.getLogBytes() / 1048576.0),
          s.hasSnapshot() ? s.getSnapshot().getIndex() + "/t" + s.getSnapshot().getTerm() : "-",
          match.toString());
    }
    t.print(out);
    printRejections(answers);
    // The cluster id, once: what a node that joins (svr --join --cluster-id) must be given.
    answers.stream()
        .map(Answer::response)
        .filter(r -> r != null && !r.getClusterId().isEmpty())
        .map(StatusResponse::getClusterId)
        .distinct()
        .forEach(id -> out.println("cluster id: " + id));
  }

  /**
   * A line per node that refused peer traffic (another cluster's nodes, a forged sender, a
   * certificate naming no member): rare, and each worth an operator's look, so shown only then.
   */
  private void printRejections(List<Answer<StatusResponse>> answers) {
    for (Answer<StatusResponse> a : answers) {
      if (a.response() == null) {
        continue;
      }
      List<String> reasons = new ArrayList<>();
      new java.util.TreeMap<>(a.response().getCounters().getPeerMessagesRejectedMap())
          .forEach(
              (reason, n) -> {
                if (n > 0) {
                  reasons.add(reason + " " + n);
                }
              });
      if (!reasons.isEmpty()) {
        out.println(
            a.endpoint()
                + ": refused peer messages: "
                + String.join(", ", reasons)
                + " (see its log)");
      }
    }
  }

  private void printLatencies(List<Answer<StatusResponse>> answers) {
    Table t =
        new Table("ENDPOINT", "STAGE", "COUNT", "P50 MS", "P90 MS", "P99 MS", "MAX MS", "MEAN MS");
    for (Answer<StatusResponse> a : answers) {
      if (a.response() == null) {
        continue;
      }
      for (StageLatency l : a.response().getLatenciesList()) {
        t.row(
            a.endpoint(),
            l.getStage(),
            num(l.getCount()),
            millis(l.getP50Micros()),
            millis(l.getP90Micros()),
            millis(l.getP99Micros()),
            millis(l.getMaxMicros()),
            millis(l.getMeanMicros()));
      }
    }
    t.print(out);
  }

  /**
   * One JSON array, an object per server on a line of its own: its endpoint and its status or
   * error. Messages and strings are printed by protobuf's JsonFormat (the proto3 JSON mapping:
   * lowerCamelCase names, enums by name, 64-bit numbers as strings, every field even when 0).
   */
  private void printJson(List<Answer<StatusResponse>> answers) {
    JsonFormat.Printer printer =
        JsonFormat.printer().alwaysPrintFieldsWithNoPresence().omittingInsignificantWhitespace();
    StringBuilder sb = new StringBuilder("[");
    try {
      for (int i = 0; i < answers.size(); i++) {
        Answer<StatusResponse> a = answers.get(i);
        sb.append(i == 0 ? "\n" : ",\n")
            .append("{\"endpoint\":")
            .append(printer.print(StringValue.of(a.endpoint())));
        if (a.error() != null) {
          sb.append(",\"error\":").append(printer.print(StringValue.of(a.error())));
        } else {
          sb.append(",\"status\":").append(printer.print(a.response()));
        }
        sb.append('}');
      }
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print a status as JSON: " + e.getMessage(), e);
    }
    sb.append("\n]\n");
    out.print(sb);
  }

  // ------------------------------------------------------------------ chaos

  private int chaos() {
    ChaosRequest.Builder b = ChaosRequest.newBuilder().setReset(reset);
    if (peers != null) {
      for (int p : peers) {
        b.addFaults(
            PeerFault.newBuilder()
                .setPeerId(p)
                .setDropOut(dropOut)
                .setDropIn(dropIn)
                .setDelayMs((int) delayMs)
                .setCut(cut));
      }
    }
    ChaosRequest req = b.build();
    List<Answer<ChaosResponse>> answers = callAll(stub -> stub.chaos(req));
    int code = 0;
    for (Answer<ChaosResponse> a : answers) {
      if (a.error() != null) {
        err.println("clt chaos: " + a.endpoint() + ": " + a.error());
        code = Math.max(code, a.error().startsWith("refused: ") ? 1 : 4);
        continue;
      }
      List<PeerFault> faults = a.response().getFaultsList();
      if (faults.isEmpty()) {
        out.println(a.endpoint() + ": no faults");
      }
      for (PeerFault f : faults) {
        out.println(a.endpoint() + ": peer " + f.getPeerId() + ": " + describe(f));
      }
    }
    out.flush();
    return code == 0 ? 0 : code == 1 ? 1 : 4;
  }

  static String describe(PeerFault f) {
    List<String> parts = new ArrayList<>();
    if (f.getCut()) {
      parts.add("cut");
    }
    if (f.getDropOut() > 0) {
      parts.add("drop-out " + f.getDropOut());
    }
    if (f.getDropIn() > 0) {
      parts.add("drop-in " + f.getDropIn());
    }
    if (f.getDelayMs() != 0) {
      parts.add("delay " + Integer.toUnsignedString(f.getDelayMs()) + " ms");
    }
    return String.join(", ", parts);
  }

  // ------------------------------------------------------------------ calls

  private interface Call<T> {
    T call(AdminGrpc.AdminBlockingStub stub);
  }

  /** Calls every server at once, each on its own channel and thread, bounded by the timeout. */
  private <T> List<Answer<T>> callAll(Call<T> call) {
    List<Answer<T>> answers = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < servers.size(); i++) {
      answers.add(null);
      int slot = i;
      Thread t =
          new Thread(
              () -> {
                Answer<T> a = callOne(servers.get(slot), call);
                synchronized (answers) {
                  answers.set(slot, a);
                }
              },
              "clt-admin-" + i);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    synchronized (answers) {
      List<Answer<T>> done = new ArrayList<>();
      for (int i = 0; i < answers.size(); i++) {
        Answer<T> a = answers.get(i);
        done.add(a != null ? a : new Answer<>(servers.get(i), null, "interrupted"));
      }
      return done;
    }
  }

  private <T> Answer<T> callOne(String endpoint, Call<T> call) {
    ManagedChannel channel;
    try {
      channel = tls.channel(endpoint);
    } catch (IllegalArgumentException e) {
      return new Answer<>(endpoint, null, e.getMessage());
    }
    try {
      return new Answer<>(
          endpoint,
          call.call(
              AdminGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)),
          null);
    } catch (StatusRuntimeException e) {
      return new Answer<>(endpoint, null, why(e));
    } finally {
      channel.shutdownNow();
    }
  }

  private String why(StatusRuntimeException e) {
    io.grpc.Status s = e.getStatus();
    switch (s.getCode()) {
      case DEADLINE_EXCEEDED:
        return "no answer within " + timeoutMillis + " ms";
      case INVALID_ARGUMENT:
        return "refused: " + s.getDescription();
      case UNIMPLEMENTED:
        return "the server has no Admin service (an older svr?)";
      case PERMISSION_DENIED:
        // The server's line says what is refused and how to allow it (svr --enable-chaos).
        return "permission denied: " + s.getDescription();
      default:
        break;
    }
    String tls = ClientTls.handshakeFailure(s);
    if (tls != null) {
      return tls;
    }
    for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
      if (t instanceof ConnectException) {
        return "cannot connect (connection refused)";
      }
    }
    return s.getDescription() != null ? s.getDescription() : s.getCode().toString();
  }

  // ------------------------------------------------------------------ formatting

  private static String num(long n) {
    return Long.toString(n);
  }

  private static String millis(double micros) {
    return String.format(Locale.ROOT, "%.3f", micros / 1000.0);
  }

  private static String role(Role r) {
    return switch (r) {
      case LEADER -> "leader";
      case FOLLOWER -> "follower";
      case CANDIDATE -> "candidate";
      case PRE_CANDIDATE -> "pre-candidate";
      default -> "unknown";
    };
  }

  /** A text table in etcdctl's {@code -w table} style: centered headers, numbers to the right. */
  static final class Table {
    private final String[] header;
    private final List<String[]> rows = new ArrayList<>();

    Table(String... header) {
      this.header = header;
    }

    void row(String... cells) {
      rows.add(cells);
    }

    void print(PrintStream out) {
      int[] w = new int[header.length];
      for (int c = 0; c < w.length; c++) {
        w[c] = header[c].length();
        for (String[] r : rows) {
          w[c] = Math.max(w[c], r[c].length());
        }
      }
      StringBuilder line = new StringBuilder("+");
      for (int width : w) {
        line.append("-".repeat(width + 2)).append('+');
      }
      StringBuilder sb = new StringBuilder();
      sb.append(line).append('\n').append('|');
      for (int c = 0; c < w.length; c++) {
        int pad = w[c] - header[c].length();
        sb.append(' ')
            .append(" ".repeat(pad - pad / 2))
            .append(header[c])
            .append(" ".repeat(pad / 2))
            .append(" |");
      }
      sb.append('\n').append(line).append('\n');
      for (String[] r : rows) {
        sb.append('|');
        for (int c = 0; c < w.length; c++) {
          String pad = " ".repeat(w[c] - r[c].length());
          boolean right =
              r[c].equals("-")
                  || (!r[c].isEmpty()
                      && r[c].chars().allMatch(ch -> Character.isDigit(ch) || ch == '.'));
          sb.append(' ').append(right ? pad + r[c] : r[c] + pad).append(" |");
        }
        sb.append('\n');
      }
      sb.append(line).append('\n');
      out.print(sb);
    }
  }
}
