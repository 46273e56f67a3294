package io.raftkv.node;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.ConfChange;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;
import io.raftkv.raft.ConfChangeRefusedException;
import io.raftkv.raft.Raft;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.ReadyProcessor;
import io.raftkv.raft.Role;
import io.raftkv.raft.SoftState;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * One node around the consensus core, deterministic: it drives the {@link Raft} core, its log
 * storage and the state machine, and decides everything a node decides beyond the protocol: when
 * ticks are due (and how many a late loop may catch up on), the start-up grace and the {@code
 * --leader} hint, which client waits on which log index or read, what a client hears when
 * leadership is lost, and when a request times out. It has no thread, clock or I/O of its own: time
 * is given ({@link #setTime}), storage, the message sender and the state machine are injected. The
 * server runs it in an event-loop thread ({@code RaftNode}); the simulator runs many in one thread,
 * on simulated time.
 *
 * <p>A driver's turn: {@link #setTime} with the current time, any number of inputs ({@link
 * #receive}, {@link #propose}, {@link #read}, ...), then {@link #flush()}: owed ticks, then the
 * core's Readys through {@link ReadyProcessor} (persist, send, apply, advance), then expired
 * requests. Every input of one turn shares one Ready, so proposals that arrived together share one
 * fsync (group commit). {@link #nextWakeNanos()} says when the next turn is due if nothing arrives.
 *
 * <p>Thread-safety: none. Every method must be called from the one thread that owns the node.
 * Callbacks run on that thread, during the call that completes them.
 *
 * @param <R> what applying one entry yields for the client that proposed it
 */
public final class NodeRuntime<R> {

  /**
   * Applies committed entries, and takes and installs snapshots (§7); called on the node's thread
   * only. The snapshot methods are needed only with {@link #enableSnapshots}.
   */
  public interface StateMachine<R> {
    /**
     * Applies {@code entries} (consecutive, starting right after the last applied one) in order.
     *
     * @return exactly one result per entry, in the same order
     */
    List<R> apply(List<Entry> entries);

    /**
     * A point-in-time image of the state as of the last applied entry, which {@code meta}
     * describes, for a follower behind the compacted log. Must be cheap here (the server's holds a
     * RocksDB snapshot; the bytes are read by the transport's threads): the node's loop waits.
     */
    default SnapshotImage openSnapshot(SnapshotMeta meta) {
      throw new UnsupportedOperationException("this state machine takes no snapshots");
    }

    /**
     * Replaces the whole state with {@code image}, received from the leader and staged, durably:
     * after a crash the state is the old one or the new one, never a mix. The image's entries count
     * as applied afterwards.
     */
    default void installSnapshot(SnapshotImage image) {
      throw new UnsupportedOperationException("this state machine takes no snapshots");
    }

    /**
     * Makes the state as of the last applied entry, which {@code meta} describes, durable: the log
     * up to it may be dropped once this returns.
     */
    default void saveSnapshot(SnapshotMeta meta) {
      throw new UnsupportedOperationException("this state machine takes no snapshots");
    }

    /**
     * Like {@link #saveSnapshot(SnapshotMeta)}, but may return before the state is durable (false):
     * then the shell calls {@link NodeRuntime#snapshotSaved} with {@code meta} once it is, as an
     * input on the runtime's thread; the log is compacted only then, and no other snapshot is saved
     * meanwhile. The default saves at once and returns true.
     */
    default boolean saveSnapshotInBackground(SnapshotMeta meta) {
      saveSnapshot(meta);
      return true;
    }
  }

  /**
   * Moves a snapshot to a follower beside its install_snapshot message (in the server a stream of
   * checksummed chunks). Must not block the node's loop, and must end every transfer it accepts
   * with {@link NodeRuntime#snapshotSent} (with that message) on the node's thread, or the follower
   * waits for ever; it closes the image when done with it.
   */
  public interface SnapshotSender {
    void send(RaftMessage message, SnapshotImage image);
  }

  /** Told what the node does, for logs, traces and checkers; every method defaults to nothing. */
  public interface Listener {
    /** The role or the known leader changed (as handed out by a Ready). */
    default void softStateChanged(SoftState before, SoftState now, long term) {}

    /** {@code entries} were applied to the state machine, in order. */
    default void applied(List<Entry> entries) {}

    /**
     * The core took read {@code context} (it will be confirmed, or never if leadership is lost).
     */
    default void readRequested(long context) {}

    /** A read became safe to serve once {@code read.index()} is applied (§8). */
    default void readReady(ReadState read) {}

    /** A snapshot from the leader replaced the state machine (§7). */
    default void snapshotInstalled(SnapshotMeta meta) {}

    /**
     * The configuration in effect changed (dissertation §4.1: when an entry is appended, truncated,
     * or a snapshot installed); the transport adds and removes peers by it.
     */
    default void configurationChanged(ConfState configuration) {}

    /** The state machine saved a snapshot and the log was compacted to {@code logStart} (§7). */
    default void compacted(SnapshotMeta snapshot, SnapshotMeta logStart) {}
  }

  /**
   * @param tickNanos the length of one core tick
   * @param requestTimeoutNanos how long a client request (proposal, read, wait for a leader) may
   *     wait for its outcome before it is answered {@link Outcome.Kind#TIMEOUT}
   */
  public record Timing(long tickNanos, long requestTimeoutNanos) {
    public Timing {
      if (tickNanos <= 0 || requestTimeoutNanos <= 0) {
        throw new IllegalArgumentException(
            "tick and request timeout must be positive: " + tickNanos + ", " + requestTimeoutNanos);
      }
    }

    public long requestTimeoutMillis() {
      return requestTimeoutNanos / 1_000_000;
    }
  }

  /** A client waiting for an outcome; finished at most once. */
  private static final class Pending<T> {
    final long term;
    final long deadline;
    final Consumer<Outcome<T>> done;
    boolean finished;

    Pending(long term, long deadline, Consumer<Outcome<T>> done) {
      this.term = term;
      this.deadline = deadline;
      this.done = done;
    }

    void finish(Outcome<T> outcome) {
      if (!finished) {
        finished = true;
        done.accept(outcome);
      }
    }
  }

  private record ConfirmedRead(long index, long context, Pending<Void> pending) {}

  private final Raft raft;
  private final ReadyProcessor processor;
  private final ReadyProcessor.LogStorage storage;
  private final StateMachine<R> stateMachine;
  private final Timing timing;
  private final Listener listener;

  private long now;
  private long nextTick;
  private SoftState softState;
  private long applied;
  private long nextReadContext = 1;

  /** The term this node last led in, as seen by a Ready (-1 before it ever led). */
  private long leaderTerm = -1;

  // Snapshots (§7): how they travel, when to take them, the last one taken, the one staged.
  private SnapshotSender snapshotSender;
  private Compaction compaction = Compaction.OFF;
  private SnapshotMeta lastSnapshot = SnapshotMeta.getDefaultInstance();

  /** A snapshot the state machine is making durable (null if none): the log waits for it. */
  private SnapshotMeta savingSnapshot;

  private long lastSnapshotNanos;
  private SnapshotImage staged;

  // Start-up policy (see holdElections and campaignUntilLeaderKnown).
  private boolean holdingElections;
  private long holdElectionsUntil;
  private boolean campaigning;
  private long campaignUntil;
  private int ticksSinceCampaign;

  // Waiting clients. Ordered maps and queues only: the order in which clients are answered is
  // part of a simulated run, so it must not depend on hash order.
  private final TreeMap<Long, Pending<R>> proposals = new TreeMap<>();
  private final TreeMap<Long, Pending<Void>> readsAwaitingIndex = new TreeMap<>();
  private final PriorityQueue<ConfirmedRead> readsAwaitingApply =
      new PriorityQueue<>(
          Comparator.comparingLong(ConfirmedRead::index).thenComparingLong(ConfirmedRead::context));
  private final List<Pending<SoftState>> leaderWaiters = new ArrayList<>();

  /** Every pending request in deadline order (one timeout for all, and time never goes back). */
  private final ArrayDeque<Pending<?>> deadlines = new ArrayDeque<>();

  /**
   * Ticks from {@link #nextTick} on in which no timer fires, counted at the end of the last turn
   * ({@link Raft#ticksUntilTimerEvent()}): the node need not wake for them (an idle member woke 200
   * times a second for nothing). Spent by the next {@link #setTime}.
   */
  private long quietTicks;

  /**
   * @param raft a core restored from this node's storage
   * @param appliedIndex the state machine's last applied index (restored with it)
   * @param storage the durable log; persist must fsync when asked
   * @param sender hands messages to the transport without blocking
   * @param nowNanos the time now
   * @param firstTickNanos when the first tick is due (normally {@code nowNanos + tickNanos})
   */
  public NodeRuntime(
      Raft raft,
      long appliedIndex,
      ReadyProcessor.LogStorage storage,
      ReadyProcessor.MessageSender sender,
      StateMachine<R> stateMachine,
      Timing timing,
      Listener listener,
      long nowNanos,
      long firstTickNanos) {
    this.raft = raft;
    this.applied = appliedIndex;
    this.stateMachine = stateMachine;
    this.timing = timing;
    this.listener = listener;
    this.storage = storage;
    this.processor =
        new ReadyProcessor(
            storage, messages -> send(sender, messages), this::onReady, this::installStaged);
    this.now = nowNanos;
    this.nextTick = firstTickNanos;
    this.softState = new SoftState(raft.role(), raft.leaderId());
  }

  /**
   * Turns on snapshots (§7): followers behind the compacted log get one through {@code sender}, and
   * the state machine saves one and the log is compacted as {@code compaction} says.
   *
   * @param restoredSnapshot the snapshot the state machine was restored from (its index and term,
   *     or the default instance), the point from which the compaction policy counts
   */
  public void enableSnapshots(
      SnapshotSender sender, Compaction compaction, SnapshotMeta restoredSnapshot) {
    this.snapshotSender = sender;
    this.compaction = compaction;
    this.lastSnapshot = restoredSnapshot;
  }

  // ---------------------------------------------------------------- time

  /**
   * The driver's clock; it never goes back (an earlier time is ignored). Call it first in a turn:
   * the ticks this node slept through by plan (see {@link #nextWakeNanos()}) go in now, before the
   * turn's inputs, as if it had woken for each: a vote request must meet a lease that has run
   * (§9.6), and a heartbeat must restart an election timer that has counted.
   */
  public void setTime(long nowNanos) {
    if (nowNanos - now > 0) {
      now = nowNanos;
    }
    while (quietTicks > 0 && now - nextTick >= 0) {
      tick();
      nextTick += timing.tickNanos();
      quietTicks--;
    }
    // The turn's inputs may change what is quiet (a heartbeat restarts the election timer):
    // recounted at its end.
    quietTicks = 0;
  }

  public long now() {
    return now;
  }

  /**
   * When the next turn is due if no input arrives: the next tick at which a timer may fire (an idle
   * node sleeps through the ticks before it: a follower until its election timeout, a leader until
   * its next heartbeat), or the next request deadline.
   */
  public long nextWakeNanos() {
    dropFinishedDeadlines();
    long wake = nextTick + quietTicks * timing.tickNanos();
    if (!deadlines.isEmpty() && deadlines.peekFirst().deadline - wake < 0) {
      wake = deadlines.peekFirst().deadline;
    }
    return wake;
  }

  // ---------------------------------------------------------------- start-up policy

  /**
   * Start-up grace: while no leader is known, do not start elections for {@code nanos}, so that a
   * node given the {@code --leader} hint (and slow process start-ups) can win first. Once a leader
   * is known the grace is over for good.
   */
  public void holdElections(long nanos) {
    holdingElections = true;
    holdElectionsUntil = now + nanos;
  }

  /**
   * The {@code --leader} start-up hint: campaign now, and again every heartbeat interval while no
   * leader is known, for at most {@code windowNanos} (peers may still be starting). PreVote makes
   * the repeats harmless; votes still decide.
   */
  public void campaignUntilLeaderKnown(long windowNanos) {
    campaigning = true;
    campaignUntil = now + windowNanos;
    raft.campaign();
  }

  // ---------------------------------------------------------------- inputs

  /** A message from a peer. */
  public void receive(RaftMessage message) {
    if (message.hasInstallSnapshot()) {
      throw new IllegalArgumentException("a snapshot comes with its image: use receiveSnapshot");
    }
    raft.step(message);
  }

  /**
   * An install_snapshot message from the leader, with the image its bytes were staged into. The
   * core decides (Figure 13): a snapshot newer than this node's commit index is installed into the
   * state machine at once (before this call returns), anything else is ignored and its image
   * closed.
   */
  public void receiveSnapshot(RaftMessage message, SnapshotImage image) {
    if (!message.getInstallSnapshot().getMeta().equals(image.meta())) {
      image.close();
      throw new IllegalArgumentException(
          "the staged snapshot is not the one the message describes: "
              + image.meta()
              + " vs "
              + message.getInstallSnapshot().getMeta());
    }
    staged = image;
    try {
      raft.step(message);
      // Now, while this image is the one staged: the Ready installs it if the core took it.
      processor.drain(raft);
    } finally {
      if (staged != null) {
        staged.close();
        staged = null;
      }
    }
  }

  /**
   * A point-in-time image of the state machine as of its last applied entry (for a backup: call it
   * once a linearizable read completed, and the image holds every write committed before that read
   * began). The caller closes it.
   */
  public SnapshotImage openSnapshot() {
    return stateMachine.openSnapshot(raft.snapshotMeta(applied));
  }

  /**
   * How the transfer of {@code sent} (the install_snapshot message handed to the {@link
   * SnapshotSender}) ended: the leader probes the follower again at its next heartbeat (a report
   * about an earlier transfer than the one in flight changes nothing).
   */
  public void snapshotSent(RaftMessage sent, boolean delivered) {
    raft.reportSnapshot(sent, delivered);
  }

  /** Campaign at once. */
  public void campaign() {
    raft.campaign();
  }

  /** Asks the core to hand leadership to {@code target} (dissertation §3.10). */
  public boolean transferLeadership(int target) {
    return raft.transferLeadership(target);
  }

  /**
   * Appends {@code command} to the log if this node leads. {@code done} hears the result of
   * applying it, or why there is none: {@link Outcome.Kind#NOT_LEADER} at once (or if another
   * leader's entry took its index), {@link Outcome.Kind#UNKNOWN} if leadership is lost meanwhile,
   * {@link Outcome.Kind#TIMEOUT} after the request timeout.
   *
   * @return the command's log index, or 0 if refused
   */
  public long propose(ByteString command, Consumer<Outcome<R>> done) {
    long index = raft.propose(command);
    if (index == 0) {
      done.accept(Outcome.notLeader(raft.leaderId()));
      return 0;
    }
    track(index, done);
    return index;
  }

  /** Waits for this node's own entry at {@code index} to apply. */
  private void track(long index, Consumer<Outcome<R>> done) {
    Pending<R> p = new Pending<>(raft.term(), now + timing.requestTimeoutNanos(), done);
    Pending<R> replaced = proposals.put(index, p);
    if (replaced != null) {
      // This node's own earlier entry at the index was truncated: it will never apply.
      replaced.finish(Outcome.notLeader(raft.leaderId()));
    }
    deadlines.addLast(p);
  }

  /**
   * Proposes a configuration change (dissertation chapter 4) if this node leads. {@code done} hears
   * OK once the configuration entry is applied (a joint change is then left by the leader on its
   * own, in an entry of its own), {@link Outcome.Kind#REFUSED} at once with the leader's reason
   * (another change pending, an unknown member...), or as {@link #propose} does.
   *
   * @return the configuration entry's index, or 0 if refused
   */
  public long proposeConfChange(ConfChange change, Consumer<Outcome<R>> done) {
    long index;
    try {
      index = raft.proposeConfChange(change);
    } catch (ConfChangeRefusedException e) {
      done.accept(Outcome.refused(e.getMessage()));
      return 0;
    }
    if (index == 0) {
      done.accept(Outcome.notLeader(raft.leaderId()));
      return 0;
    }
    track(index, done);
    return index;
  }

  /**
   * A linearizable read point (ReadIndex, §8): {@code done} hears OK once the state machine
   * reflects every write committed before this call, so a read served then is linearizable. A
   * deposed leader never completes it (it cannot hear from a majority).
   *
   * @return the read's context (as in its {@link ReadState}), or 0 if refused (not the leader)
   */
  public long read(Consumer<Outcome<Void>> done) {
    long context = nextReadContext++;
    if (!raft.readIndex(context)) {
      done.accept(Outcome.notLeader(raft.leaderId()));
      return 0;
    }
    listener.readRequested(context);
    Pending<Void> p = new Pending<>(raft.term(), now + timing.requestTimeoutNanos(), done);
    readsAwaitingIndex.put(context, p);
    deadlines.addLast(p);
    return context;
  }

  /**
   * {@code done} hears the soft state as soon as a leader is known (at once if one is), or {@link
   * Outcome.Kind#TIMEOUT} after the request timeout.
   */
  public void whenLeaderKnown(Consumer<Outcome<SoftState>> done) {
    SoftState s = softState();
    if (s.leaderId() != RaftConfig.NONE) {
      done.accept(Outcome.ok(s));
      return;
    }
    Pending<SoftState> p = new Pending<>(raft.term(), now + timing.requestTimeoutNanos(), done);
    leaderWaiters.add(p);
    deadlines.addLast(p);
  }

  // ---------------------------------------------------------------- the turn

  /**
   * Ends a turn: the ticks owed by now, everything the core has to say (persist, send, apply,
   * answer clients), then requests whose deadline passed.
   *
   * @throws RuntimeException from storage or the state machine: the node must stop ({@link #stop})
   *     rather than go on, since it could acknowledge what is not durable
   */
  public void flush() {
    if (now - nextTick >= 0) {
      // Ticks measure real time (§5.2's timeouts are durations): a loop that woke late or spent a
      // while in an fsync catches up on the ticks it owes, or every timeout would stretch by the
      // loop's lateness. But never a minimum election timeout's worth in one burst: that could
      // cross two CheckQuorum checks with no message handled in between and depose a healthy
      // leader, or time out a follower that just heard a heartbeat queued during the stall. The
      // rest of a long stall is forgiven.
      long owed = 1 + (now - nextTick) / timing.tickNanos();
      long ticks = Math.min(owed, Math.max(1, raft.config().electionTimeoutMinTicks() - 1));
      for (long i = 0; i < ticks; i++) {
        tick();
      }
      nextTick += owed * timing.tickNanos();
    }
    processor.drain(raft);
    noticeNewLeadership();
    noticeConfiguration();
    maybeCompact();
    if (!leaderWaiters.isEmpty() && raft.leaderId() != RaftConfig.NONE) {
      SoftState s = softState();
      List<Pending<SoftState>> waiting = new ArrayList<>(leaderWaiters);
      leaderWaiters.clear();
      waiting.forEach(p -> p.finish(Outcome.ok(s)));
      // The waiters' requests (proposals, reads) go out in this turn, not the next one.
      processor.drain(raft);
    }
    expireRequests();
    // During the start-up policies every tick decides something (see tick()).
    quietTicks = holdingElections || campaigning ? 0 : raft.ticksUntilTimerEvent() - 1;
  }

  /** Tells the listener when the configuration in effect changed (§4.1). */
  private void noticeConfiguration() {
    ConfState now = raft.configuration();
    if (now != configuration) {
      configuration = now;
      listener.configurationChanged(now);
    }
  }

  /** The configuration last told to the listener (null before the first turn). */
  private ConfState configuration;

  private void tick() {
    if (raft.leaderId() != RaftConfig.NONE) {
      holdingElections = false;
      campaigning = false;
    }
    if (!holdingElections || now - holdElectionsUntil >= 0) {
      raft.tick();
    }
    if (campaigning && now - campaignUntil < 0 && raft.role() != Role.LEADER) {
      if (++ticksSinceCampaign >= raft.config().heartbeatTicks()) {
        ticksSinceCampaign = 0;
        raft.campaign();
      }
    }
  }

  /**
   * The compaction policy (§7): every {@code snapshotEntries} applied entries, the state machine
   * saves a snapshot and the log goes up to {@code catchupEntries} before it (never past what is
   * durable: a leader may apply entries a majority holds before its own write finished).
   */
  private void maybeCompact() {
    if (!compaction.enabled()
        || savingSnapshot != null
        || applied - lastSnapshot.getIndex() < compaction.snapshotEntries()) {
      return;
    }
    SnapshotMeta snapshot = raft.snapshotMeta(applied);
    savingSnapshot = snapshot;
    if (stateMachine.saveSnapshotInBackground(snapshot)) {
      snapshotSaved(snapshot);
    }
  }

  /**
   * The state machine's state up to {@code snapshot} is durable (see {@link
   * StateMachine#saveSnapshotInBackground}): it is the last snapshot, and the log goes up to {@code
   * catchupEntries} before it. Ignored unless it is the save in progress: an installed snapshot
   * took its place meanwhile (an install clears the save in progress, and a save starts only past
   * the last snapshot, so the one it answers is always newer).
   */
  public void snapshotSaved(SnapshotMeta snapshot) {
    if (savingSnapshot == null || !savingSnapshot.equals(snapshot)) {
      return;
    }
    savingSnapshot = null;
    lastSnapshot = snapshot;
    lastSnapshotNanos = now;
    RaftStatus st = raft.status();
    long to = Math.min(snapshot.getIndex() - compaction.catchupEntries(), st.stableIndex());
    SnapshotMeta start;
    if (to > st.snapshotIndex()) {
      // The core may stop short of it (a snapshot in flight still needs the entries after it).
      start = raft.compact(to);
      if (start.getIndex() > st.snapshotIndex()) {
        storage.compact(start);
      }
    } else {
      start = raft.logStart();
    }
    listener.compacted(snapshot, start);
  }

  /** Hands the core's messages out: a snapshot travels with an image of the state machine. */
  private void send(ReadyProcessor.MessageSender sender, List<RaftMessage> messages) {
    List<RaftMessage> plain = new ArrayList<>(messages.size());
    for (RaftMessage m : messages) {
      if (m.hasInstallSnapshot()) {
        sendSnapshot(m);
      } else {
        plain.add(m);
      }
    }
    if (!plain.isEmpty()) {
      sender.send(plain);
    }
  }

  private void sendSnapshot(RaftMessage m) {
    SnapshotMeta meta = m.getInstallSnapshot().getMeta();
    if (snapshotSender == null || meta.getIndex() != applied) {
      // Without snapshots (or a state machine not at the point the core described, which the
      // Ready order rules out) there is nothing to send: the follower is probed again later.
      raft.reportSnapshot(m, false);
      return;
    }
    snapshotSender.send(m, stateMachine.openSnapshot(meta));
  }

  /** The Ready asks to install the snapshot the core accepted: the one staged for it. */
  private void installStaged(SnapshotMeta meta) {
    if (staged == null || !staged.meta().equals(meta)) {
      throw new IllegalStateException("no staged snapshot for " + meta);
    }
    SnapshotImage image = staged;
    staged = null;
    try {
      stateMachine.installSnapshot(image);
    } finally {
      image.close();
    }
    applied = meta.getIndex();
    lastSnapshot = meta;
    lastSnapshotNanos = now;
    savingSnapshot = null; // a save still in flight describes an older state: its answer is ignored
    listener.snapshotInstalled(meta);
  }

  private void expireRequests() {
    while (!deadlines.isEmpty()) {
      Pending<?> p = deadlines.peekFirst();
      if (!p.finished && now - p.deadline < 0) {
        return;
      }
      deadlines.pollFirst();
      p.finish(Outcome.timeout());
    }
  }

  private void dropFinishedDeadlines() {
    while (!deadlines.isEmpty() && deadlines.peekFirst().finished) {
      deadlines.pollFirst();
    }
  }

  private void onReady(SoftState soft, List<Entry> committed, List<ReadState> readStates) {
    boolean leadershipLost = false;
    if (soft != null) {
      SoftState before = softState;
      softState = soft;
      listener.softStateChanged(before, soft, raft.term());
      leadershipLost = before.role() == Role.LEADER && soft.role() != Role.LEADER;
    }
    try {
      applyCommitted(committed, readStates);
    } finally {
      if (leadershipLost) {
        // The core abandoned this term's proposals and reads (see Ready#softState). Those that
        // committed in this very Ready were answered above: a leader removed by a configuration
        // change steps down as it commits it (dissertation §4.2.2), and its entry does apply.
        failAll("leadership lost; the write may or may not apply");
      }
    }
  }

  private void applyCommitted(List<Entry> committed, List<ReadState> readStates) {
    if (!committed.isEmpty()) {
      List<R> results = stateMachine.apply(committed);
      if (results.size() != committed.size()) {
        throw new IllegalStateException(
            "the state machine returned "
                + results.size()
                + " results for "
                + committed.size()
                + " entries");
      }
      for (int i = 0; i < committed.size(); i++) {
        Entry e = committed.get(i);
        Pending<R> p = proposals.remove(e.getIndex());
        if (p != null) {
          if (p.term == e.getTerm()) {
            p.finish(Outcome.ok(results.get(i)));
          } else {
            // Another leader's entry took the index: ours was truncated and will never apply.
            p.finish(Outcome.notLeader(raft.leaderId()));
          }
        }
      }
      applied = committed.get(committed.size() - 1).getIndex();
      listener.applied(committed);
    }
    for (ReadState rs : readStates) {
      listener.readReady(rs);
      Pending<Void> p = readsAwaitingIndex.remove(rs.context());
      if (p != null && !p.finished) {
        readsAwaitingApply.add(new ConfirmedRead(rs.index(), rs.context(), p));
      }
    }
    while (!readsAwaitingApply.isEmpty() && readsAwaitingApply.peek().index() <= applied) {
      readsAwaitingApply.poll().pending().finish(Outcome.ok(null));
    }
  }

  /**
   * Leadership lost and won again within one turn hands out no role change, but the core dropped
   * the old term's unconfirmed reads (a read point belongs to one term, §8): they would never be
   * confirmed, so they hear NOT_LEADER now.
   */
  private void noticeNewLeadership() {
    if (raft.role() == Role.LEADER && raft.term() != leaderTerm) {
      leaderTerm = raft.term();
      failReadsOfOtherTerms();
    }
  }

  private void failReadsOfOtherTerms() {
    List<Pending<Void>> stale = new ArrayList<>();
    readsAwaitingIndex
        .values()
        .removeIf(
            p -> {
              if (p.term != leaderTerm) {
                stale.add(p);
                return true;
              }
              return false;
            });
    stale.forEach(p -> p.finish(Outcome.notLeader(raft.leaderId())));
  }

  /** Answers every waiting proposal UNKNOWN and every waiting read NOT_LEADER. */
  private void failAll(String why) {
    List<Pending<R>> writes = new ArrayList<>(proposals.values());
    proposals.clear();
    writes.forEach(p -> p.finish(Outcome.unknown(why)));
    List<Pending<Void>> reads = new ArrayList<>(readsAwaitingIndex.values());
    readsAwaitingIndex.clear();
    while (!readsAwaitingApply.isEmpty()) {
      reads.add(readsAwaitingApply.poll().pending());
    }
    int leader = raft.leaderId();
    reads.forEach(p -> p.finish(Outcome.notLeader(leader)));
  }

  /**
   * The node stops (shutdown, or a storage failure): waiting writes and leader waits hear {@link
   * Outcome.Kind#UNKNOWN} with {@code why}, waiting reads NOT_LEADER, as after a crash.
   */
  public void stop(String why) {
    failAll(why);
    List<Pending<SoftState>> waiting = new ArrayList<>(leaderWaiters);
    leaderWaiters.clear();
    waiting.forEach(p -> p.finish(Outcome.unknown(why)));
  }

  // ---------------------------------------------------------------- state

  /** The node's role and the leader it knows of, now (not only as of the last Ready). */
  public SoftState softState() {
    return new SoftState(raft.role(), raft.leaderId());
  }

  public int id() {
    return raft.id();
  }

  public long term() {
    return raft.term();
  }

  /** The state machine's last applied index. */
  public long appliedIndex() {
    return applied;
  }

  /** The last snapshot saved or installed (the default instance if none). */
  public SnapshotMeta lastSnapshot() {
    return lastSnapshot;
  }

  /** When {@link #lastSnapshot()} was taken or installed, on the driver's clock (0 if never). */
  public long lastSnapshotNanos() {
    return lastSnapshotNanos;
  }

  public Timing timing() {
    return timing;
  }

  /** The core's state (for status reports). */
  public RaftStatus status() {
    return raft.status();
  }

  /** Clients waiting now: proposals, reads and leader waits (for tests and status). */
  public int pendingRequests() {
    int n = 0;
    for (Pending<?> p : deadlines) {
      if (!p.finished) {
        n++; // every request waits in deadlines until answered (a timed-out one is answered)
      }
    }
    return n;
  }

  /** For the simulator's checkers and tests: the core, read only. Do not feed it inputs. */
  public Raft raft() {
    return raft;
  }
}
