package io.raftkv.server;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.raft.Raft;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.ReadyProcessor;
import io.raftkv.raft.Role;
import io.raftkv.raft.SoftState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node runtime: one event-loop thread owns the consensus core. Other threads (gRPC handlers,
 * the transport) only enqueue work. Each loop turn drains the queue (so every proposal that arrived
 * during the previous fsync shares the next one: group commit), ticks when due, then carries out
 * the core's Readys through {@link ReadyProcessor}: persist, send, apply, advance.
 *
 * <p>Thread-safety: the public methods may be called from any thread; everything else runs on the
 * loop thread.
 *
 * @param <R> what applying one entry yields for the client that proposed it
 */
public final class RaftNode<R> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RaftNode.class);

  /** Applies committed entries; called on the loop thread only. */
  public interface StateMachine<R> {
    /** Applies {@code entries} in order and returns one result per entry. */
    List<R> apply(List<Entry> entries);
  }

  /** The proposal's node is not (or no longer) the leader; the command was not appended. */
  public static final class NotLeaderException extends RuntimeException {
    private final int leaderId;

    public NotLeaderException(int leaderId) {
      super("not the leader" + (leaderId >= 0 ? "; the leader is node " + leaderId : ""));
      this.leaderId = leaderId;
    }

    /** The leader this node knows of, or {@link RaftConfig#NONE}. */
    public int leaderId() {
      return leaderId;
    }
  }

  /**
   * Leadership was lost after the command was appended: it may still be committed by the next
   * leader, or not. Clients retry with the same session id and sequence (exactly-once).
   */
  public static final class OutcomeUnknownException extends RuntimeException {
    public OutcomeUnknownException(String message) {
      super(message);
    }
  }

  private record Proposal<R>(long term, CompletableFuture<R> future) {}

  private record PendingRead(long index, CompletableFuture<Void> future) {}

  private final Raft raft;
  private final ReadyProcessor processor;
  private final StateMachine<R> stateMachine;
  private final long tickNanos;
  private final Consumer<RuntimeException> onFatal;
  private final LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
  private final Thread loop;
  private volatile boolean running = true;
  private volatile SoftState softState = new SoftState(Role.FOLLOWER, RaftConfig.NONE);
  private volatile RaftStatus status;

  // Loop-thread state.
  private final Map<Long, Proposal<R>> proposals = new HashMap<>();
  private final Map<Long, CompletableFuture<Void>> readsAwaitingIndex = new HashMap<>();
  private final PriorityQueue<PendingRead> readsAwaitingApply =
      new PriorityQueue<>((a, b) -> Long.compare(a.index(), b.index()));
  private final List<CompletableFuture<SoftState>> leaderWaiters = new ArrayList<>();
  private long nextReadContext = 1;
  private long applied;

  /** Until this System.nanoTime(), a node that knows no leader does not tick (start-up grace). */
  private long holdElectionsUntil;

  /** Until this System.nanoTime(), a node that knows no leader campaigns every heartbeat. */
  private long campaignUntil;

  private int ticksSinceCampaign;

  /**
   * @param raft a core restored from this node's storage
   * @param appliedIndex the state machine's last applied index (restored with it)
   * @param storage the durable log; its persist must fsync when asked
   * @param sender hands messages to the transport without blocking
   * @param onFatal told when the loop stops on an error (e.g. a failed fsync): the node must not go
   *     on, since it could acknowledge what is not durable
   */
  public RaftNode(
      Raft raft,
      long appliedIndex,
      ReadyProcessor.LogStorage storage,
      ReadyProcessor.MessageSender sender,
      StateMachine<R> stateMachine,
      long tickMillis,
      Consumer<RuntimeException> onFatal) {
    this.raft = raft;
    this.onFatal = onFatal;
    this.applied = appliedIndex;
    this.stateMachine = stateMachine;
    this.tickNanos = TimeUnit.MILLISECONDS.toNanos(tickMillis);
    this.processor = new ReadyProcessor(storage, sender, this::onReady);
    this.status = raft.status();
    this.loop = new Thread(this::run, "raft-node-" + raft.id());
    this.loop.setDaemon(true);
  }

  public void start() {
    loop.start();
  }

  // ---------------------------------------------------------------- inputs (any thread)

  /** A message from a peer. */
  public void receive(RaftMessage message) {
    inbox.add(() -> raft.step(message));
  }

  /** Campaign at once. */
  public void campaign() {
    inbox.add(raft::campaign);
  }

  /**
   * The {@code --leader} start-up hint: campaign now, and again every heartbeat interval while no
   * leader is known, for at most {@code windowMillis} (peers may still be starting). PreVote makes
   * the repeats harmless; votes still decide.
   */
  public void campaignUntilLeaderKnown(long windowMillis) {
    inbox.add(
        () -> {
          campaignUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(windowMillis);
          raft.campaign();
        });
  }

  /**
   * Start-up grace: while no leader is known, do not start elections for {@code millis}, so that a
   * node given the {@code --leader} hint (and slow JVM start-ups) can win first.
   */
  public void holdElections(long millis) {
    inbox.add(() -> holdElectionsUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis));
  }

  /** Asks the core to hand leadership to {@code target}. */
  public CompletableFuture<Boolean> transferLeadership(int target) {
    CompletableFuture<Boolean> f = new CompletableFuture<>();
    inbox.add(() -> f.complete(raft.transferLeadership(target)));
    return f;
  }

  /**
   * Appends a command to the log; completes with its result once it is committed and applied, or
   * exceptionally with {@link NotLeaderException} or {@link OutcomeUnknownException}.
   */
  public CompletableFuture<R> propose(byte[] command) {
    CompletableFuture<R> f = new CompletableFuture<>();
    inbox.add(
        () -> {
          long index = raft.propose(ByteString.copyFrom(command));
          if (index == 0) {
            f.completeExceptionally(new NotLeaderException(raft.leaderId()));
          } else {
            proposals.put(index, new Proposal<>(raft.term(), f));
          }
        });
    return f;
  }

  /**
   * Completes once the state machine reflects every write committed before this call (ReadIndex,
   * §8): a read served after it is linearizable.
   */
  public CompletableFuture<Void> readBarrier() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    inbox.add(
        () -> {
          long context = nextReadContext++;
          if (raft.readIndex(context)) {
            readsAwaitingIndex.put(context, f);
          } else {
            f.completeExceptionally(new NotLeaderException(raft.leaderId()));
          }
        });
    return f;
  }

  /** Completes when a leader is known (maybe at once); the caller bounds the wait. */
  public CompletableFuture<SoftState> awaitLeader() {
    SoftState s = softState;
    if (s.leaderId() != RaftConfig.NONE) {
      return CompletableFuture.completedFuture(s);
    }
    CompletableFuture<SoftState> f = new CompletableFuture<>();
    inbox.add(
        () -> {
          if (softState.leaderId() != RaftConfig.NONE) {
            f.complete(softState);
          } else {
            leaderWaiters.add(f);
          }
        });
    return f;
  }

  public SoftState softState() {
    return softState;
  }

  /** The core's state as of the last loop turn. */
  public RaftStatus status() {
    return status;
  }

  public int id() {
    return raft.id();
  }

  // ---------------------------------------------------------------- the loop

  private void run() {
    long nextTick = System.nanoTime() + tickNanos;
    List<Runnable> batch = new ArrayList<>();
    while (running) {
      try {
        long wait = nextTick - System.nanoTime();
        Runnable first = wait > 0 ? inbox.poll(wait, TimeUnit.NANOSECONDS) : inbox.poll();
        if (first != null) {
          first.run();
          inbox.drainTo(batch, 4096);
          for (Runnable r : batch) {
            r.run();
          }
          batch.clear();
        }
        long now = System.nanoTime();
        if (now - nextTick >= 0) {
          // Ticks measure real time (§5.2's timeouts are durations): a loop that woke late or
          // spent a while in an fsync catches up on the ticks it owes, or every timeout would
          // stretch by the loop's lateness. But never a minimum election timeout's worth in one
          // burst: that could cross two CheckQuorum checks with no message handled in between
          // and depose a healthy leader, or time out a follower that just heard a heartbeat
          // queued during the stall. The rest of a long stall is forgiven.
          long owed = 1 + (now - nextTick) / tickNanos;
          long ticks = Math.min(owed, raft.config().electionTimeoutMinTicks() - 1);
          for (long i = 0; i < ticks; i++) {
            tick(now);
          }
          nextTick += owed * tickNanos;
        }
        processor.drain(raft);
        status = raft.status();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        // Storage failures are fatal: continuing could acknowledge what is not durable.
        log.error("node {} stops: {}", raft.id(), e.toString(), e);
        running = false;
        failAll(new OutcomeUnknownException("node stopped: " + e.getMessage()));
        onFatal.accept(e);
        return;
      }
    }
  }

  private void tick(long now) {
    boolean leaderKnown = raft.leaderId() != RaftConfig.NONE;
    if (leaderKnown) {
      holdElectionsUntil = 0;
      campaignUntil = 0;
    }
    if (now - holdElectionsUntil >= 0 || holdElectionsUntil == 0) {
      raft.tick();
    }
    if (campaignUntil != 0 && now - campaignUntil < 0 && raft.role() != Role.LEADER) {
      if (++ticksSinceCampaign >= raft.config().heartbeatTicks()) {
        ticksSinceCampaign = 0;
        raft.campaign();
      }
    }
  }

  private void onReady(SoftState soft, List<Entry> committed, List<ReadState> readStates) {
    if (soft != null) {
      onSoftState(soft);
    }
    if (!committed.isEmpty()) {
      List<R> results = stateMachine.apply(committed);
      for (int i = 0; i < committed.size(); i++) {
        Entry e = committed.get(i);
        Proposal<R> p = proposals.remove(e.getIndex());
        if (p != null) {
          if (p.term() == e.getTerm()) {
            p.future().complete(results.get(i));
          } else {
            // Another leader's entry took the index: ours was truncated and will never apply.
            p.future().completeExceptionally(new NotLeaderException(raft.leaderId()));
          }
        }
      }
      applied = committed.get(committed.size() - 1).getIndex();
    }
    for (ReadState rs : readStates) {
      CompletableFuture<Void> f = readsAwaitingIndex.remove(rs.context());
      if (f != null) {
        readsAwaitingApply.add(new PendingRead(rs.index(), f));
      }
    }
    while (!readsAwaitingApply.isEmpty() && readsAwaitingApply.peek().index() <= applied) {
      readsAwaitingApply.poll().future().complete(null);
    }
  }

  private void onSoftState(SoftState soft) {
    SoftState old = softState;
    softState = soft;
    if (soft.role() != old.role()) {
      log.info(
          "node {} is {} in term {} (leader {})",
          raft.id(),
          soft.role(),
          raft.term(),
          soft.leaderId());
    }
    if (old.role() == Role.LEADER && soft.role() != Role.LEADER) {
      // The core abandoned this term's proposals and reads (see Ready#softState).
      failAll(new OutcomeUnknownException("leadership lost; the write may or may not apply"));
    }
    if (soft.leaderId() != RaftConfig.NONE) {
      for (CompletableFuture<SoftState> f : leaderWaiters) {
        f.complete(soft);
      }
      leaderWaiters.clear();
    }
  }

  private void failAll(RuntimeException cause) {
    forEachAndClear(proposals.values(), p -> p.future().completeExceptionally(cause));
    NotLeaderException notLeader = new NotLeaderException(softState.leaderId());
    forEachAndClear(readsAwaitingIndex.values(), f -> f.completeExceptionally(notLeader));
    forEachAndClear(readsAwaitingApply, r -> r.future().completeExceptionally(notLeader));
  }

  private static <T> void forEachAndClear(java.util.Collection<T> items, Consumer<T> action) {
    List<T> copy = new ArrayList<>(items);
    items.clear();
    copy.forEach(action);
  }

  @Override
  public void close() {
    running = false;
    loop.interrupt();
    try {
      loop.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // Inputs still queued are dropped; their callers time out (outcome unknown, as in a crash).
    inbox.clear();
    failAll(new OutcomeUnknownException("node shutting down"));
  }
}
