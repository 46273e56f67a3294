package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.client.KvClient;
import io.raftkv.testkit.FreePorts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backups and restores with real processes: {@code clt snapshot save} of a running cluster, {@code
 * clt snapshot status}, a new cluster started from the backup with {@code svr --restore}, and the
 * refusals (a damaged file, a non-empty data directory) that touch nothing.
 */
class BackupRestoreTest {

  private static KvClient client(LocalCluster c) {
    return KvClient.builder(List.of(c.kvsList().split(",")))
        .timeout(Duration.ofSeconds(60))
        .build();
  }

  @Test
  void aNewClusterStartsFromABackupOfTheCommittedState(@TempDir Path dir) throws Exception {
    Path backup = dir.resolve("backup.snap");
    // The new cluster runs on other addresses, so it names its cluster id: a snapshot is refused
    // by a node of another cluster (the default id is derived from the -r addresses).
    try (LocalCluster a = new LocalCluster(3, dir.resolve("a"), "--cluster-id", "prod");
        KvClient ka = clientAfterStart(a)) {
      for (int i = 0; i < 50; i++) {
        ka.put("k" + i, "v" + i);
      }
      LocalCluster.Result save =
          LocalCluster.run(List.of("snapshot", "save", backup.toString(), "-s", a.kvsList()));
      assertThat(save.exit()).as(save + "\n" + a.logs()).isZero();
      assertThat(save.out()).contains("50 keys");
    }
    LocalCluster.Result status = LocalCluster.run(List.of("snapshot", "status", backup.toString()));
    assertThat(status.exit()).as(status.toString()).isZero();
    assertThat(status.out()).contains("50 keys").contains("cluster prod");

    try (LocalCluster b =
            new LocalCluster(
                3, dir.resolve("b"), "--cluster-id", "prod", "--restore", backup.toString());
        KvClient kb = clientAfterStart(b)) {
      for (int i = 0; i < 50; i++) {
        assertThat(kb.get("k" + i)).as(b.logs()).contains("v" + i);
      }
      kb.put("after", "restore");
      assertThat(kb.get("after")).contains("restore");
    }
  }

  /**
   * The runbook "A majority is lost" (docs/operations.md): with two of three nodes gone for good
   * the survivor cannot commit (a write fails, saying so), still reports its applied index, and the
   * last backup restored into a new cluster serves everything up to the backup; what was written
   * after it is lost, as the runbook says.
   */
  @Test
  void aClusterThatLostItsMajorityIsRebuiltFromItsLastBackup(@TempDir Path dir) throws Exception {
    Path backup = dir.resolve("backup.snap");
    try (LocalCluster a = new LocalCluster(3, dir.resolve("a"), "--cluster-id", "prod");
        KvClient ka = clientAfterStart(a)) {
      for (int i = 0; i < 10; i++) {
        ka.put("k" + i, "v" + i);
      }
      assertThat(
              LocalCluster.run(List.of("snapshot", "save", backup.toString(), "-s", a.kvsList()))
                  .exit())
          .isZero();
      ka.put("late", "after the backup");
      int survivor = a.findLeader();
      for (int i = 0; i < a.size; i++) {
        if (i != survivor) {
          a.kill(i);
        }
      }
      LocalCluster.Result write =
          a.clt(survivor, "-o", "PUT", "-k", "lost", "-v", "x", "--timeout-ms", "3000");
      assertThat(write.exit()).as(write.toString()).isEqualTo(4);
      LocalCluster.Result status =
          LocalCluster.run(List.of("status", "-p", Integer.toString(a.kvsPorts[survivor])));
      assertThat(status.exit()).as(status.toString()).isZero();
      assertThat(status.out()).contains("APPLIED");
    }

    try (LocalCluster b =
            new LocalCluster(
                3, dir.resolve("b"), "--cluster-id", "prod", "--restore", backup.toString());
        KvClient kb = clientAfterStart(b)) {
      for (int i = 0; i < 10; i++) {
        assertThat(kb.get("k" + i)).as(b.logs()).contains("v" + i);
      }
      assertThat(kb.get("late")).as("written after the backup: lost").isEmpty();
      kb.put("rebuilt", "yes");
      assertThat(kb.get("rebuilt")).contains("yes");
    }
  }

