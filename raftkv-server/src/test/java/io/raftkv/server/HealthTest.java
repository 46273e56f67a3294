package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HealthTest {
  private static final Runnable READ_OK = () -> {};

  @Test
  void aNodeThatKnowsALeaderAndWhoseLoopAndStorageAnswerIsHealthy() {
    Health h = new Health(() -> true, Runnable::run, READ_OK, 1_000);
    assertThat(h.check()).isEqualTo(Health.HEALTHY);
    assertThat(h.check().json()).isEqualTo("{\"health\":\"true\",\"reason\":\"\"}");
  }

  @Test
  void withoutALeaderTheNodeIsUnhealthyAsInEtcd() {
    Health.Result r = new Health(() -> false, Runnable::run, READ_OK, 1_000).check();
    assertThat(r.healthy()).isFalse();
    assertThat(r.json()).isEqualTo("{\"health\":\"false\",\"reason\":\"RAFT NO LEADER\"}");
  }

  @Test
  void aLoopThatDoesNotReachTheCheckInTimeMakesTheNodeUnhealthy() {
    // A loop stuck in an fsync never runs the task.
    Health.Result r = new Health(() -> true, task -> {}, READ_OK, 50).check();
    assertThat(r.healthy()).isFalse();
    assertThat(r.reason()).startsWith("NODE LOOP STALLED").contains("50 ms");
  }

  @Test
  void aFailingStorageReadMakesTheNodeUnhealthy() {
    Runnable failing =
        () -> {
          throw new IllegalStateException("rocksdb: \"IO error\"");
        };
    Health.Result r = new Health(() -> true, Runnable::run, failing, 1_000).check();
    assertThat(r.healthy()).isFalse();
    assertThat(r.json())
        .isEqualTo(
            "{\"health\":\"false\",\"reason\":\"STORAGE READ FAILED: rocksdb: \\\"IO error\\\"\"}");
  }
}
