package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.raftkv.proto.raft.DataHolderAnswer;
import io.raftkv.proto.raft.RaftMessage;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A peer that was down hears what is sent once it is back, not what was queued while it was gone
 * (issue 10: a restarted follower got the appends of the entries its leader had since compacted,
 * instead of the snapshot, and filled its disk with them).
 */
class PeerTransportReconnectTest {
  private final List<Long> arrived = new CopyOnWriteArrayList<>();
  private Server server;
  private PeerTransport transport;

  @AfterEach
  void stop() throws Exception {
    if (transport != null) {
      transport.close();
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void messagesQueuedForAPeerThatIsDownAreDroppedNotDeliveredWhenItReturns() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // nothing listens there until the peer "restarts" below
    }
    transport = transport(port, 10_000);
    send(0, 100);
    await(() -> transport.droppedCount(1) == 100);

    server = peer(port);
    // As Raft does, keep sending: a message sent while a connection attempt that began before the
    // peer was back is still failing is dropped too.
    long[] next = {100};
    await(
        () -> {
          send(next[0], ++next[0]);
          return !arrived.isEmpty();
        });
    assertThat(arrived).allMatch(sequence -> sequence >= 100);
  }

  @Test
  void queuedMessagesAreBoundedInBytesAsWellAsInNumber() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    transport = transport(port, 10_000);
    // 80 messages of 1 MiB while nothing listens: at most 64 MiB of them may wait in the queue.
    byte[] mib = new byte[1 << 20];
    new SplittableRandom(1).nextBytes(mib);
    List<RaftMessage> big = new ArrayList<>();
    for (int i = 0; i < 80; i++) {
      big.add(
          RaftMessage.newBuilder()
              .setFrom(0)
              .setTo(1)
              .setTerm(i)
              .setAppendRequest(
                  io.raftkv.proto.raft.AppendEntriesRequest.newBuilder()
                      .addEntries(
                          io.raftkv.proto.raft.Entry.newBuilder()
                              .setIndex(i + 1)
                              .setData(com.google.protobuf.ByteString.copyFrom(mib))))
              .build());
    }
    transport.send(big);
    // Dropped either for the byte bound at once, or all of them when the connection attempt fails:
    // at least the 80 - 64 over the bound, whatever the attempt's timing.
    assertThat(transport.droppedCount(1)).isGreaterThanOrEqualTo(80 - 64 + 1);
  }

  private PeerTransport transport(int peerPort, int queue) {
    return new PeerTransport(
        0,
        Map.of(0, new PeerAddress("127.0.0.1", 1), 1, new PeerAddress("127.0.0.1", peerPort)),
        queue,
        new Chaos(0, List.of(0, 1), new SplittableRandom(11)::nextDouble),
        new Metrics(List.of(0, 1)),
        PeerChannels.plaintext(0, "test"));
  }

  private Server peer(int port) throws Exception {
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .addService(
            new RaftTransportService(
                1,
                m -> arrived.add(m.getTerm()),
                new Chaos(1, List.of(0, 1), new SplittableRandom(12)::nextDouble),
                new Metrics(List.of(0, 1)),
                q -> DataHolderAnswer.getDefaultInstance()))
        .build()
        .start();
  }

  private void send(long from, long to) {
    List<RaftMessage> batch = new ArrayList<>();
    for (long i = from; i < to; i++) {
      batch.add(RaftMessage.newBuilder().setFrom(0).setTo(1).setTerm(i).build());
    }
    transport.send(batch);
  }

  private static void await(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("timed out").isLessThan(deadline);
      Thread.sleep(5);
    }
  }
}
