package io.raftkv.bench;

import java.util.concurrent.TimeUnit;

/**
 * Wall-clock time in epoch milliseconds, as the trials keep it: their latency windows are cut by
 * it, and the servers' log lines (snapshot transfers) are stamped with it.
 */
final class Wall {
  private Wall() {}

  static long now() {
    return System.currentTimeMillis();
  }

  static void sleepUntil(long millis) throws InterruptedException {
    long wait = millis - now();
    if (wait > 0) {
      TimeUnit.MILLISECONDS.sleep(wait);
    }
  }
}