  @Test
  void aDamagedBackupIsRefusedAndNothingIsCreated(@TempDir Path dir) throws Exception {
    Path backup = dir.resolve("backup.snap");
    try (LocalCluster a = new LocalCluster(3, dir.resolve("a"), "--cluster-id", "prod");
        KvClient ka = clientAfterStart(a)) {
      ka.put("x", "1");
      assertThat(
              LocalCluster.run(List.of("snapshot", "save", backup.toString(), "-s", a.kvsList()))
                  .exit())
          .isZero();
    }
    byte[] bytes = Files.readAllBytes(backup);
    bytes[bytes.length / 2] ^= 0x01;
    Path bad = dir.resolve("bad.snap");
    Files.write(bad, bytes);

    LocalCluster.Result status = LocalCluster.run(List.of("snapshot", "status", bad.toString()));
    assertThat(status.exit()).isEqualTo(1);
    assertThat(status.err()).contains("not a valid snapshot");

    Path data = dir.resolve("new-node");
    Svr svr = svr(dir, "--data-dir", data.toString(), "--restore", bad.toString());
    assertThat(svr.exit).as(svr.err).isEqualTo(1);
    assertThat(svr.err.strip().lines()).hasSize(1);
    assertThat(svr.err).contains("not a valid snapshot");
    assertThat(data).doesNotExist();

    // A truncated file, and another cluster's snapshot, are refused the same way.
    Path cut = dir.resolve("cut.snap");
    Files.write(cut, java.util.Arrays.copyOf(Files.readAllBytes(backup), 40));
    Svr truncated = svr(dir, "--data-dir", data.toString(), "--restore", cut.toString());
    assertThat(truncated.exit).as(truncated.err).isEqualTo(1);
    assertThat(truncated.err).contains("truncated");
    assertThat(data).doesNotExist();
    Svr other =
        svr(
            dir,
            "--data-dir",
            data.toString(),
            "--cluster-id",
            "staging",
            "--restore",
            backup.toString());
    assertThat(other.exit).as(other.err).isEqualTo(1);
    assertThat(other.err).contains("cluster 'prod'");
    assertThat(data).doesNotExist();

    // A data directory that is not empty is refused too, and left as it was.
    Files.createDirectories(data);
    Files.writeString(data.resolve("keep-me"), "x");
    Svr again = svr(dir, "--data-dir", data.toString(), "--restore", backup.toString());
    assertThat(again.exit).as(again.err).isEqualTo(1);
    assertThat(again.err).contains("not empty");
    try (var files = Files.list(data)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("keep-me");
    }
  }

  private static KvClient clientAfterStart(LocalCluster c) throws IOException {
    c.startAll(0);
    return client(c);
  }

  private record Svr(int exit, String err) {}

  /**
   * Runs svr (which must exit at once) as node 0 of a one-node cluster on free ports, in cluster
   * "prod" unless the arguments name another.
   */
  private static Svr svr(Path dir, String... args) throws Exception {
    int[] ports = FreePorts.pick(2);
    List<String> cmd = new ArrayList<>();
    cmd.add(LocalCluster.SVR.toString());
    cmd.addAll(List.of("-r", "" + ports[0], "-i", "0", "-p", "" + ports[1]));
    if (!List.of(args).contains("--cluster-id")) {
      cmd.addAll(List.of("--cluster-id", "prod"));
    }
    cmd.addAll(List.of(args));
    Process p =
        new ProcessBuilder(cmd)
            .directory(dir.toFile())
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    // stdout discarded (its JVM log lines), stderr read: the one line we check
    byte[] err = p.getErrorStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("svr did not exit: " + cmd);
    }
    String text =
        new String(err, StandardCharsets.UTF_8)
            .lines()
            .filter(l -> !l.contains("gc,ergo"))
            .reduce("", (x, y) -> x + y + "\n");
    return new Svr(p.exitValue(), text);
  }
}
