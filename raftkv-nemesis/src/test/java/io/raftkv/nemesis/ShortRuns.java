package io.raftkv.nemesis;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

/**
 * The short nemesis schedules the tests run: real {@code build/dev/svr} nodes, holds of 2-2.5 s,
 * quiet spells of 0.7-1 s, and snapshots every 200 entries as in {@code build/dev/nemesis}, with
 * transfers of about a second; the fault types in turn. A run's lines go to stdout and are kept for
 * the assertions' messages.
 */
final class ShortRuns {
  private ShortRuns() {}

  /** What a run found, and everything it printed. */
  record Run(NemesisRunner.Result result, String log) {}

  /** {@code faults} faults of the types {@code only} (all if empty), in turn. */
  static NemesisRunner.Config config(long seed, int faults, Set<FaultType> only) {
    Path root = Path.of(System.getProperty("raftkv.root", ".")).toAbsolutePath();
    Path svr = root.resolve("build/dev/svr");
    assertThat(Files.isExecutable(svr))
        .as("%s must exist (the reactor packages raftkv-server before raftkv-nemesis)", svr)
        .isTrue();
    return new NemesisRunner.Config(
        svr,
        5,
        5,
        seed,
        Duration.ofSeconds(120),
        faults,
        true,
        Duration.ofMillis(2000),
        Duration.ofMillis(2500),
        Duration.ofMillis(700),
        Duration.ofMillis(1000),
        Duration.ofSeconds(5),
        5,
        Duration.ofSeconds(5),
        Duration.ofSeconds(60),
        Path.of("target", "nemesis"),
        false,
        new NemesisRunner.Snapshots(200, 50, 2 << 20, 30_000, 2 << 20),
        only,
        false);
  }

  /** Runs {@code config} and prints the report as build/dev/nemesis does. */
  static Run run(NemesisRunner.Config config) throws IOException {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    PrintStream tee = new PrintStream(new Tee(System.out, buffer), true, StandardCharsets.UTF_8);
    NemesisRunner.Result r = new NemesisRunner(config, tee).run();
    NemesisMain.report(tee, r);
    tee.println(r.summary());
    return new Run(r, buffer.toString(StandardCharsets.UTF_8));
  }

  /** Writes to two streams. */
  private static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) throws IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public void write(byte[] buf, int off, int len) throws IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }

    @Override
    public void flush() throws IOException {
      a.flush();
      b.flush();
    }
  }
}
