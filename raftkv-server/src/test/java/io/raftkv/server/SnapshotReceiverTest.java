package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.raftkv.proto.kvs.KvCommand;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.InstallSnapshotRequest;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;
import io.raftkv.proto.snapshot.SnapshotAck;
import io.raftkv.proto.snapshot.SnapshotChunk;
import io.raftkv.proto.snapshot.SnapshotTransportGrpc;
import io.raftkv.storage.KvStateMachine;
import io.raftkv.storage.NodeIdentity;
import io.raftkv.storage.RocksStore;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The follower's side of a snapshot transfer (§7): a chunk whose bytes do not match its CRC32C is
 * refused as it arrives, a stream whose whole checksum fails is refused once complete, and neither
 * is ever installed nor leaves a file or a staged generation behind.
 */
class SnapshotReceiverTest {
  private static final SnapshotMeta META = SnapshotMeta.newBuilder().setIndex(3).setTerm(1).build();

  @TempDir Path dir;
  private RocksStore leader;
  private RocksStore follower;
  private KvStateMachine followerMachine;
  private Server server;
  private ManagedChannel channel;
  private Path incoming;

  @BeforeEach
  void setUp() throws Exception {
    leader = RocksStore.open(dir.resolve("leader"), new NodeIdentity("c", 0));
    KvStateMachine m = new KvStateMachine(leader);
    m.apply(List.of(put(1, "a", "1"), put(2, "b", "2"), put(3, "c", "3")));
    follower = RocksStore.open(dir.resolve("follower"), new NodeIdentity("c", 1));
    followerMachine = new KvStateMachine(follower);
    incoming = dir.resolve("follower-snapshots");
    String name = InProcessServerBuilder.generateName();
    // No node: a refused transfer never reaches the loop (a test that got that far would fail).
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                new SnapshotReceiver(
                    1,
                    id -> id == 0,
                    incoming,
                    new KvSnapshots(follower, followerMachine, "c"),
                    null,
                    new SnapshotMetrics(new PrometheusRegistry())))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void tearDown() {
    channel.shutdownNow();
    server.shutdownNow();
    leader.close();
    follower.close();
  }

  private static Entry put(long index, String key, String value) {
    return Entry.newBuilder()
        .setIndex(index)
        .setTerm(1)
        .setType(EntryType.ENTRY_NORMAL)
        .setData(
            KvCommand.newBuilder()
                .setPut(
                    KvCommand.Put.newBuilder()
                        .setKey(ByteString.copyFromUtf8(key))
                        .setValue(ByteString.copyFromUtf8(value)))
                .build()
                .toByteString())
        .build();
  }

  /** The leader's snapshot stream, cut into two chunks with their CRC32Cs. */
  private List<SnapshotChunk> chunks() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    KvSnapshots snapshots = new KvSnapshots(leader, new KvStateMachine(leader), "c");
    try (KvSnapshots.Image image = snapshots.open(META)) {
      image.writeTo(out);
    }
    byte[] bytes = out.toByteArray();
    int half = bytes.length / 2;
    List<SnapshotChunk> chunks = new ArrayList<>();
    chunks.add(chunk(bytes, 0, half).toBuilder().setMessage(message()).build());
    chunks.add(chunk(bytes, half, bytes.length));
    return chunks;
  }

  private static SnapshotChunk chunk(byte[] bytes, int from, int to) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, from, to - from);
    return SnapshotChunk.newBuilder()
        .setOffset(from)
        .setData(ByteString.copyFrom(bytes, from, to - from))
        .setCrc32C((int) crc.getValue())
        .build();
  }

  private static RaftMessage message() {
    return RaftMessage.newBuilder()
        .setFrom(0)
        .setTo(1)
        .setTerm(1)
        .setInstallSnapshot(InstallSnapshotRequest.newBuilder().setMeta(META))
        .build();
  }

  /** Sends the chunks; returns the error the receiver ended the call with. */
  private Status send(List<SnapshotChunk> chunks) throws Exception {
    CompletableFuture<Status> result = new CompletableFuture<>();
    StreamObserver<SnapshotChunk> requests =
        SnapshotTransportGrpc.newStub(channel)
            .installSnapshot(
                new StreamObserver<>() {
                  @Override
                  public void onNext(SnapshotAck ack) {
                    result.complete(Status.OK);
                  }

                  @Override
                  public void onError(Throwable t) {
                    result.complete(((StatusRuntimeException) t).getStatus());
                  }

                  @Override
                  public void onCompleted() {
                    result.complete(Status.OK);
                  }
                });
    for (SnapshotChunk c : chunks) {
      requests.onNext(c);
    }
    requests.onCompleted();
    return result.get(30, TimeUnit.SECONDS);
  }

  private void assertNothingInstalledOrLeftBehind() throws Exception {
    assertThat(follower.kvColumns().generation()).isZero();
    assertThat(followerMachine.get("a".getBytes())).isEmpty();
    if (Files.exists(incoming)) {
      try (var files = Files.list(incoming)) {
        assertThat(files).isEmpty();
      }
    }
  }

  @Test
  void aChunkWhoseBytesFailItsChecksumIsRefused() throws Exception {
    List<SnapshotChunk> chunks = chunks();
    SnapshotChunk second = chunks.get(1);
    byte[] data = second.getData().toByteArray();
    data[data.length / 2] ^= 0x01; // one bit on the wire; the chunk's CRC is the original's
    chunks.set(1, second.toBuilder().setData(ByteString.copyFrom(data)).build());

    Status status = send(chunks);
    assertThat(status.getCode()).isEqualTo(Status.Code.DATA_LOSS);
    assertThat(status.getDescription()).contains("fails its checksum");
    assertNothingInstalledOrLeftBehind();
  }

  @Test
  void aStreamWhoseWholeChecksumFailsIsRefused() throws Exception {
    List<SnapshotChunk> chunks = chunks();
    SnapshotChunk second = chunks.get(1);
    byte[] data = second.getData().toByteArray();
    data[0] ^= 0x01; // a chunk damaged before its CRC was computed: only the whole can tell
    chunks.set(
        1,
        chunk(
            concat(chunks.get(0), data),
            (int) second.getOffset(),
            data.length + (int) second.getOffset()));

    Status status = send(chunks);
    assertThat(status.getCode()).isEqualTo(Status.Code.DATA_LOSS);
    assertNothingInstalledOrLeftBehind();
  }

  @Test
  void aChunkOutOfPlaceIsRefused() throws Exception {
    List<SnapshotChunk> chunks = chunks();
    chunks.set(1, chunks.get(1).toBuilder().setOffset(chunks.get(1).getOffset() + 1).build());
    Status status = send(chunks);
    assertThat(status.getCode()).isEqualTo(Status.Code.DATA_LOSS);
    assertThat(status.getDescription()).contains("expected");
    assertNothingInstalledOrLeftBehind();
  }

  private static byte[] concat(SnapshotChunk first, byte[] second) {
    byte[] a = first.getData().toByteArray();
    byte[] out = new byte[a.length + second.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(second, 0, out, a.length, second.length);
    return out;
  }
}
