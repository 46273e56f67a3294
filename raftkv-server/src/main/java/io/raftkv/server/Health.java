package io.raftkv.server;

import io.raftkv.raft.RaftConfig;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Whether this node can serve, as etcd's {@code /health} answers it: healthy only while it knows a
 * leader and its storage works. A node without a leader cannot serve a linearizable request (it
 * would wait, then time out), so a load balancer or an alert should see it as down.
 *
 * <p>"Storage works" is checked two ways. The node's loop does every fsync and every apply, and a
 * failed write stops the process (so there is no one left to answer); what is left to detect is a
 * disk that hangs: the check waits for the loop to complete a turn. Then a read of the local
 * RocksDB, as etcd's check does a local range read.
 *
 * <p>Thread-safety: {@link #check} from any thread except the node's loop (it waits for the loop).
 */
final class Health {

  /** One verdict, with etcd's body: {@code {"health":"true","reason":""}}. */
  record Result(boolean healthy, String reason) {
    String json() {
      return "{\"health\":\"" + healthy + "\",\"reason\":\"" + escape(reason) + "\"}";
    }

    private static String escape(String s) {
      StringBuilder b = new StringBuilder();
      for (char c : s.toCharArray()) {
        if (c == '"' || c == '\\') {
          b.append('\\').append(c);
        } else if (c < 0x20) {
          b.append(String.format("\\u%04x", (int) c));
        } else {
          b.append(c);
        }
      }
      return b.toString();
    }
  }

  static final Result HEALTHY = new Result(true, "");

  private final BooleanSupplier leaderKnown;
  private final Consumer<Runnable> onLoop;
  private final Runnable storageRead;
  private final long loopTimeoutMillis;

  /**
   * @param leaderKnown whether the node knows a leader now (itself included)
   * @param onLoop runs a task on the node's loop thread, after the work already queued
   * @param storageRead reads something from the local storage; throws if it cannot
   * @param loopTimeoutMillis how long the loop may take to reach a task before the node is
   *     unhealthy
   */
  Health(
      BooleanSupplier leaderKnown,
      Consumer<Runnable> onLoop,
      Runnable storageRead,
      long loopTimeoutMillis) {
    this.leaderKnown = leaderKnown;
    this.onLoop = onLoop;
    this.storageRead = storageRead;
    this.loopTimeoutMillis = loopTimeoutMillis;
  }

  /** The health of {@code node}: its loop must reach a task within a second. */
  static Health of(RaftNode<?> node, Runnable storageRead) {
    return new Health(
        () -> node.status().leaderId() != RaftConfig.NONE,
        r -> node.execute(rt -> r.run()),
        storageRead,
        1_000);
  }

  Result check() {
    if (!leaderKnown.getAsBoolean()) {
      return new Result(false, "RAFT NO LEADER");
    }
    CompletableFuture<Void> turn = new CompletableFuture<>();
    onLoop.accept(() -> turn.complete(null));
    try {
      turn.get(loopTimeoutMillis, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      return new Result(
          false,
          "NODE LOOP STALLED: no turn within "
              + loopTimeoutMillis
              + " ms (a slow or hung disk? the loop does every fsync)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(false, "INTERRUPTED");
    } catch (ExecutionException e) {
      return new Result(false, "NODE LOOP FAILED: " + e.getCause());
    }
    try {
      storageRead.run();
    } catch (RuntimeException e) {
      return new Result(false, "STORAGE READ FAILED: " + e.getMessage());
    }
    return HEALTHY;
  }
}
