package io.raftkv.bench;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The open loop: operations are due on a fixed schedule ({@link Arrivals}), whatever the
 * completions, and each one's latency runs from the time it was due, not from the time it could be
 * sent. A closed loop waits for the system before asking again, so a stall delays the requests that
 * would have met it and they are never measured: coordinated omission. Here they are: a request due
 * during a stall waits, and its wait counts.
 *
 * <p>One thread issues the arrivals at their due times. An arrival takes an idle client (each has
 * at most one operation in flight, as in the closed loop); with none idle it waits in a FIFO
 * backlog, and the next client to finish takes it. At most {@code maxOutstanding} operations are in
 * flight or waiting; an arrival beyond that is dropped and counted. An operation sent 1 ms or more
 * after it was due is counted late (the issuing thread was behind, or it waited for a client).
 *
 * <p>Thread-safety: see {@link Load}; completions run on the targets' callback threads.
 */
final class OpenLoop implements Load {

  /** Time as the open loop sees it: the machine's, or a test's. */
  interface Clock {
    long nanoTime();

    /** Returns at {@code deadline} or later. */
    void sleepUntil(long deadline) throws InterruptedException;
  }

  /** The machine's monotonic clock. */
  static final Clock SYSTEM =
      new Clock() {
        @Override
        public long nanoTime() {
          return System.nanoTime();
        }

        @Override
        public void sleepUntil(long deadline) throws InterruptedException {
          for (long d; (d = deadline - System.nanoTime()) > 0; ) {
            LockSupport.parkNanos(d);
            if (Thread.interrupted()) {
              throw new InterruptedException();
            }
          }
        }
      };

  /** An operation sent this long after it was due is late. */
  static final long LATE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  /** One operation of the schedule: when it was due, what it does. */
  private record Arrival(long due, OpType op, int key) {}

  /**
   * What the open loop counted over one interval (or a whole window): arrivals due, operations sent
   * (of any due time: a backlog drains), sent late, dropped, the latest send, and the most
   * operations outstanding (in flight or waiting) at once.
   */
  record Counts(
      long due, long sent, long late, long dropped, long maxLateNanos, int peakOutstanding) {
    Counts plus(Counts o) {
      return new Counts(
          due + o.due,
          sent + o.sent,
          late + o.late,
          dropped + o.dropped,
          Math.max(maxLateNanos, o.maxLateNanos),
          Math.max(peakOutstanding, o.peakOutstanding));
    }
  }

  private final Workload w;
  private final Arrivals arrivals;
  private final byte[][] keys;
  private final Recording recording;
  private final Clock clock;
  private final SplittableRandom choices;

  private final Object lock = new Object();
  // Guarded by lock.
  private final ArrayDeque<LoadClient> idle;
  private final ArrayDeque<Arrival> backlog = new ArrayDeque<>();
  private int inFlight;
  private int peakOutstanding;
  private long due;
  private long sent;
  private long late;
  private long dropped;
  private long maxLateNanos;
  private long abandoned;

  private volatile boolean stopped;
  private Thread issuer;

  OpenLoop(
      List<LoadClient> clients,
      Workload w,
      Arrivals arrivals,
      byte[][] keys,
      Recording recording,
      Clock clock) {
    this.w = w;
    this.arrivals = arrivals;
    this.keys = keys;
    this.recording = recording;
    this.clock = clock;
    // Its own stream: the choices do not depend on which client is free.
    this.choices = new SplittableRandom(w.seed() * 1_000_003L - 1);
    this.idle = new ArrayDeque<>(clients);
  }

  @Override
  public void start(long startNanos, long endNanos) {
    issuer = new Thread(() -> issue(startNanos, endNanos), "open-loop-issuer");
    issuer.setDaemon(true);
    issuer.start();
  }

