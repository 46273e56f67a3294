package io.raftkv.server;

import io.raftkv.node.Outcome;
import io.raftkv.proto.admin.MembershipChangeRequest;
import io.raftkv.proto.admin.MembershipChangeResponse;
import io.raftkv.proto.admin.MembershipChangeStatus;
import io.raftkv.proto.admin.MembershipOp;
import io.raftkv.proto.raft.ConfChange;
import io.raftkv.proto.raft.ConfChangeSingle;
import io.raftkv.proto.raft.ConfChangeType;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Member;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.Role;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Membership changes run to their end on the leader (admin.proto's ChangeMembership), as an
 * operator means them rather than as the core takes them (dissertation chapter 4):
 *
 * <ul>
 *   <li>ADD: a learner first, caught up, then promoted: a new voter with an empty log would
 *       otherwise count towards commit while it cannot store anything, and a cluster of three that
 *       adds one such voter needs three of four to commit (§4.2.1);
 *   <li>ADD_LEARNER, REMOVE: one configuration entry;
 *   <li>PROMOTE: caught up first, for the same reason as ADD;
 *   <li>REPLACE: the new member added as a learner and caught up, then one joint change (§4.3) that
 *       promotes it and removes the old one, done once the leader has left the joint configuration.
 * </ul>
 *
 * "Caught up" means the member's match index reached the leader's commit index as of when the wait
 * began (etcd's learner promotion asks the same). Retries are safe: a step already done (a learner
 * with the same addresses, a voter already, an id already removed) is not done again, so a client
 * that lost its answer, or whose leader changed part-way, asks again.
 *
 * <p>Thread-safety: {@link #submit} may be called from any thread. Changes run one at a time on a
 * thread of their own: waits of many seconds must block neither the node's loop nor gRPC's network
 * threads (the KV port's handlers run on them), and a second change while one is under way is
 * refused, as the core refuses a change while another is pending.
 */
final class MembershipChangeRunner implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MembershipChangeRunner.class);

  static final long DEFAULT_TIMEOUT_MILLIS = 60_000;

  /** How often a wait looks at the node's published status. */
  static final long POLL_MILLIS = 50;

  private final RaftNode<?> node;
  private final MemberDirectory members;
  private final ExecutorService runner =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "membership-change");
            t.setDaemon(true);
            return t;
          });
  private final AtomicReference<String> inProgress = new AtomicReference<>();

  MembershipChangeRunner(RaftNode<?> node, MemberDirectory members) {
    this.node = node;
    this.members = members;
  }

  /**
   * Runs {@code req} on the membership thread; {@code done} hears the response there (or at once,
   * on this thread, if another change is under way). {@code cancelled} stops a wait early (the
   * client went away); an entry already proposed still applies.
   */
  void submit(
      MembershipChangeRequest req,
      BooleanSupplier cancelled,
      Consumer<MembershipChangeResponse> done) {
    String what = describe(req);
    String running = inProgress.compareAndExchange(null, what);
    if (running != null) {
      done.accept(
          response(
              MembershipChangeStatus.REFUSED,
              "another membership change is under way on this node ("
                  + running
                  + "); retry once it ends",
              ""));
      return;
    }
    try {
      runner.execute(
          () -> {
            MembershipChangeResponse response;
            try {
              response = change(req, cancelled);
            } finally {
              inProgress.set(null);
            }
            // Only once the change has ended: a client that asks for the next change as soon as
            // it has this answer must not be told one is under way.
            done.accept(response);
          });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      inProgress.set(null);
      done.accept(response(MembershipChangeStatus.FAILED, "the node is shutting down", ""));
    }
  }

  /** Runs {@code req} to its end on the calling thread (blocking); never on the node's loop. */
  MembershipChangeResponse change(MembershipChangeRequest req, BooleanSupplier cancelled) {
    long timeout = req.getTimeoutMs() == 0 ? DEFAULT_TIMEOUT_MILLIS : req.getTimeoutMs();
    Run run = new Run(timeout, cancelled);
    String what = describe(req);
    try {
      String done = run(req, run);
      log.info("node {}: membership change {}: {}", node.id(), what, done);
      return response(MembershipChangeStatus.OK, done, "");
    } catch (Stop s) {
      log.info("node {}: membership change {}: {} {}", node.id(), what, s.status, s.getMessage());
      return response(s.status, s.getMessage(), s.leaderAddress);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return response(MembershipChangeStatus.FAILED, "the node is shutting down", "");
    }
  }

  private String run(MembershipChangeRequest req, Run run) throws Stop, InterruptedException {
    int id = req.getId();
    if (id < 0) {
      throw refused("member ids must be >= 0, not " + id);
    }
    requireLeader();
    switch (req.getOp()) {
      case ADD -> {
        Member m = member(id, req.getRaftAddress(), req.getKvAddress());
        long added = addLearner(m, run);
        if (added < 0) {
          return "n" + id + " is a voter already, with these addresses";
        }
        long match = catchUp(id, run);
        long promoted = promote(id, run);
        return "n"
            + id
            + " is a voter: added as a learner"
            + (added == 0 ? " before" : " at index " + added)
            + ", caught up to index "
            + match
            + ", promoted at index "
            + promoted;
      }
      case ADD_LEARNER -> {
        long added = addLearner(member(id, req.getRaftAddress(), req.getKvAddress()), run);
        if (added < 0) {
          throw refused("member " + id + " is a voter already");
        }
        return added == 0
            ? "n" + id + " is a learner already, with these addresses"
            : "n" + id + " is a learner (index " + added + ")";
      }
      case PROMOTE -> {
        ConfState c = node.status().configuration();
        if (c.getVotersList().contains(id)) {
          return "n" + id + " is a voter already";
        }
        if (!c.getLearnersList().contains(id)) {
          throw refused("no learner " + id + " to promote");
        }
        long match = catchUp(id, run);
        return "n"
            + id
            + " caught up to index "
            + match
            + ", promoted at index "
            + promote(id, run);
      }
      case REMOVE -> {
        ConfState c = node.status().configuration();
        if (c.getRemovedList().contains(id)) {
          return "n" + id + " was removed already";
        }
        long index =
            propose(change(ConfChangeType.CONF_CHANGE_REMOVE, Member.newBuilder().setId(id)), run);
        return "n" + id + " removed at index " + index;
      }
      case REPLACE -> {
        return replace(id, member(req.getNewId(), req.getRaftAddress(), req.getKvAddress()), run);
      }
      default -> throw refused("unknown membership operation " + req.getOpValue());
    }
  }

  /**
   * REPLACE: {@code fresh} as a learner, caught up, then one joint change {promote fresh, remove
   * old} (§4.3: two voters change, so C_old,new first), done once the leader left it.
   */
  private String replace(int old, Member fresh, Run run) throws Stop, InterruptedException {
    int id = fresh.getId();
    if (id == old) {
      throw refused("the new member needs an id of its own (ids are never reused), not " + old);
    }
    ConfState c = node.status().configuration();
    boolean oldLeaving =
        c.getVotersOutgoingList().contains(old) || c.getRemovedList().contains(old);
    if (c.getVotersList().contains(id) && !c.getVotersList().contains(old) && oldLeaving) {
      // Done already, or the joint configuration is still to be left (a retry).
      long left = awaitJointLeft(run);
      return "n" + id + " replaced n" + old + " (the configuration of index " + left + ")";
    }
    if (!c.getVotersList().contains(old)) {
      throw refused("no voter " + old + " to replace");
    }
    long added = addLearner(fresh, run);
    if (added < 0) {
      throw refused(
          "member " + id + " is a voter already; remove n" + old + " with clt member remove");
    }
    long match = catchUp(id, run);
    ConfChange joint =
        ConfChange.newBuilder()
            .addChanges(single(ConfChangeType.CONF_CHANGE_PROMOTE, Member.newBuilder().setId(id)))
            .addChanges(single(ConfChangeType.CONF_CHANGE_REMOVE, Member.newBuilder().setId(old)))
            .build();
    long entered = propose(joint, run);
    long left = awaitJointLeft(run);
    return "n"
        + id
        + " replaced n"
        + old
        + ": caught up to index "
        + match
        + ", joint configuration entered at index "
        + entered
        + " and left at index "
        + left;
  }

  // ---------------------------------------------------------------- steps

  /**
   * Adds {@code m} as a learner unless it is one already with the same addresses.
   *
   * @return the configuration entry's index, 0 if it was a learner already, -1 if it is a voter
   *     already (with the same addresses)
   */
  private long addLearner(Member m, Run run) throws Stop, InterruptedException {
    ConfState c = node.status().configuration();
    int id = m.getId();
    boolean voter = c.getVotersList().contains(id) || c.getVotersOutgoingList().contains(id);
    if (voter || c.getLearnersList().contains(id)) {
      String raft = MemberListing.raftAddress(c, id, members);
      String kv = MemberListing.kvAddress(c, id, members);
      if (!sameAddress(raft, m.getRaftAddress())
          || (!kv.isEmpty() && !sameAddress(kv, m.getKvAddress()))) {
        throw refused(
            "member " + id + " exists already, at raft address " + raft + " and KV address " + kv);
      }
      return voter ? -1 : 0;
    }
    // The core checks the addresses recorded in the configuration; the first members' come from
    // -r, which only this directory knows.
    for (int other : MemberDirectory.ids(c)) {
      if (sameAddress(MemberListing.raftAddress(c, other, members), m.getRaftAddress())) {
        throw refused("raft address " + m.getRaftAddress() + " is used by member " + other);
      }
    }
    return propose(change(ConfChangeType.CONF_CHANGE_ADD_LEARNER, m.toBuilder()), run);
  }

  private long promote(int id, Run run) throws Stop, InterruptedException {
    return propose(change(ConfChangeType.CONF_CHANGE_PROMOTE, Member.newBuilder().setId(id)), run);
  }

  /**
   * Waits until learner {@code id}'s match index reaches the leader's commit index as of now.
   *
   * @return its match index then
   */
  private long catchUp(int id, Run run) throws Stop, InterruptedException {
    long target = requireLeader().commitIndex();
    long match = 0;
    while (true) {
      RaftStatus s = requireLeader();
      if (!MemberDirectory.ids(s.configuration()).contains(id)) {
        throw new Stop(
            MembershipChangeStatus.FAILED, "n" + id + " was removed while it caught up", "");
      }
      RaftStatus.PeerProgress p = s.peers().get(id);
      match = p == null ? 0 : p.matchIndex();
      if (match >= target) {
        return match;
      }
      run.pause(
          () ->
              "n"
                  + id
                  + " never caught up within "
                  + run.timeoutMillis
                  + " ms: its match index is "
                  + node.status().peers().getOrDefault(id, NO_PROGRESS).matchIndex()
                  + " of "
                  + target);
    }
  }

  private static final RaftStatus.PeerProgress NO_PROGRESS =
      new RaftStatus.PeerProgress(0, 0, false, 0, 0);

  /**
   * Waits until the configuration on this node is not joint and its entry is applied: the leader
   * leaves a joint configuration on its own once it is committed (§4.3). A leader that replaced
   * itself steps down once C_new is committed, so leadership is checked only while still joint.
   *
   * @return the index of the configuration then in effect
   */
  private long awaitJointLeft(Run run) throws Stop, InterruptedException {
    while (true) {
      RaftStatus s = node.status();
      if (s.configuration().getVotersOutgoingCount() == 0
          && s.configurationIndex() <= s.appliedIndex()) {
        return s.configurationIndex();
      }
      requireLeader();
      run.pause(
          () ->
              "the joint configuration (entry "
                  + node.status().configurationIndex()
                  + ") was not left within "
                  + run.timeoutMillis
                  + " ms; the leader leaves it on its own once it commits");
    }
  }

  /**
   * Proposes {@code change} on the node's loop and waits until it is applied here (and this node's
   * published status shows it).
   *
   * @return the configuration entry's index
   */
  private long propose(ConfChange change, Run run) throws Stop, InterruptedException {
    CompletableFuture<Outcome<?>> outcome = new CompletableFuture<>();
    AtomicLong index = new AtomicLong();
    node.execute(rt -> index.set(rt.proposeConfChange(change, outcome::complete)));
    String what = describe(change);
    Outcome<?> o;
    try {
      o = outcome.get(run.remainingMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new Stop(
          MembershipChangeStatus.TIMEOUT,
          what + " was not applied within " + run.timeoutMillis + " ms; it may still apply",
          "");
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
    switch (o.kind()) {
      case OK -> {}
      case REFUSED -> throw refused(o.message());
      case NOT_LEADER -> throw notLeader(o.leaderId());
      case TIMEOUT ->
          throw new Stop(
              MembershipChangeStatus.TIMEOUT,
              what + " (entry " + index.get() + ") was not applied in time; it may still apply",
              "");
      case UNKNOWN ->
          throw new Stop(
              MembershipChangeStatus.FAILED,
              what
                  + " (entry "
                  + index.get()
                  + ") may or may not apply: "
                  + o.message()
                  + "; retrying the command is safe",
              "");
    }
    long i = index.get();
    while (node.status().appliedIndex() < i) {
      run.pause(() -> what + " was applied but not yet published");
    }
    return i;
  }

  /** The node's status, if it leads; else NOT_LEADER naming the leader it knows of. */
  private RaftStatus requireLeader() throws Stop {
    RaftStatus s = node.status();
    if (s.role() != Role.LEADER) {
      throw notLeader(s.leaderId());
    }
    return s;
  }

  private Stop notLeader(int leader) {
    boolean known = leader != RaftConfig.NONE;
    String address = known ? members.kvAddress(leader) : "";
    return new Stop(
        MembershipChangeStatus.NOT_LEADER,
        "node "
            + node.id()
            + " is not the leader"
            + (known
                ? "; the leader is node " + leader + (address.isEmpty() ? "" : " at " + address)
                : "; no leader is known"),
        address);
  }

  // ---------------------------------------------------------------- helpers

  /** One change's deadline and cancellation. */
  private static final class Run {
    final long timeoutMillis;
    final long deadline;
    final BooleanSupplier cancelled;

    Run(long timeoutMillis, BooleanSupplier cancelled) {
      this.timeoutMillis = timeoutMillis;
      this.deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
      this.cancelled = cancelled;
    }

    long remainingMillis() {
      return Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    /** Sleeps one poll interval; TIMEOUT with {@code why} once the deadline passed. */
    void pause(java.util.function.Supplier<String> why) throws Stop, InterruptedException {
      if (cancelled.getAsBoolean()) {
        throw new Stop(MembershipChangeStatus.FAILED, "the client went away", "");
      }
      if (System.nanoTime() - deadline >= 0) {
        throw new Stop(MembershipChangeStatus.TIMEOUT, why.get(), "");
      }
      Thread.sleep(Math.min(POLL_MILLIS, Math.max(1, remainingMillis())));
    }
  }

  /** How a change ends early: the status and the one line the client hears. */
  private static final class Stop extends Exception {
    private static final long serialVersionUID = 1L;
    final MembershipChangeStatus status;
    final String leaderAddress;

    Stop(MembershipChangeStatus status, String message, String leaderAddress) {
      super(message, null, false, false);
      this.status = status;
      this.leaderAddress = leaderAddress;
    }
  }

  private static Stop refused(String why) {
    return new Stop(MembershipChangeStatus.REFUSED, why, "");
  }

  /** The member to add, its addresses checked and in one spelling (so that retries compare). */
  private static Member member(int id, String raft, String kv) throws Stop {
    if (id < 0) {
      throw refused("member ids must be >= 0, not " + id);
    }
    return Member.newBuilder()
        .setId(id)
        .setRaftAddress(address("raft", raft))
        .setKvAddress(address("KV", kv))
        .build();
  }

  private static String address(String what, String text) throws Stop {
    if (text.isBlank()) {
      throw refused("the new member's " + what + " address is missing (HOST:PORT)");
    }
    try {
      return PeerAddress.parse(text).normalized().toString();
    } catch (IllegalArgumentException e) {
      throw refused("bad " + what + " address: " + e.getMessage());
    }
  }

  private static boolean sameAddress(String a, String b) {
    try {
      return PeerAddress.parse(a).normalized().equals(PeerAddress.parse(b).normalized());
    } catch (IllegalArgumentException e) {
      return a.equals(b);
    }
  }

  private static ConfChange change(ConfChangeType type, Member.Builder m) {
    return ConfChange.newBuilder().addChanges(single(type, m)).build();
  }

  private static ConfChangeSingle single(ConfChangeType type, Member.Builder m) {
    return ConfChangeSingle.newBuilder().setType(type).setMember(m).build();
  }

  private static String describe(ConfChange change) {
    StringBuilder sb = new StringBuilder();
    for (ConfChangeSingle c : change.getChangesList()) {
      sb.append(sb.length() == 0 ? "" : " and ")
          .append(
              switch (c.getType()) {
                case CONF_CHANGE_ADD_LEARNER -> "adding learner n";
                case CONF_CHANGE_ADD_VOTER -> "adding voter n";
                case CONF_CHANGE_PROMOTE -> "promoting n";
                case CONF_CHANGE_REMOVE -> "removing n";
                default -> "changing n";
              })
          .append(c.getMember().getId());
    }
    return sb.toString();
  }

  static String describe(MembershipChangeRequest req) {
    return req.getOp() == MembershipOp.REPLACE
        ? "REPLACE n" + req.getId() + " by n" + req.getNewId()
        : req.getOp() + " n" + req.getId();
  }

  private MembershipChangeResponse response(
      MembershipChangeStatus status, String message, String leaderAddress) {
    return MembershipChangeResponse.newBuilder()
        .setStatus(status)
        .setMessage(message)
        .setLeaderAddress(leaderAddress)
        .setMembers(MemberListing.of(node.status(), members))
        .build();
  }

  @Override
  public void close() {
    runner.shutdownNow();
  }
}
