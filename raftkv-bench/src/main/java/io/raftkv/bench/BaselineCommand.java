package io.raftkv.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * bench baseline: what the machine itself costs a replicated write, measured the way the target
 * "single-client write p50 within 1.5x (fsync median + loopback round trip)" defines it. A write to
 * a Raft group needs at least one durable log write and one network round trip between replicas;
 * everything above that is the implementation's overhead.
 */
@Command(
    name = "baseline",
    mixinStandardHelpOptions = true,
    description = {
      "Measure the machine's fsync latency (4 KiB write + fdatasync, appending to a new file and"
          + " overwriting a preallocated one) in the temp directory's file system, and the"
          + " loopback TCP round trip (1 byte each way, TCP_NODELAY). Prints p50/p90/p99 and the"
          + " single-client write target 1.5 x (fsync p50 + round trip p50)."
    })
final class BaselineCommand implements Callable<Integer> {
  @Option(
      names = "--fsyncs",
      defaultValue = "1000",
      description = "fsyncs per pattern (default ${DEFAULT-VALUE}).")
  int fsyncs;

  @Option(
      names = "--round-trips",
      defaultValue = "5000",
      description = "Loopback round trips (default ${DEFAULT-VALUE}).")
  int roundTrips;

  @Option(
      names = "--dir",
      description =
          "Directory on the file system to measure (default: java.io.tmpdir, where"
              + " bench puts the clusters' data).")
  Path dir;

  @Override
  public Integer call() throws Exception {
    Path where = dir != null ? dir : Path.of(System.getProperty("java.io.tmpdir"));
    List<Long> append = fsyncNanos(where, fsyncs, false);
    List<Long> overwrite = fsyncNanos(where, fsyncs, true);
    List<Long> rtt = loopbackRoundTripNanos(roundTrips);
    System.out.printf(
        Locale.ROOT,
        "baseline in %s, load average %s%n%n",
        where.toAbsolutePath(),
        BenchMain.loadAverage());
    System.out.println("| what | n | p50 ms | p90 ms | p99 ms |");
    System.out.println("|---|---:|---:|---:|---:|");
    row("fsync, 4 KiB appended + fdatasync", append);
    row("fsync, 4 KiB overwritten + fdatasync", overwrite);
    row("loopback TCP round trip, 1 byte", rtt);
    System.out.printf(
        Locale.ROOT,
        "%nsingle-client write target, 1.5 x (fsync p50 + round trip p50): %.3f ms (appending"
            + " fsync), %.3f ms (overwriting fsync)%n",
        target(append, rtt),
        target(overwrite, rtt));
    return 0;
  }

  /** 1.5 x (fsync median + round trip median), in milliseconds. */
  static double target(List<Long> fsyncNanos, List<Long> rttNanos) {
    return 1.5
        * (Percentiles.percentile(fsyncNanos, 50) + Percentiles.percentile(rttNanos, 50))
        / 1e6;
  }

  private static void row(String what, List<Long> nanos) {
    System.out.printf(
        Locale.ROOT,
        "| %s | %d | %.3f | %.3f | %.3f |%n",
        what,
        nanos.size(),
        Percentiles.percentile(nanos, 50) / 1e6,
        Percentiles.percentile(nanos, 90) / 1e6,
        Percentiles.percentile(nanos, 99) / 1e6);
  }

  /**
   * Times {@code n} rounds of a 4 KiB positional write followed by fdatasync ({@code
   * FileChannel.force(false)}). Appending grows the file, so the file system must also commit its
   * new size; overwriting a preallocated file (as a recycled write-ahead log does) need not.
   */
  static List<Long> fsyncNanos(Path dir, int n, boolean overwrite) throws IOException {
    Path file = Files.createTempFile(dir, "bench-fsync-", ".dat");
    ByteBuffer block = ByteBuffer.allocateDirect(4096);
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      if (overwrite) {
        for (int i = 0; i < n; i++) {
          block.clear();
          ch.write(block, (long) i * 4096);
        }
        ch.force(true);
      }
      List<Long> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        block.clear();
        long t0 = System.nanoTime();
        ch.write(block, (long) i * 4096);
        ch.force(false);
        out.add(System.nanoTime() - t0);
      }
      return out;
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** Times {@code n} one-byte ping-pongs over a loopback TCP connection with TCP_NODELAY. */
  static List<Long> loopbackRoundTripNanos(int n) throws IOException, InterruptedException {
    InetAddress lo = InetAddress.getLoopbackAddress();
    try (ServerSocket server = new ServerSocket()) {
      server.bind(new InetSocketAddress(lo, 0));
      Thread echo =
          new Thread(
              () -> {
                try (Socket s = server.accept()) {
                  s.setTcpNoDelay(true);
                  InputStream in = s.getInputStream();
                  OutputStream out = s.getOutputStream();
                  for (int b; (b = in.read()) >= 0; ) {
                    out.write(b);
                  }
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              },
              "loopback-echo");
      echo.setDaemon(true);
      echo.start();
      List<Long> out = new ArrayList<>(n);
      try (Socket c = new Socket(lo, server.getLocalPort())) {
        c.setTcpNoDelay(true);
        InputStream in = c.getInputStream();
        OutputStream os = c.getOutputStream();
        for (int i = 0; i < n; i++) {
          long t0 = System.nanoTime();
          os.write(1);
          if (in.read() < 0) {
            throw new IOException("echo closed");
          }
          out.add(System.nanoTime() - t0);
        }
      }
      echo.join(1000);
      return out;
    }
  }
}
