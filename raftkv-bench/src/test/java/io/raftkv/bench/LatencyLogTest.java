package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LatencyLogTest {
  @Test
  void longestGapCountsFromTheWindowsEdgesAndIgnoresOrder() {
    // Completions at 130, 100, 160 (out of order, as several clients finish) in [100, 200).
    assertThat(LatencyLog.longestGap(new long[] {130, 100, 160}, 3, 100, 200)).isEqualTo(40);
    assertThat(LatencyLog.longestGap(new long[] {110, 120}, 2, 100, 200)).isEqualTo(80);
    assertThat(LatencyLog.longestGap(new long[0], 0, 100, 200)).isEqualTo(100);
  }

  @Test
  void aWindowReportsItsLongestGap() {
    LatencyLog log = new LatencyLog();
    for (long t : new long[] {1000, 1010, 1500, 1510, 2500}) {
      log.add(t, 1000);
    }
    LatencyLog.Window w = log.window("w", 1000, 2000);
    assertThat(w.count()).isEqualTo(4);
    assertThat(w.longestGapMillis()).isEqualTo(490);
  }
}
