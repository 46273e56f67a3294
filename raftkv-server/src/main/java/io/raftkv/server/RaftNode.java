package io.raftkv.server;

import io.raftkv.node.NodeRuntime;
import io.raftkv.raft.RaftStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread around a {@link NodeRuntime}: one event-loop thread owns the runtime (and through it
 * the core, the log and the state machine); other threads (gRPC handlers, the transport) only
 * enqueue work with {@link #execute}. Each loop turn waits for work or for the runtime's next wake
 * time, sets the real clock, runs the whole queue (so every proposal that arrived during the
 * previous fsync shares the next one: group commit) and flushes the runtime. Everything that
 * decides something is in the runtime; this class is the thread, the inbox and {@link
 * System#nanoTime}.
 *
 * <p>Thread-safety: {@link #execute}, {@link #status()} and {@link #close()} may be called from any
 * thread; the runtime only ever runs on the loop thread.
 *
 * @param <R> what applying one entry yields for the client that proposed it
 */
public final class RaftNode<R> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RaftNode.class);

  private final NodeRuntime<R> runtime;
  private final Consumer<Throwable> onFatal;
  private final LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
  private final Thread loop;
  private volatile boolean running = true;
  private volatile RaftStatus status;

  /**
   * @param runtime the node, built with {@link System#nanoTime()} as its clock
   * @param onFatal told when the loop stops on an error (e.g. a failed fsync): the node must not go
   *     on, since it could acknowledge what is not durable
   */
  public RaftNode(NodeRuntime<R> runtime, Consumer<Throwable> onFatal) {
    this.runtime = runtime;
    this.onFatal = onFatal;
    this.status = runtime.status();
    this.loop = new Thread(this::run, "raft-node-" + runtime.id());
    this.loop.setDaemon(true);
  }

  public void start() {
    loop.start();
  }

  /** Runs {@code work} on the loop thread, in arrival order, before the turn's flush. */
  public void execute(Consumer<NodeRuntime<R>> work) {
    inbox.add(() -> work.accept(runtime));
  }

  /** The core's state as of the last loop turn. */
  public RaftStatus status() {
    return status;
  }

  public int id() {
    return status.id();
  }

  private void run() {
    List<Runnable> batch = new ArrayList<>();
    while (running) {
      try {
        long wait = runtime.nextWakeNanos() - System.nanoTime();
        Runnable first = wait > 0 ? inbox.poll(wait, TimeUnit.NANOSECONDS) : inbox.poll();
        runtime.setTime(System.nanoTime());
        if (first != null) {
          first.run();
          inbox.drainTo(batch, 4096);
          for (Runnable r : batch) {
            r.run();
          }
          batch.clear();
        }
        runtime.flush();
        status = runtime.status();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Throwable e) {
        // Storage failures (and any Error) are fatal: continuing could acknowledge what is not
        // durable, and a dead loop would leave every request unanswered.
        running = false;
        try {
          if (e instanceof io.raftkv.raft.DataLossException) {
            // Not a bug to debug: the operator must act, and the one line says how.
            log.error("node {} stops: {}", runtime.id(), e.getMessage());
          } else {
            log.error("node {} stops: {}", runtime.id(), e.toString(), e);
          }
          runtime.stop("node stopped: " + e.getMessage());
        } finally {
          onFatal.accept(e);
        }
        return;
      }
    }
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
    if (!loop.isAlive()) {
      runtime.stop("node shutting down");
    }
  }
}
