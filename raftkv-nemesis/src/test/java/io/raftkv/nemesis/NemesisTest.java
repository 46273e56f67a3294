package io.raftkv.nemesis;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The short CI schedule: 5 real svr nodes, 5 recording clients, and every fault type once, in turn
 * (kill -9 of the leader and of a random node with restart, SIGSTOP/SIGCONT of the leader and of a
 * random node, leader isolated, majority/minority, ring, slow follower, slow majority), then the
 * checks. About a minute.
 */
class NemesisTest {

  @Test
  @Timeout(300)
  void shortScheduleOfEveryFaultTypeFindsNoViolation() throws Exception {
    Path root = Path.of(System.getProperty("raftkv.root", ".")).toAbsolutePath();
    Path svr = root.resolve("build/dev/svr");
    assertThat(Files.isExecutable(svr))
        .as("%s must exist (the reactor packages raftkv-server before raftkv-nemesis)", svr)
        .isTrue();
    NemesisRunner.Config config =
        new NemesisRunner.Config(
            svr,
            5,
            5,
            20261122L,
            Duration.ofSeconds(120),
            FaultType.values().length,
            true,
            Duration.ofMillis(2500),
            Duration.ofMillis(3500),
            Duration.ofMillis(1000),
            Duration.ofMillis(1500),
            Duration.ofSeconds(5),
            5,
            Duration.ofSeconds(5),
            Duration.ofSeconds(60),
            Path.of("target", "nemesis"),
            false);
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    PrintStream tee = new PrintStream(new Tee(System.out, buffer), true, StandardCharsets.UTF_8);

    NemesisRunner.Result r = new NemesisRunner(config, tee).run();
    NemesisMain.report(tee, r);
    tee.println(r.summary());

    String log = buffer.toString(StandardCharsets.UTF_8);
    assertThat(r.violations()).as("violations (history in %s)\n%s", r.historyFile(), log).isEmpty();
    assertThat(r.linearizability().isOk()).as("linearizability: %s", r.linearizability()).isTrue();
    Set<FaultType> ran = EnumSet.noneOf(FaultType.class);
    r.faults().forEach(f -> ran.add(f.type()));
    assertThat(ran).as(log).containsExactlyInAnyOrder(FaultType.values());
    assertThat(r.acknowledged()).as("acknowledged operations").isGreaterThan(500);
    assertThat(r.summary()).endsWith(", 0 violations");
  }

  /** Writes to two streams. */
  private static final class Tee extends java.io.OutputStream {
    private final java.io.OutputStream a;
    private final java.io.OutputStream b;

    Tee(java.io.OutputStream a, java.io.OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) throws java.io.IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public void write(byte[] buf, int off, int len) throws java.io.IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }

    @Override
    public void flush() throws java.io.IOException {
      a.flush();
      b.flush();
    }
  }
}
