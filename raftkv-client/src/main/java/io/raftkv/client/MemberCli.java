package io.raftkv.client;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.MemberListRequest;
import io.raftkv.proto.admin.MemberListResponse;
import io.raftkv.proto.admin.MemberStatus;
import io.raftkv.proto.admin.MembershipChangeRequest;
import io.raftkv.proto.admin.MembershipChangeResponse;
import io.raftkv.proto.admin.MembershipChangeStatus;
import io.raftkv.proto.admin.MembershipOp;
import java.io.PrintStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code clt member list|add|promote|remove|replace}: the cluster's members (admin.proto's
 * MemberList and ChangeMembership). A change runs on the leader to its end (a new voter is added as
 * a learner, caught up, then promoted); clt waits for it. With {@code -s} clt finds the leader,
 * following NOT_LEADER hints: a change that stopped part-way because leadership moved is asked of
 * the new leader, which resumes it (retries are safe). Kept apart from {@link CltMain} so that KV
 * operations never load it; parsed by hand like the rest of clt (start-up time).
 */
final class MemberCli {
  static final String USAGE =
      String.join(
          "\n",
          "Usage: clt member list (-p PORT | -s HOST:PORT[,...]) [--json] [--timeout-ms MS]",
          "       clt member add (-p PORT | -s HOST:PORT[,...]) --id N --raft-addr HOST:PORT",
          "                  --kv-addr HOST:PORT [--learner] [--timeout-ms MS]",
          "       clt member promote (-p PORT | -s HOST:PORT[,...]) --id N [--timeout-ms MS]",
          "       clt member remove (-p PORT | -s HOST:PORT[,...]) --id N [--timeout-ms MS]",
          "       clt member replace (-p PORT | -s HOST:PORT[,...]) --id OLD --new-id N",
          "                  --raft-addr HOST:PORT --kv-addr HOST:PORT [--timeout-ms MS]",
          "list     Every member: id, role (voter, learner, or outgoing while a replacement is",
          "         under way), raft and KV address, match index (known to the leader), and the",
          "         leader (*). A follower answers with its own view, and clt says so on stderr.",
          "add      Adds node N as a learner, waits until it has caught up with the leader's log,",
          "         then promotes it to voter; returns once the promotion is applied. With",
          "         --learner it stays a learner. Start the new node first (svr --join).",
          "promote  Waits until learner N has caught up, then makes it a voter.",
          "remove   Removes member N (voter or learner); its id is never given again.",
          "replace  Adds N as a learner, catches it up, then one joint change makes N a voter",
          "         and removes OLD; returns once the joint configuration is left.",
          "  -p PORT          The server at 127.0.0.1:PORT only; a follower's answer is exit 2.",
          "  -s, --servers HOST:PORT,...",
          "                   All servers' KV addresses (a bare port means 127.0.0.1): the",
          "                   leader is found and its hints followed.",
          "  --timeout-ms MS  How long the change may take, catching up included (default",
          "                   60000); for list, the deadline of the call (default 3000).",
          "  --json           list: the leader's answer as JSON (protobuf's mapping).",
          ClientTls.USAGE,
          "",
          "With svr --client-cert-auth, changes need a client certificate whose common name is",
          "one of the server's --admin-users (default root); any client certificate may list.",
          "",
          "Retrying a change is safe: a step already done is not done again.",
          "",
          "Exit codes: 0 done and committed, 1 bad arguments, 2 not the leader (-p), 4 refused,",
          "timed out or failed (one line on stderr says why), or no server answered.",
          "");

  private static final long DEFAULT_CHANGE_TIMEOUT_MILLIS = 60_000;
  private static final long DEFAULT_LIST_TIMEOUT_MILLIS = 3_000;

  /** How much longer than the change's own timeout clt waits for the server's answer. */
  private static final long ANSWER_GRACE_MILLIS = 5_000;

  private final PrintStream out;
  private final PrintStream err;

  String command;
  List<String> servers;
  boolean single;
  Integer id;
  Integer newId;
  String raftAddress;
  String kvAddress;
  boolean learner;
  boolean json;
  Long timeoutMillis;
  ClientTls tls = ClientTls.PLAINTEXT;
  boolean help;