  /**
   * Issues every arrival due from {@code start} to before {@code end}, each at its due time (at
   * once, one after another, when behind), on the calling thread; returns at the end or once
   * stopped.
   */
  void issue(long start, long end) {
    Arrivals.Schedule schedule = arrivals.schedule(w.seed());
    try {
      while (!stopped) {
        long at = start + schedule.next();
        if (at >= end) {
          return;
        }
        clock.sleepUntil(at);
        if (stopped) {
          return;
        }
        arrive(at);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void arrive(long at) {
    Arrival a = new Arrival(at, w.nextOp(choices), choices.nextInt(keys.length));
    LoadClient c;
    synchronized (lock) {
      due++;
      int outstanding = inFlight + backlog.size();
      if (outstanding >= arrivals.maxOutstanding()) {
        dropped++;
        return;
      }
      peakOutstanding = Math.max(peakOutstanding, outstanding + 1);
      c = idle.poll();
      if (c == null) {
        backlog.add(a);
        return;
      }
      inFlight++;
    }
    send(c, a);
  }

  /**
   * Sends {@code a} on {@code c}, then whatever the backlog hands {@code c} next: a session that
   * completes at once is looped over here rather than recursed into.
   */
  private void send(LoadClient c, Arrival a) {
    while (a != null) {
      long lateBy = clock.nanoTime() - a.due;
      synchronized (lock) {
        sent++;
        if (lateBy >= LATE_NANOS) {
          late++;
          maxLateNanos = Math.max(maxLateNanos, lateBy);
        }
      }
      CompletableFuture<?> f = c.start(a.op, keys[a.key]);
      if (!f.isDone()) {
        Arrival sent = a;
        f.whenComplete((r, e) -> send(c, completed(c, sent, e)));
        return;
      }
      a = completed(c, a, LoadClient.failure(f));
    }
  }

  /** Records {@code a}'s end; returns the backlog's next arrival for {@code c}, or null. */
  private Arrival completed(LoadClient c, Arrival a, Throwable e) {
    if (e == null) {
      // Coordinated omission corrected: from when it was due, not from when it was sent.
      recording.success(a.op, clock.nanoTime() - a.due);
    } else if (!stopped) {
      recording.error(a.op, unwrap(e));
    }
    synchronized (lock) {
      Arrival next = stopped ? null : backlog.poll();
      if (next == null) {
        inFlight--;
        idle.add(c);
        lock.notifyAll();
      }
      return next;
    }
  }

  @Override
  public String tick(boolean measuring, Measurement m) {
    Counts c = takeCounts();
    if (measuring) {
      m.addOpenLoop(c);
    }
    return String.format(
        Locale.ROOT,
        "  due %d sent %d late %d dropped %d backlog %d",
        c.due(),
        c.sent(),
        c.late(),
        c.dropped(),
        backlog());
  }

  /** The counts since the last call. */
  Counts takeCounts() {
    synchronized (lock) {
      Counts c = new Counts(due, sent, late, dropped, maxLateNanos, peakOutstanding);
      due = 0;
      sent = 0;
      late = 0;
      dropped = 0;
      maxLateNanos = 0;
      peakOutstanding = inFlight + backlog.size();
      return c;
    }
  }

  /** Arrivals waiting for a free client now. */
  int backlog() {
    synchronized (lock) {
      return backlog.size();
    }
  }

  /** Arrivals still waiting for a client when the run stopped (never sent, not measured). */
  long abandoned() {
    synchronized (lock) {
      return abandoned;
    }
  }

  @Override
  public void stop() {
    stopped = true;
    if (issuer != null) {
      issuer.interrupt();
    }
    synchronized (lock) {
      abandoned += backlog.size();
      backlog.clear();
    }
  }

  @Override
  public boolean awaitIdle(Duration limit) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    if (issuer != null) {
      issuer.join(Math.max(1, limit.toMillis()));
    }
    synchronized (lock) {
      for (long left; inFlight > 0 && (left = deadline - System.nanoTime()) > 0; ) {
        TimeUnit.NANOSECONDS.timedWait(lock, left);
      }
      return inFlight == 0;
    }
  }

  /** Operations sent and not yet completed. */
  int inFlight() {
    synchronized (lock) {
      return inFlight;
    }
  }

  /** The cause a future's stage reported (CompletionException wraps it). */
  static Throwable unwrap(Throwable e) {
    return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
  }
}
