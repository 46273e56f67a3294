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
 * random node, leader isolated, majority/minority, ring, slow follower, slow majority, a follower
 * stopped until the leader compacted past it, kill -9 of a snapshot's sender and of its receiver
 * mid-transfer), then the checks. The nodes snapshot every 200 entries, so the other faults meet
 * snapshots too. About a minute and a half.
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
            // Snapshots every 200 entries as in build/dev/nemesis, transfers of about a second.
            new NemesisRunner.Snapshots(200, 50, 2 << 20, 30_000, 2 << 20),
            Set.of());
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    PrintStream tee = new PrintStream(new Tee(System.out, buffer), true, StandardCharsets.UTF_8);

    NemesisRunner.Result r = new NemesisRunner(config, tee).run();
    NemesisMain.report(tee, r);
    tee.println(r.summary());

    String log = buffer.toString(StandardCharsets.UTF_8);
    assertThat(r.violations()).as("violations (history in %s)\n%s", r.historyFile(), log).isEmpty();
    assertThat(r.disturbances()).as("nodes killed from outside the test").isEmpty();
    assertThat(r.linearizability().isOk()).as("linearizability: %s", r.linearizability()).isTrue();
    Set<FaultType> ran = EnumSet.noneOf(FaultType.class);
    r.faults().forEach(f -> ran.add(f.type()));
    assertThat(ran).as(log).containsExactlyInAnyOrder(FaultType.values());
    assertThat(r.acknowledged()).as("acknowledged operations").isGreaterThan(500);
    // The snapshot faults did what they are for: each lagging follower caught up through a
    // snapshot, and each kill landed while a transfer was in flight.
    for (NemesisRunner.FaultRecord f : r.faults()) {
      if (f.type().needsCompaction()) {
        assertThat(f.snapshot().caughtUpBySnapshot()).as("fault %s\n%s", f, log).isTrue();
        if (f.type() != FaultType.STOP_FOLLOWER_PAST_COMPACTION) {
          assertThat(f.snapshot().killedMidTransfer()).as("fault %s\n%s", f, log).isTrue();
        }
      }
    }
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
