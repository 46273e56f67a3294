package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.raftkv.proto.raft.RaftMessage;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Chaos faults through the real gRPC peer transport, node 0 sending to node 1 on loopback. */
class PeerTransportChaosTest {
  private record Arrival(long sequence, long nanos) {}

  private final List<Arrival> arrived = new CopyOnWriteArrayList<>();
  private Chaos senderChaos;
  private Chaos receiverChaos;
  private Server server;
  private PeerTransport transport;

  @BeforeEach
  void start() throws Exception {
    SplittableRandom r = new SplittableRandom(11);
    senderChaos = new Chaos(0, List.of(0, 1), r::nextDouble);
    receiverChaos = new Chaos(1, List.of(0, 1), new SplittableRandom(12)::nextDouble);
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new RaftTransportService(
                    1,
                    m -> arrived.add(new Arrival(m.getTerm(), System.nanoTime())),
                    receiverChaos,
                    new Metrics(List.of(0, 1)),
                    q -> io.raftkv.proto.raft.DataHolderAnswer.getDefaultInstance()))
            .build()
            .start();
    transport =
        new PeerTransport(
            0,
            Map.of(
                0,
                new PeerAddress("127.0.0.1", 1),
                1,
                new PeerAddress("127.0.0.1", server.getPort())),
            10_000,
            senderChaos,
            new Metrics(List.of(0, 1)),
            PeerChannels.plaintext(0, "test"));
  }

  @AfterEach
  void stop() throws Exception {
    transport.close();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
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

  private List<Long> sequences() {
    return arrived.stream().map(Arrival::sequence).toList();
  }

  @Test
  void delayedMessagesArriveLateAndInOrderEvenWhenTheDelayShrinks() throws Exception {
    send(0, 1); // open the stream first
    await(() -> arrived.size() == 1);
    arrived.clear();
    senderChaos.apply(false, Map.of(1, new Chaos.Fault(0, 0, 200, false)));
    long t0 = System.nanoTime();
    send(1, 51);
    senderChaos.apply(true, Map.of());
    send(51, 101); // no delay now, but must not overtake the delayed ones
    await(() -> arrived.size() == 100);
    assertThat(sequences()).isSorted().hasSize(100).doesNotHaveDuplicates();
    assertThat(arrived.get(0).nanos() - t0)
        .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(190));
  }

  @Test
  void outboundDropsAreSilentAndCounted() throws Exception {
    senderChaos.apply(false, Map.of(1, new Chaos.Fault(0.5, 0, 0, false)));
    send(0, 1000);
    long dropped = senderChaos.counters(1).droppedOut.sum();
    assertThat(dropped).isBetween(400L, 600L);
    await(() -> arrived.size() == 1000 - dropped);
    Thread.sleep(100);
    assertThat(arrived).hasSize((int) (1000 - dropped));
    assertThat(sequences()).isSorted();
    assertThat(transport.sentCount(1)).isEqualTo(1000 - dropped);
  }

  @Test
  void inboundDropsAndCutsDiscardOnArrival() throws Exception {
    receiverChaos.apply(false, Map.of(0, new Chaos.Fault(0, 0.25, 0, false)));
    send(0, 400);
    await(
        () ->
            receiverChaos.counters(0).received.sum() == 400
                && arrived.size() == 400 - receiverChaos.counters(0).droppedIn.sum());
    long droppedIn = receiverChaos.counters(0).droppedIn.sum();
    assertThat(droppedIn).isBetween(60L, 140L);

    arrived.clear();
    receiverChaos.apply(true, Map.of(0, new Chaos.Fault(0, 0, 0, true)));
    send(400, 500);
    await(() -> receiverChaos.counters(0).received.sum() == 500);
    assertThat(arrived).isEmpty();

    receiverChaos.apply(true, Map.of());
    send(500, 510);
    await(() -> arrived.size() == 10);
  }
}
