package io.raftkv.server;

import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RaftTransportGrpc;
import io.raftkv.proto.raft.StreamEnd;
import java.util.ArrayDeque;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound half of the link to one peer: one channel, one long-lived stream, a bounded queue.
 * {@link #send} never blocks: when the queue is full (the peer is slow or gone) the message is
 * dropped and Raft's own retries (heartbeats, re-sent appends) recover. A broken stream is reopened
 * with exponential backoff.
 *
 * <p>Messages queued for a stream that broke, or for a connection attempt that failed, are dropped,
 * not kept for the next connection: a peer that was down for a while must hear what its leader says
 * now, not the appends it was sent while it was dead (delivered on its return, they made a
 * restarted follower append the entries its leader had since compacted, instead of taking the
 * snapshot, and held up to the queue's capacity of entry data in the sender's heap).
 *
 * <p>A small message (a heartbeat, a vote, an acknowledgement) to a peer whose stream is open and
 * ready, with nothing queued before it, is handed to the stream on the sending thread (the node's
 * loop): the hop through the executor cost a thread wake-up per message, on every write's path and
 * 40 times a second on an idle member. Larger ones (appends with entries) are serialized on the
 * executor, off the loop.
 *
 * <p>Thread-safety: {@link #send} from any thread; the connection's life runs on the shared
 * executor; messages reach the stream under {@code streamLock}, in queue order.
 */
final class PeerClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PeerClient.class);
  private static final long MIN_BACKOFF_MS = 10;

  /**
   * A restarted peer must hear us soon: its votes and its candidacy depend on our replies (a
   * failover measured ~40 ms longer per election round while replies to a restarted node waited for
   * a reconnect). A refused connection on a LAN costs next to nothing, so retry often.
   */
  private static final long MAX_BACKOFF_MS = 100;

  /**
   * Bytes queued for one peer before new messages are dropped (a message is always taken when the
   * queue is empty, whatever its size): a slow peer must not hold the sender's heap hostage.
   */
  static final long MAX_QUEUED_BYTES = 64L << 20;

  /**
   * Messages up to this size may go to the stream on the sender's thread (see the class comment).
   */
  static final int DIRECT_SEND_MAX_BYTES = 16 << 10;

  private final int peerId;
  private final String target;
  private final ManagedChannel channel;
  private final ScheduledExecutorService executor;
  private final ArrayBlockingQueue<RaftMessage> queue;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong sentBytes = new AtomicLong();
  private final AtomicLong queuedBytes = new AtomicLong();

  /** Held while messages are handed to {@link #stream}, and while it is replaced. */
  private final Object streamLock = new Object();

  // Written on the executor under streamLock; read by senders.
  private volatile ClientCallStreamObserver<RaftMessage> stream;

  // Executor-thread state.
  private boolean connecting;
  private long backoffMs = MIN_BACKOFF_MS;

  /** No connection attempt before this System.nanoTime(): messages to a dead peer wait. */
  private long nextAttemptNanos;

  private boolean flushScheduled;
  private volatile boolean closed;

  /** A message held back by a chaos delay until {@code dueNanos} (System.nanoTime()). */
  private record Delayed(long dueNanos, RaftMessage message) {}

  // Guarded by this: messages held back by a chaos delay, in sending order and due time.
  private final ArrayDeque<Delayed> delayed = new ArrayDeque<>();
  private long lastDueNanos;
  private volatile int delayedCount;

  PeerClient(
      int peerId,
      PeerAddress address,
      PeerChannels channels,
      int queueCapacity,
      ScheduledExecutorService ex) {
    this.peerId = peerId;
    this.target = address.toString();
    this.executor = ex;
    this.queue = new ArrayBlockingQueue<>(queueCapacity);
    this.channel = channels.open(peerId, address, Integer.MAX_VALUE);
  }

  /**
   * Opens the stream now rather than at the first message: followers rarely talk to each other, so
   * a lazily opened stream would make the first election after a failure pay for a TCP and HTTP/2
   * handshake through cold code on every vote (measured: 20-60 ms per election round).
   */
  void connectEagerly() {
    scheduleFlush();
  }

  /** Queues {@code m} for the peer; drops it if the queue is full. */
  void send(RaftMessage m) {
    send(m, 0);
  }

  /**
   * Queues {@code m} for the peer after {@code delayMillis} (chaos), on the shared executor without
   * blocking anyone; messages keep their order, a delayed one holding back those sent after it.
   */
  void send(RaftMessage m, long delayMillis) {
    if (closed) {
      return;
    }
    if (delayMillis <= 0 && delayedCount == 0) {
      enqueue(m);
      return;
    }
    synchronized (this) {
      long now = System.nanoTime();
      long due = now + TimeUnit.MILLISECONDS.toNanos(Math.max(0, delayMillis));
      if (!delayed.isEmpty() && due - lastDueNanos < 0) {
        due = lastDueNanos; // never overtake a message delayed longer
      }
      lastDueNanos = due;
      delayed.add(new Delayed(due, m));
      delayedCount = delayed.size();
      if (delayedCount == 1) {
        later(this::releaseDelayed, due - now, TimeUnit.NANOSECONDS);
      }
    }
  }

  private void enqueue(RaftMessage m) {
    long size = m.getSerializedSize(); // memoized: flush() and the stream reuse it
    if ((queuedBytes.get() + size > MAX_QUEUED_BYTES && !queue.isEmpty()) || !queue.offer(m)) {
      dropped.incrementAndGet();
      return;
    }
    queuedBytes.addAndGet(size);
    // Alone in the queue and small: send it now. Behind others, the executor is on its way (and
    // draining them here would serialize their entries on this thread).
    if (size > DIRECT_SEND_MAX_BYTES || queue.size() > 1 || !drain()) {
      scheduleFlush();
    }
  }

  /**
   * Hands queued messages to the stream while it is ready, on the calling thread; false if no
   * stream is open (the executor connects). When the stream is not ready, its on-ready handler
   * drains the rest.
   */
  private boolean drain() {
    synchronized (streamLock) {
      ClientCallStreamObserver<RaftMessage> s = stream;
      if (s == null) {
        return false;
      }
      while (s.isReady()) {
        RaftMessage m = poll();
        if (m == null) {
          return true;
        }
        s.onNext(m);
        sent.incrementAndGet();
        sentBytes.addAndGet(m.getSerializedSize());
      }
      return true;
    }
  }

  /** Takes the next queued message, or null. */
  private RaftMessage poll() {
    RaftMessage m = queue.poll();
    if (m != null) {
      queuedBytes.addAndGet(-m.getSerializedSize());
    }
    return m;
  }

  /** Moves the delayed messages that are due to the queue; runs on the executor. */
  private void releaseDelayed() {
    synchronized (this) {
      long now = System.nanoTime();
      while (!delayed.isEmpty() && delayed.peek().dueNanos() - now <= 0) {
        enqueue(delayed.poll().message());
      }
      delayedCount = delayed.size();
      if (!delayed.isEmpty() && !closed) {
        later(this::releaseDelayed, delayed.peek().dueNanos() - now, TimeUnit.NANOSECONDS);
      }
    }
  }

  long dropped() {
    return dropped.get();
  }

  long sent() {
    return sent.get();
  }

  /** Bytes of the messages handed to the stream (their protobuf size, without gRPC framing). */
  long sentBytes() {
    return sentBytes.get();
  }

  private synchronized void scheduleFlush() {
    if (!flushScheduled) {
      flushScheduled = true;
      later(this::flush, 0, TimeUnit.NANOSECONDS);
    }
  }

  private void flush() {
    synchronized (this) {
      flushScheduled = false;
    }
    if (closed) {
      return;
    }
    if (!drain() && System.nanoTime() - nextAttemptNanos >= 0) {
      // Only the backoff schedule reconnects: every message to a dead peer must not cost a TCP
      // connect (gRPC's own backoff, which would have damped that, is reset in connect()).
      connect();
    }
  }

  private void connect() {
    if (connecting) {
      return;
    }
    connecting = true;
    // gRPC's own reconnect backoff grows to minutes while a peer is down, and a call on a channel
    // in that state fails at once without trying: our backoff above decides when to try instead.
    channel.resetConnectBackoff();
    RaftTransportGrpc.newStub(channel).stream(
        new ClientResponseObserver<RaftMessage, StreamEnd>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<RaftMessage> s) {
            s.setOnReadyHandler(() -> later(() -> onReady(s), 0, TimeUnit.NANOSECONDS));
          }

          @Override
          public void onNext(StreamEnd value) {}

          @Override
          public void onError(Throwable t) {
            later(() -> onBroken(t.getMessage()), 0, TimeUnit.NANOSECONDS);
          }

          @Override
          public void onCompleted() {
            later(() -> onBroken("closed by peer"), 0, TimeUnit.NANOSECONDS);
          }
        });
  }

  private void onReady(ClientCallStreamObserver<RaftMessage> s) {
    if (stream != s) {
      if (!connecting) {
        return; // an old stream
      }
      synchronized (streamLock) {
        stream = s;
      }
      connecting = false;
      backoffMs = MIN_BACKOFF_MS;
      log.debug("stream to node {} at {} open", peerId, target);
    }
    flush();
  }

  private void onBroken(String why) {
    if (closed) {
      return;
    }
    log.debug("stream to node {} at {} broken: {}", peerId, target, why);
    connecting = false;
    synchronized (streamLock) {
      stream = null;
      // What was queued for this connection is stale by the next one (see the class comment).
      while (poll() != null) {
        dropped.incrementAndGet();
      }
    }
    long delay = backoffMs;
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    nextAttemptNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay);
    later(this::flush, delay, TimeUnit.MILLISECONDS);
  }

  /** Runs {@code task} on the executor after {@code delay}; nothing once the transport closed. */
  private void later(Runnable task, long delay, TimeUnit unit) {
    try {
      if (delay <= 0) {
        executor.execute(task);
      } else {
        executor.schedule(task, delay, unit);
      }
    } catch (RejectedExecutionException e) {
      if (!closed && !executor.isShutdown()) {
        throw e;
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    channel.shutdownNow();
  }
}