  private MemberCli(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  /** {@code args} after the word "member"; returns the exit code. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    MemberCli cli = new MemberCli(out, err);
    try {
      cli.parse(args);
    } catch (CltMain.UsageException e) {
      err.println("clt member: " + e.getMessage() + " (see clt member --help)");
      return 1;
    }
    if (cli.help) {
      out.print(USAGE);
      out.flush();
      return 0;
    }
    try {
      int code = cli.command.equals("list") ? cli.list() : cli.change();
      out.flush();
      return code;
    } catch (IllegalArgumentException e) {
      err.println("clt member: " + e.getMessage()); // a TLS file that cannot be read
      return 1;
    } catch (RuntimeException e) {
      err.println("clt member: internal error: " + e);
      return 4;
    }
  }

  // ------------------------------------------------------------------ arguments

  void parse(String[] args) throws CltMain.UsageException {
    if (args.length == 0) {
      throw new CltMain.UsageException("say what to do: list, add, promote, remove or replace");
    }
    command = args[0];
    if (command.equals("-h") || command.equals("--help")) {
      help = true;
      return;
    }
    if (!List.of("list", "add", "promote", "remove", "replace").contains(command)) {
      throw new CltMain.UsageException("unknown member command '" + command + "'");
    }
    Set<String> seen = new HashSet<>();
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      if (a.equals("-h") || a.equals("--help")) {
        help = true;
        return;
      }
      int eq = a.startsWith("--") ? a.indexOf('=') : -1;
      String name = eq < 0 ? a : a.substring(0, eq);
      String arg = eq < 0 ? null : a.substring(eq + 1);
      String canonical = name.equals("--servers") ? "-s" : name;
      boolean flag = canonical.equals("--json") || canonical.equals("--learner");
      if (!allowed(canonical)) {
        throw new CltMain.UsageException(
            name.startsWith("-")
                ? "unknown option '" + name + "' for member " + command
                : "unexpected argument '" + a + "'");
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
        case "-p" -> {
          servers = List.of("127.0.0.1:" + CltMain.number(name, arg, 1, 65535));
          single = true;
        }
        case "-s" -> servers = AdminCli.addresses(arg);
        case "--id" -> id = (int) CltMain.number(name, arg, 0, Integer.MAX_VALUE);
        case "--new-id" -> newId = (int) CltMain.number(name, arg, 0, Integer.MAX_VALUE);
        case "--raft-addr" -> raftAddress = address(name, arg);
        case "--kv-addr" -> kvAddress = address(name, arg);
        case "--timeout-ms" -> timeoutMillis = CltMain.number(name, arg, 1, Long.MAX_VALUE);
        case "--learner" -> learner = true;
        case "--json" -> json = true;
        case "--cacert", "--cert", "--key" -> tls = tls.with(canonical, arg);
        default -> throw new AssertionError(canonical);
      }
    }
    tls = tls.checked();
    if (seen.contains("-p") && seen.contains("-s")) {
      throw new CltMain.UsageException("-p and -s exclude each other");
    }
    if (servers == null) {
      throw new CltMain.UsageException(
          "give the server with -p PORT, or all servers with -s HOST:PORT,...");
    }
    if (!command.equals("list") && id == null) {
      throw new CltMain.UsageException("member " + command + " needs the member's id (--id N)");
    }
    if (command.equals("replace") && newId == null) {
      throw new CltMain.UsageException("member replace needs the new member's id (--new-id N)");
    }
    if ((command.equals("add") || command.equals("replace"))
        && (raftAddress == null || kvAddress == null)) {
      throw new CltMain.UsageException(
          "member "
              + command
              + " needs the new member's addresses (--raft-addr HOST:PORT --kv-addr HOST:PORT)");
    }
  }

  /** Which options each command takes. */
  private boolean allowed(String option) {
    return switch (option) {
      case "-p", "-s", "--timeout-ms", "--cacert", "--cert", "--key" -> true;
      case "--json" -> command.equals("list");
      case "--id" -> !command.equals("list");
      case "--raft-addr", "--kv-addr" -> command.equals("add") || command.equals("replace");
      case "--learner" -> command.equals("add");
      case "--new-id" -> command.equals("replace");
      default -> false;
    };
  }

  private static String address(String option, String arg) throws CltMain.UsageException {
    String a = CltMain.address(arg.trim());
    if (a == null) {
      throw new CltMain.UsageException(
          "option '" + option + "' wants HOST:PORT (or a port), not '" + arg + "'");
    }
    return a;
  }

  // ------------------------------------------------------------------ list

  private int list() {
    long deadlineMillis = timeoutMillis != null ? timeoutMillis : DEFAULT_LIST_TIMEOUT_MILLIS;
    MemberListResponse view = null;
    String lastError = "no server answered";
    java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(servers);
    Set<String> asked = new HashSet<>();
    while (!todo.isEmpty()) {
      String target = todo.poll();
      if (!asked.add(target)) {
        continue;
      }
      try {
        MemberListResponse r =
            call(target, deadlineMillis, s -> s.memberList(MemberListRequest.getDefaultInstance()));
        if (r.getFromLeader()) {
          view = r;
          break;
        }
        view = view == null ? r : view;
        if (!single && !r.getLeaderAddress().isEmpty()) {
          todo.addFirst(r.getLeaderAddress());
        }
      } catch (StatusRuntimeException e) {
        lastError = target + ": " + why(e, deadlineMillis);
      }
      if (single) {
        break;
      }
    }
    if (view == null) {
      err.println("clt member: " + lastError);
      return 4;
    }
    if (!view.getFromLeader()) {
      err.println(
          "clt member: node "
              + view.getNodeId()
              + " is not the leader"
              + (view.getLeaderId() >= 0
                  ? " (the leader is node "
                      + view.getLeaderId()
                      + (view.getLeaderAddress().isEmpty() ? "" : " at " + view.getLeaderAddress())
                      + ")"
                  : " and knows of none")
              + "; this is its own view, which may lag, without match indexes");
    }
    if (json) {
      printJson(view);
    } else {
      printTable(view);
    }
    return 0;
  }

  private void printTable(MemberListResponse view) {
    AdminCli.Table t =
        new AdminCli.Table("ID", "ROLE", "RAFT ADDRESS", "KV ADDRESS", "MATCH", "LEADER");
    for (MemberStatus m : view.getMembersList()) {
      t.row(
          Integer.toString(m.getId()),
          role(m),
          m.getRaftAddress(),
          m.getKvAddress().isEmpty() ? "-" : m.getKvAddress(),
          view.getFromLeader() ? Long.toString(m.getMatchIndex()) : "-",
          m.getLeader() ? "*" : "");
    }
    t.print(out);
    if (view.getJoint()) {
      out.println(
          "the configuration (entry "
              + view.getConfigurationIndex()
              + ") is joint: a change is under way, outgoing voters leave once it is left");
    }
  }

  private static String role(MemberStatus m) {
    return switch (m.getRole()) {
      case VOTER -> "voter";
      case LEARNER -> "learner";
      case OUTGOING -> "outgoing";
      default -> "unknown";
    };
  }

  /** protobuf's JSON mapping, every field even when 0 (as {@code clt status --json}). */
  private void printJson(MemberListResponse view) {
    try {
      out.println(
          JsonFormat.printer()
              .alwaysPrintFieldsWithNoPresence()
              .omittingInsignificantWhitespace()
              .print(view));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print the members as JSON: " + e.getMessage(), e);
    }
  }

  // ------------------------------------------------------------------ changes

  private MembershipChangeRequest request(long changeTimeoutMillis) {
    MembershipChangeRequest.Builder b =
        MembershipChangeRequest.newBuilder().setId(id).setTimeoutMs(changeTimeoutMillis);
    switch (command) {
      case "add" -> b.setOp(learner ? MembershipOp.ADD_LEARNER : MembershipOp.ADD);
      case "promote" -> b.setOp(MembershipOp.PROMOTE);
      case "remove" -> b.setOp(MembershipOp.REMOVE);
      case "replace" -> b.setOp(MembershipOp.REPLACE).setNewId(newId);
      default -> throw new AssertionError(command);
    }
    if (raftAddress != null) {
      b.setRaftAddress(raftAddress).setKvAddress(kvAddress);
    }
    return b.build();
  }

  /**
   * Asks the leader for the change. With -s: servers in turn, a NOT_LEADER hint first, until the
   * deadline; a change that stopped part-way when leadership moved is resumed by the next leader.
   */
  private int change() {
    long timeout = timeoutMillis != null ? timeoutMillis : DEFAULT_CHANGE_TIMEOUT_MILLIS;
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeout);
    String lastError = "no server answered";
    String hint = null;
    int next = 0;
    while (true) {
      long remaining = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (remaining <= 0) {
        break;
      }
      String target = hint != null ? hint : servers.get(next++ % servers.size());
      hint = null;
      MembershipChangeResponse r;
      try {
        MembershipChangeRequest req = request(remaining);
        r = call(target, remaining + ANSWER_GRACE_MILLIS, s -> s.changeMembership(req));
      } catch (StatusRuntimeException e) {
        lastError = target + ": " + why(e, remaining + ANSWER_GRACE_MILLIS);
        if (single || !unreachable(e)) {
          // Not answered in time: the change may still be under way on the server.
          err.println("clt member: " + lastError);
          return 4;
        }
        pauseAfterRound(next);
        continue;
      }
      if (r.getStatus() == MembershipChangeStatus.OK) {
        out.println(r.getMessage());
        printTable(r.getMembers());
        return 0;
      }
      if (r.getStatus() == MembershipChangeStatus.NOT_LEADER) {
        lastError = target + ": " + r.getMessage();
        if (single) {
          err.println("clt member: " + r.getMessage());
          return 2;
        }
        hint = r.getLeaderAddress().isEmpty() ? null : r.getLeaderAddress();
        if (hint == null) {
          pauseAfterRound(next);
        }
        continue;
      }
      err.println("clt member: " + prefix(r.getStatus()) + r.getMessage());
      return 4;
    }
    err.println("clt member: no leader found within " + timeout + " ms; last: " + lastError);
    return 4;
  }

