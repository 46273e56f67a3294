package io.raftkv.server;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;
import io.raftkv.proto.snapshot.CorruptSnapshotException;
import io.raftkv.proto.snapshot.SnapshotAck;
import io.raftkv.proto.snapshot.SnapshotChunk;
import io.raftkv.proto.snapshot.SnapshotTransportGrpc;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntPredicate;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives snapshots from the leader (§7) on the Raft port: each chunk's CRC32C and offset are
 * checked as it arrives and it is written to a temporary file; the complete file is fsynced,
 * renamed, verified as a whole and staged into a new KV generation; only then does the
 * install_snapshot message reach the node's loop, which installs it (an atomic generation switch)
 * if its core accepts it. A crash at any point leaves the old state or the new one. One transfer at
 * a time; the disk work runs off the network thread, with gRPC's flow control pacing the sender (a
 * chunk is asked for only when the previous one is written).
 *
 * <p>Thread-safety: gRPC calls it from its threads; each transfer's work runs on one executor
 * thread.
 */
final class SnapshotReceiver extends SnapshotTransportGrpc.SnapshotTransportImplBase
    implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SnapshotReceiver.class);

  private final int selfId;

  /** Which senders a snapshot is taken from (the members this node knows of). */
  private final IntPredicate peers;

  private final Path directory;
  private final KvSnapshots snapshots;
  private final RaftNode<?> node;
  private final SnapshotMetrics metrics;
  private final AtomicBoolean busy = new AtomicBoolean();
  private final ExecutorService disk =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "snapshot-receiver");
            t.setDaemon(true);
            return t;
          });

  /**
   * @param directory where incoming snapshots are written (created if needed); what a transfer cut
   *     short by a crash left there is removed
   * @param metrics told of every transfer's end
   */
  SnapshotReceiver(
      int selfId,
      IntPredicate peers,
      Path directory,
      KvSnapshots snapshots,
      RaftNode<?> node,
      SnapshotMetrics metrics) {
    this.selfId = selfId;
    this.metrics = metrics;
    this.peers = peers;
    this.directory = directory;
    this.snapshots = snapshots;
    this.node = node;
    int removed = removeLeftovers(directory);
    if (removed > 0) {
      log.info("removed {} snapshot file(s) left by interrupted transfers", removed);
    }
  }

  /**
   * Deletes the files of transfers that a crash interrupted ({@code incoming-*.part}, and {@code
   * .snap} ones not yet staged): no transfer runs before the node starts, and none of them is ever
   * read again (a transfer starts afresh), so without this every receiver killed mid-transfer would
   * leave up to a snapshot's size on disk for good.
   *
   * @return how many were deleted
   */
  static int removeLeftovers(Path directory) {
    if (!Files.isDirectory(directory)) {
      return 0;
    }
    int removed = 0;
    try (java.util.stream.Stream<Path> files = Files.list(directory)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        String name = p.getFileName().toString();
        if (name.startsWith("incoming-") && (name.endsWith(".part") || name.endsWith(".snap"))) {
          Files.deleteIfExists(p);
          removed++;
        }
      }
    } catch (IOException | java.io.UncheckedIOException e) {
      log.warn("cannot remove the files of interrupted snapshot transfers: {}", e.toString());
    }
    return removed;
  }

  @Override
  public StreamObserver<SnapshotChunk> installSnapshot(StreamObserver<SnapshotAck> responses) {
    ServerCallStreamObserver<SnapshotAck> call = (ServerCallStreamObserver<SnapshotAck>) responses;
    call.disableAutoRequest();
    call.request(1);
    return new Transfer(call);
  }

  /** One incoming stream. All its work runs on the disk executor, in order. */
  private final class Transfer implements StreamObserver<SnapshotChunk> {
    private final ServerCallStreamObserver<SnapshotAck> call;
    private RaftMessage message;
    private Path part;
    private FileChannel file;
    private long offset;
    private boolean failed;
    private boolean holdsBusy;

    Transfer(ServerCallStreamObserver<SnapshotAck> call) {
      this.call = call;
    }

    @Override
    public void onNext(SnapshotChunk chunk) {
      disk.execute(
          () -> {
            if (failed) {
              return;
            }
            try {
              write(chunk);
              call.request(1);
            } catch (IOException | RuntimeException e) {
              fail(e);
            }
          });
    }

    private void write(SnapshotChunk chunk) throws IOException {
      if (message == null) {
        RaftMessage m = chunk.getMessage();
        if (!m.hasInstallSnapshot() || m.getTo() != selfId || !peers.test(m.getFrom())) {
          throw new IOException("the first chunk carries no install_snapshot message for us");
        }
        if (!busy.compareAndSet(false, true)) {
          throw new IOException("another snapshot transfer is under way");
        }
        holdsBusy = true;
        message = m;
        Files.createDirectories(directory);
        SnapshotMeta meta = m.getInstallSnapshot().getMeta();
        part = directory.resolve("incoming-" + meta.getIndex() + "-" + meta.getTerm() + ".part");
        try {
          file =
              FileChannel.open(
                  part,
                  StandardOpenOption.CREATE,
                  StandardOpenOption.TRUNCATE_EXISTING,
                  StandardOpenOption.WRITE);
        } catch (IOException e) {
          throw diskFailure(e);
        }
      }
      if (chunk.getOffset() != offset) {
        throw new IOException(
            "a chunk starts at " + chunk.getOffset() + " where " + offset + " was expected");
      }
      CRC32C crc = new CRC32C();
      crc.update(chunk.getData().asReadOnlyByteBuffer());
      if ((int) crc.getValue() != chunk.getCrc32C()) {
        throw new IOException("the chunk at offset " + offset + " fails its checksum");
      }
      try {
        DiskReserve.ensure(directory, chunk.getData().size(), "receiving it");
        for (java.nio.ByteBuffer b : chunk.getData().asReadOnlyByteBufferList()) {
          while (b.hasRemaining()) {
            file.write(b);
          }
        }
      } catch (IOException e) {
        throw diskFailure(e);
      }
      offset += chunk.getData().size();
    }

    @Override
    public void onError(Throwable t) {
      disk.execute(() -> fail(t));
    }

    @Override
    public void onCompleted() {
      disk.execute(
          () -> {
            if (failed) {
              return;
            }
            try {
              finish();
            } catch (IOException | RuntimeException e) {
              fail(e);
            }
          });
    }

    /** The file is complete: fsync, rename, verify and stage it, then hand it to the loop. */
    private void finish() throws IOException {
      if (message == null) {
        throw new IOException("an empty snapshot stream");
      }
      Path done = part.resolveSibling(part.getFileName().toString().replace(".part", ".snap"));
      try {
        file.force(true);
        file.close();
        file = null;
        Files.move(part, done, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        // Staging writes the data again (then the file goes): refuse now rather than midway.
        DiskReserve.ensure(directory, offset, "staging it");
      } catch (IOException e) {
        throw diskFailure(e);
      }
      part = done;
      KvSnapshots.Staged staged;
      try (InputStream in = new BufferedInputStream(Files.newInputStream(done), 1 << 16)) {
        staged = snapshots.stage(in, message.getInstallSnapshot().getMeta());
      } catch (CorruptSnapshotException e) {
        throw e;
      } catch (IOException e) {
        throw diskFailure(e);
      }
      Files.deleteIfExists(done);
      part = null;
      RaftMessage m = message;
      long bytes = offset;
      release();
      metrics.received(bytes);
      // The loop decides (Figure 13) and installs it, or closes it; then the sender hears back.
      node.execute(
          rt -> {
            try {
              rt.receiveSnapshot(m, staged);
            } finally {
              call.onNext(SnapshotAck.newBuilder().setBytes(bytes).build());
              call.onCompleted();
            }
          });
      log.info(
          "received snapshot {} ({} bytes) from node {}",
          m.getInstallSnapshot().getMeta().getIndex(),
          bytes,
          m.getFrom());
    }

    /**
     * This node's disk failed (full, read-only), not the transfer: says so, and that nothing
     * changed (the staged files go; the state machine is switched only once all is staged).
     */
    private IOException diskFailure(IOException e) {
      SnapshotMeta meta = message.getInstallSnapshot().getMeta();
      return new IOException(
          "cannot store snapshot "
              + meta.getIndex()
              + " in "
              + directory.getParent()
              + ": "
              + e.getMessage()
              + "; this node keeps its state (applied index "
              + node.status().appliedIndex()
              + ") and takes the snapshot when its leader sends it again",
          e);
    }

    private void fail(Throwable why) {
      if (failed) {
        return;
      }
      failed = true;
      cleanUp();
      release();
      metrics.receiveFailed();
      log.warn("refused a snapshot: {}", why.getMessage());
      try {
        call.onError(
            Status.DATA_LOSS
                .withDescription(String.valueOf(why.getMessage()))
                .asRuntimeException());
      } catch (RuntimeException alreadyClosed) {
        // the call ended already (the sender cancelled it)
      }
    }

    private void cleanUp() {
      try {
        if (file != null) {
          file.close();
        }
        if (part != null) {
          Files.deleteIfExists(part);
        }
      } catch (IOException e) {
        log.warn("cannot remove a refused snapshot file: {}", e.toString());
      }
    }

    private void release() {
      if (holdsBusy) {
        holdsBusy = false;
        busy.set(false);
      }
    }
  }

  @Override
  public void close() {
    disk.shutdownNow();
  }
}
