package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The closed loop on simulated time: chains of futures, one operation in flight per client. */
class ClosedLoopTest {
  private static final long MS = 1_000_000;

  private final FakeTime time = new FakeTime();
  private final FakeSession.Log log = new FakeSession.Log();
  private final Recording recording = new Recording();
  private final Workload w =
      new Workload(3, 1, Duration.ofSeconds(1), Duration.ZERO, 0, 0, 100, 16, 8, 1);

  private byte[][] keys() {
    byte[][] keys = new byte[w.keys()][];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = w.key(i);
    }
    return keys;
  }

  @Test
  void eachClientSendsItsNextOperationWhenThePreviousCompletes() throws Exception {
    List<LoadClient> clients = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      clients.add(new LoadClient(new FakeSession(time, log, n -> MS), i, 8));
    }
    ClosedLoop loop = new ClosedLoop(clients, w, keys(), recording, time::nanoTime);

    loop.startChains();
    time.sleepUntil(10 * MS - 1); // operations complete at 1, 2, ... 9 ms
    loop.stop();
    time.runAll(); // the ones in flight complete; no chain goes on

    // Three clients, each sending at 0, 1, ... 9 ms (FakeSession fails on two in flight).
    assertThat(log.ops).hasSize(30);
    for (int t = 0; t < 10; t++) {
      long at = t * MS;
      assertThat(log.ops.stream().filter(o -> o.sent() == at)).hasSize(3);
    }
    OpenLoopTest.assertFromDueTime(recording.interval(OpType.PUT, null), List.of(1000L), 30);
    assertThat(loop.awaitIdle(Duration.ZERO)).isTrue();
  }

  @Test
  void aSessionThatCompletesAtOnceIsLoopedNotRecursed() {
    int[] n = {0};
    ClosedLoop[] loop = {null};
    Target.Session instant =
        new FakeSession(time, log, x -> 0) {
          @Override
          public CompletableFuture<?> putAsync(byte[] k, byte[] v) {
            if (++n[0] == 200_000) {
              loop[0].stop();
            }
            return CompletableFuture.completedFuture(null);
          }
        };
    loop[0] =
        new ClosedLoop(
            List.of(new LoadClient(instant, 1, 8)), w, keys(), recording, time::nanoTime);

    loop[0].startChains();

    assertThat(recording.interval(OpType.PUT, null).getTotalCount()).isEqualTo(200_000);
  }
}