  private static String prefix(MembershipChangeStatus s) {
    return switch (s) {
      case REFUSED -> "refused: ";
      case FAILED -> "failed: ";
      default -> "";
    };
  }

  /** After every server was asked without finding the leader (an election?), wait a little. */
  private void pauseAfterRound(int asked) {
    if (asked % servers.size() == 0) {
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ------------------------------------------------------------------ calls

  private interface Call<T> {
    T call(AdminGrpc.AdminBlockingStub stub);
  }

  private <T> T call(String target, long deadlineMillis, Call<T> call) {
    ManagedChannel channel = tls.channel(target);
    try {
      return call.call(
          AdminGrpc.newBlockingStub(channel)
              .withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS));
    } finally {
      channel.shutdownNow();
    }
  }

  /** Nothing reached the server (no listener there): another server may be tried. */
  private static boolean unreachable(StatusRuntimeException e) {
    return CltMain.refused(e);
  }

  private static String why(StatusRuntimeException e, long deadlineMillis) {
    io.grpc.Status s = e.getStatus();
    if (s.getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED) {
      return "no answer within " + deadlineMillis + " ms (a change may still be under way)";
    }
    if (s.getCode() == io.grpc.Status.Code.UNIMPLEMENTED) {
      return "the server has no member commands (an older svr?)";
    }
    if (s.getCode() == io.grpc.Status.Code.PERMISSION_DENIED) {
      // The server's line names the certificate a change needs (svr --admin-users).
      return "permission denied: " + s.getDescription();
    }
    String handshake = ClientTls.handshakeFailure(s);
    if (handshake != null) {
      return handshake;
    }
    if (unreachable(e)) {
      return "cannot connect (connection refused)";
    }
    return s.getDescription() != null ? s.getDescription() : s.getCode().toString();
  }
}
