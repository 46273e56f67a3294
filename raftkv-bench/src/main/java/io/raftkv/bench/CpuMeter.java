package io.raftkv.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * CPU time the servers (Linux /proc/PID/stat, utime + stime of the process and its descendants) and
 * this bench process used over the measured window. On a machine whose cores the servers and the
 * load generator share, throughput is bounded by CPU per operation, so this figure explains a
 * throughput ratio better than any latency does.
 */
final class CpuMeter {
  /** Clock ticks per second of /proc/PID/stat (USER_HZ; 100 on every Linux we run on). */
  static final double TICKS_PER_SECOND = 100.0;

  private final List<Long> pids;
  private final ScheduledExecutorService timer;
  private long[] startTicks;
  private long startClientNanos = -1;

  private CpuMeter(List<Long> pids) {
    this.pids = List.copyOf(pids);
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "cpu-meter");
              t.setDaemon(true);
              return t;
            });
  }

  /** Takes the first reading after {@code delay} (the warm-up). */
  static CpuMeter start(Target target, Duration delay) {
    CpuMeter m = new CpuMeter(target.serverPids());
    m.timer.schedule(m::begin, delay.toMillis(), TimeUnit.MILLISECONDS);
    return m;
  }

  private synchronized void begin() {
    startTicks = pids.stream().mapToLong(CpuMeter::treeTicks).toArray();
    startClientNanos = clientNanos();
  }

  /** The CPU used since the first reading; call before the servers stop. */
  synchronized CpuUse stop() {
    timer.shutdownNow();
    if (startClientNanos < 0) {
      return CpuUse.UNKNOWN;
    }
    List<Double> servers = new ArrayList<>();
    for (int i = 0; i < pids.size(); i++) {
      long end = treeTicks(pids.get(i));
      servers.add(
          end < 0 || startTicks[i] < 0 ? Double.NaN : (end - startTicks[i]) / TICKS_PER_SECOND);
    }
    long client = clientNanos();
    return new CpuUse(servers, client < 0 ? Double.NaN : (client - startClientNanos) / 1e9);
  }

  private static long clientNanos() {
    return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
  }

  /** utime + stime of a process and its descendants in clock ticks; -1 when unreadable. */
  static long treeTicks(long pid) {
    return ProcessTree.sum(pid, CpuMeter::ticks);
  }

  static long ticks(long pid) {
    try {
      return parseStatTicks(Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * utime + stime (fields 14 and 15) of a /proc/PID/stat line. The command name (field 2) is in
   * parentheses and may hold spaces, so fields are counted after its closing parenthesis.
   */
  static long parseStatTicks(String stat) {
    String rest = stat.substring(stat.lastIndexOf(')') + 2);
    String[] f = rest.trim().split("\\s+");
    // rest starts at field 3 (state): utime is field 14 -> index 11, stime field 15 -> index 12.
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /**
   * @param serverSeconds per server, CPU seconds over the window (NaN if unreadable)
   * @param clientSeconds the load generator's own CPU seconds (NaN if unknown)
   */
  record CpuUse(List<Double> serverSeconds, double clientSeconds) {
    static final CpuUse UNKNOWN = new CpuUse(List.of(), Double.NaN);

    CpuUse {
      serverSeconds = List.copyOf(serverSeconds);
    }

    double serversTotal() {
      return serverSeconds.isEmpty()
          ? Double.NaN
          : serverSeconds.stream().mapToDouble(Double::doubleValue).sum();
    }

    /** "CPU/op servers 0.41 ms (0.20, 0.10, 0.11), bench 0.15 ms" for {@code ops} operations. */
    String perOp(long ops) {
      if (ops <= 0) {
        return "CPU/op n/a";
      }
      String each =
          serverSeconds.stream()
              .map(s -> ms(s * 1000 / ops))
              .collect(Collectors.joining(", ", "(", ")"));
      return "CPU/op servers "
          + ms(serversTotal() * 1000 / ops)
          + " ms "
          + (serverSeconds.isEmpty() ? "" : each + " ")
          + "bench "
          + ms(clientSeconds * 1000 / ops)
          + " ms";
    }

    private static String ms(double v) {
      return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.3f", v);
    }
  }
}
