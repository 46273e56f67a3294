package io.raftkv.server;

import com.google.common.util.concurrent.RateLimiter;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.raftkv.node.NodeRuntime;
import io.raftkv.node.SnapshotImage;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.snapshot.SnapshotAck;
import io.raftkv.proto.snapshot.SnapshotChunk;
import io.raftkv.proto.snapshot.SnapshotTransportGrpc;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends snapshots to followers behind the compacted log (§7) off the node's loop: each transfer
 * streams the state machine's image in ~1 MiB chunks with a CRC32C each, under gRPC flow control (a
 * chunk waits until the stream can take it), a rate limit and a deadline, and ends by telling the
 * node how it went ({@link NodeRuntime#snapshotSent}). The leader's loop, heartbeats and fsyncs
 * never wait for a transfer.
 *
 * <p>Thread-safety: {@link #send} from the node's loop; transfers run on their own threads.
 */
final class SnapshotStreamer implements NodeRuntime.SnapshotSender, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SnapshotStreamer.class);

  /** About 1 MiB per chunk (the size; gRPC's default message limit is 4 MiB). */
  static final int CHUNK_BYTES = 1 << 20;

  private final IntFunction<ManagedChannel> channels;
  private final Backoff backoff = new Backoff();
  private final RaftNode<?> node;
  private final long bytesPerSecond;
  private final long deadlineMillis;
  private final SnapshotMetrics metrics;
  private final ExecutorService transfers =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "snapshot-sender");
            t.setDaemon(true);
            return t;
          });

  /**
   * @param bytesPerSecond the rate limit of each transfer (0: none)
   * @param deadlineMillis how long one transfer may take in all
   * @param metrics told of every transfer's end
   */
  SnapshotStreamer(
      IntFunction<ManagedChannel> channels,
      RaftNode<?> node,
      long bytesPerSecond,
      long deadlineMillis,
      SnapshotMetrics metrics) {
    this.channels = channels;
    this.node = node;
    this.bytesPerSecond = bytesPerSecond;
    this.deadlineMillis = deadlineMillis;
    this.metrics = metrics;
  }

  @Override
  public void send(RaftMessage message, SnapshotImage image) {
    int to = message.getTo();
    try {
      transfers.execute(
          () -> {
            boolean delivered = false;
            long t0 = System.nanoTime();
            try (image) {
              backoff.check(to);
              long bytes = transfer(message, (KvSnapshots.Image) image);
              delivered = true;
              backoff.succeeded(to);
              metrics.sent(bytes);
              log.info(
                  "sent snapshot {} ({} bytes) to node {} in {} ms",
                  message.getInstallSnapshot().getMeta().getIndex(),
                  bytes,
                  to,
                  TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            } catch (Backoff.Waiting e) {
              // A follower that failed the last transfer: no new stream before its backoff ends.
            } catch (Exception e) {
              backoff.failed(to);
              metrics.sendFailed();
              log.warn(
                  "snapshot {} to node {} failed: {}",
                  message.getInstallSnapshot().getMeta().getIndex(),
                  to,
                  e.toString());
            }
            boolean ok = delivered;
            node.execute(rt -> rt.snapshotSent(message, ok));
          });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      image.close(); // shutting down
    }
  }

  /**
   * Per follower, how long to wait before the next transfer after failed ones: 100 ms doubling to 5
   * s. The core asks again at every heartbeat after a failure; a follower that is down or
   * restarting must not get a new stream (and its image) each time.
   */
  static final class Backoff {
    static final long MIN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    static final long MAX_NANOS = TimeUnit.SECONDS.toNanos(5);

    /** Thrown by {@link #check} while a follower's backoff lasts. */
    static final class Waiting extends Exception {
      Waiting() {
        super(null, null, false, false);
      }
    }

    private final java.util.Map<Integer, long[]> state =
        new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * @throws Waiting the follower's last transfer failed less than its backoff ago
     */
    void check(int peer) throws Waiting {
      long[] s = state.get(peer);
      if (s != null && System.nanoTime() - s[0] < 0) {
        throw new Waiting();
      }
    }

    void failed(int peer) {
      long[] s = state.computeIfAbsent(peer, p -> new long[] {0, MIN_NANOS / 2});
      s[1] = Math.min(MAX_NANOS, s[1] * 2);
      s[0] = System.nanoTime() + s[1];
    }

    void succeeded(int peer) {
      state.remove(peer);
    }
  }

  /** Streams one snapshot; returns the bytes sent once the receiver acknowledged it. */
  private long transfer(RaftMessage message, KvSnapshots.Image image) throws Exception {
    CompletableFuture<SnapshotAck> ack = new CompletableFuture<>();
    Flow flow = new Flow(ack);
    ManagedChannel channel = channels.apply(message.getTo());
    // gRPC's own reconnect backoff grows to minutes while a follower is down, and a call on a
    // channel in that state fails at once without trying: a restarted follower would wait that
    // long for its snapshot (found by SnapshotDiskFullTest). Our backoff decides when to try.
    channel.resetConnectBackoff();
    SnapshotTransportGrpc.newStub(channel)
        .withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS)
        .installSnapshot(flow);
    RateLimiter limiter = bytesPerSecond > 0 ? RateLimiter.create(bytesPerSecond) : null;
    ChunkStream out = new ChunkStream(flow, message, limiter);
    try {
      image.writeTo(out);
      out.close();
    } catch (IOException | RuntimeException e) {
      flow.cancel(e);
      throw e;
    }
    ack.get(deadlineMillis, TimeUnit.MILLISECONDS);
    return out.offset;
  }

  /** Where a {@link ChunkStream}'s chunks go, each once the receiving side is ready for it. */
  private interface ChunkSink {
    void send(SnapshotChunk chunk) throws IOException;

    void complete();
  }

  /** The request side of one transfer, with gRPC's readiness as flow control. */
  private static final class Flow
      implements ClientResponseObserver<SnapshotChunk, SnapshotAck>, ChunkSink {
    private final CompletableFuture<SnapshotAck> ack;
    private ClientCallStreamObserver<SnapshotChunk> requests;
    private final Object ready = new Object();

    Flow(CompletableFuture<SnapshotAck> ack) {
      this.ack = ack;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<SnapshotChunk> requests) {
      this.requests = requests;
      requests.setOnReadyHandler(
          () -> {
            synchronized (ready) {
              ready.notifyAll();
            }
          });
    }

    /** Sends a chunk once the stream can take it (or fails if the call ended). */
    @Override
    public void send(SnapshotChunk chunk) throws IOException {
      synchronized (ready) {
        while (!requests.isReady()) {
          if (ack.isDone()) {
            throw new IOException("the receiver ended the transfer: " + outcome());
          }
          try {
            ready.wait(100);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while sending a snapshot");
          }
        }
      }
      requests.onNext(chunk);
    }

    private String outcome() {
      try {
        return String.valueOf(ack.getNow(null));
      } catch (RuntimeException e) {
        return e.getCause() == null ? e.toString() : e.getCause().toString();
      }
    }

    @Override
    public void complete() {
      requests.onCompleted();
    }

    void cancel(Throwable why) {
      requests.cancel("snapshot transfer failed", why);
    }

    @Override
    public void onNext(SnapshotAck value) {
      ack.complete(value);
    }

    @Override
    public void onError(Throwable t) {
      ack.completeExceptionally(t);
      synchronized (ready) {
        ready.notifyAll();
      }
    }

    @Override
    public void onCompleted() {
      ack.completeExceptionally(new IOException("the receiver ended the transfer without an ack"));
    }
  }

  /**
   * Cuts the snapshot stream into checksummed chunks; the first carries the message (when there is
   * one: a backup has none).
   */
  private static final class ChunkStream extends OutputStream {
    private final ChunkSink flow;
    private final RateLimiter limiter;
    private RaftMessage message;
    private final byte[] buffer = new byte[CHUNK_BYTES];
    private int filled;
    long offset;

    ChunkStream(ChunkSink flow, RaftMessage message, RateLimiter limiter) {
      this.flow = flow;
      this.message = message;
      this.limiter = limiter;
    }

    @Override
    public void write(int b) throws IOException {
      if (filled == buffer.length) {
        emit();
      }
      buffer[filled++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      while (len > 0) {
        if (filled == buffer.length) {
          emit();
        }
        int n = Math.min(len, buffer.length - filled);
        System.arraycopy(b, off, buffer, filled, n);
        filled += n;
        off += n;
        len -= n;
      }
    }

    private void emit() throws IOException {
      if (limiter != null && filled > 0) {
        limiter.acquire(filled);
      }
      CRC32C crc = new CRC32C();
      crc.update(buffer, 0, filled);
      SnapshotChunk.Builder c =
          SnapshotChunk.newBuilder()
              .setOffset(offset)
              .setData(ByteString.copyFrom(buffer, 0, filled))
              .setCrc32C((int) crc.getValue());
      if (message != null) {
        c.setMessage(message);
        message = null;
      }
      flow.send(c.build());
      offset += filled;
      filled = 0;
    }

    @Override
    public void close() throws IOException {
      emit();
      flow.complete();
    }
  }

  @Override
  public void close() {
    transfers.shutdownNow();
  }

  /** A monitor notified whenever {@code call} becomes ready; set in the service method itself. */
  static Object onReady(io.grpc.stub.ServerCallStreamObserver<?> call) {
    Object ready = new Object();
    call.setOnReadyHandler(
        () -> {
          synchronized (ready) {
            ready.notifyAll();
          }
        });
    return ready;
  }

  /**
   * Streams {@code image} to a client call (a backup, {@code clt snapshot save}) in checksummed
   * chunks, each sent when the call is ready for it; closes the image.
   *
   * @param ready notified by the call's on-ready handler ({@link #onReady}, which must be set
   *     before the service method returns)
   */
  static void serve(
      KvSnapshots.Image image,
      io.grpc.stub.ServerCallStreamObserver<SnapshotChunk> call,
      Object ready) {
    ChunkSink sink =
        new ChunkSink() {
          @Override
          public void send(SnapshotChunk chunk) throws IOException {
            synchronized (ready) {
              while (!call.isReady()) {
                if (call.isCancelled()) {
                  throw new IOException("the client went away");
                }
                try {
                  ready.wait(100);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  throw new InterruptedIOException();
                }
              }
            }
            call.onNext(chunk);
          }

          @Override
          public void complete() {
            call.onCompleted();
          }
        };
    try (image) {
      ChunkStream out = new ChunkStream(sink, null, null);
      image.writeTo(out);
      out.close();
    } catch (IOException | RuntimeException | Error e) {
      log.warn("backup snapshot failed: {}", e.toString());
      try {
        call.onError(
            io.grpc.Status.INTERNAL
                .withDescription("snapshot failed: " + e.getMessage())
                .asRuntimeException());
      } catch (RuntimeException ended) {
        // the call is over already
      }
    }
  }
}
