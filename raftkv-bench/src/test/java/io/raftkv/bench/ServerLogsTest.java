package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerLogsTest {
  @TempDir Path dir;

  @Test
  void raftkvTransfersAndWarnings() throws Exception {
    Path log = dir.resolve("node-1.log");
    Files.write(
        log,
        List.of(
            "[0.006s][warning][gc,ergo] NewSize was set larger than initial heap size",
            "00:00:01.000 INFO  KvServer - node 1 is LEADER in term 1 (leader 1)",
            "00:00:02.500 WARN  SnapshotStreamer - snapshot 43 to node 2 failed: java.io.IOException",
            "00:00:09.000 INFO  SnapshotStreamer - sent snapshot 44 (1048576 bytes) to node 2 in"
                + " 4000 ms",
            "00:00:09.100 ERROR RaftNode - node 1 stops: boom"));
    List<ServerLogs.Transfer> ts = ServerLogs.raftkvTransfers(1, log, 0);
    assertThat(ts).hasSize(2);
    assertThat(ts.get(0).ok()).isFalse();
    ServerLogs.Transfer sent = ts.get(1);
    assertThat(sent.ok()).isTrue();
    assertThat(sent.bytes()).isEqualTo(1048576);
    assertThat(sent.endMillis() - sent.startMillis()).isEqualTo(4000);
    assertThat(sent.seconds()).isEqualTo(4.0);
    // Only what was logged at or after the given moment.
    assertThat(ServerLogs.raftkvTransfers(1, log, sent.endMillis() + 1)).isEmpty();

    ServerLogs.Scan scan = ServerLogs.scanRaftkv(log);
    assertThat(scan.warnings()).isEqualTo(1); // the JVM's [warning] line is not the server's
    assertThat(scan.errors()).isEqualTo(1);
    assertThat(scan.samples()).hasSize(2);
  }

  @Test
  void raftkvLeadershipIsTheFirstLineOfANewerTermSinceTheGivenMoment() throws Exception {
    Path log = dir.resolve("node-2.log");
    Files.write(
        log,
        List.of(
            "00:00:01.000 INFO  KvServer - node 2 is LEADER in term 3 (leader 2)",
            "00:00:02.000 INFO  KvServer - node 2 is FOLLOWER in term 4 (leader 1)",
            "00:00:03.000 INFO  KvServer - node 2 is CANDIDATE in term 5 (leader 0)",
            "00:00:03.250 INFO  KvServer - node 2 is LEADER in term 5 (leader 2)",
            "00:00:04.000 INFO  KvServer - node 2 is LEADER in term 7 (leader 2)"));
    long start = ServerLogs.localTime("00:00:00.000");
    ServerLogs.Leadership l = ServerLogs.raftkvLeadership(log, 4, start);
    assertThat(l.node()).isEqualTo(2);
    assertThat(l.term()).isEqualTo(5);
    assertThat(l.millis() - start).isEqualTo(3250);
    // The term bound and the time bound each skip what came before.
    assertThat(ServerLogs.raftkvLeadership(log, 5, start).term()).isEqualTo(7);
    assertThat(ServerLogs.raftkvLeadership(log, 4, start + 3251).term()).isEqualTo(7);
    assertThat(ServerLogs.raftkvLeadership(log, 7, start)).isNull();
    assertThat(ServerLogs.raftkvLeadership(dir.resolve("absent.log"), 0, start)).isNull();
  }

  @Test
  void etcdTransfersPairSendingWithSent() throws Exception {
    Path log = dir.resolve("m1.log");
    Files.write(
        log,
        List.of(
            "{\"level\":\"warn\",\"ts\":\"2026-11-29T21:34:34.395Z\",\"msg\":\"slow fdatasync\"}",
            "{\"level\":\"warn\",\"ts\":\"2026-11-29T21:34:34.396Z\",\"msg\":\"simple token is not"
                + " cryptographically signed\"}",
            "{\"level\":\"info\",\"ts\":\"2026-11-29T21:35:17.500Z\",\"msg\":\"sending database"
                + " snapshot\",\"bytes\":60130109}",
            "{\"level\":\"info\",\"ts\":\"2026-11-29T21:35:17.668Z\",\"msg\":\"sent database"
                + " snapshot\",\"snapshot-index\":43461,\"bytes\":60130109,\"size\":\"60 MB\"}"));
    List<ServerLogs.Transfer> ts = ServerLogs.etcdTransfers(1, log, 0);
    assertThat(ts).hasSize(1);
    assertThat(ts.get(0).ok()).isTrue();
    assertThat(ts.get(0).bytes()).isEqualTo(60130109);
    assertThat(ts.get(0).endMillis() - ts.get(0).startMillis()).isEqualTo(168);
    ServerLogs.Scan scan = ServerLogs.scanEtcd(log);
    assertThat(scan.warnings()).isEqualTo(2);
    assertThat(scan.routine()).isEqualTo(1);
    assertThat(scan.samples()).hasSize(1);
  }

  @Test
  void filesAreSortedByWhatKeptThem() {
    assertThat(DirSize.kind("node-0", "000123.sst")).isEqualTo("sst");
    assertThat(DirSize.kind("node-0", "000124.log")).isEqualTo("rocksdb wal");
    assertThat(DirSize.kind("node-0", "LOG")).isEqualTo("rocksdb info log");
    assertThat(DirSize.kind("node-0", "LOG.old.1732912345")).isEqualTo("rocksdb info log");
    assertThat(DirSize.kind("wal", "0000000000000000-0000000000000000.wal")).isEqualTo("etcd wal");
    assertThat(DirSize.kind("node-0", "db")).isEqualTo("etcd db");
    assertThat(DirSize.kind("node-0", "000000000000002a-0000000000002710.snap"))
        .isEqualTo("etcd snap");
    assertThat(DirSize.kind("wal", "0.tmp")).isEqualTo("etcd wal");
    assertThat(DirSize.kind("node-0", "MANIFEST-000005")).isEqualTo("other");
  }

  @Test
  void dirSizeCountsRegularFilesBelow() throws Exception {
    Files.createDirectories(dir.resolve("a/b"));
    Files.write(dir.resolve("a/b/000001.sst"), new byte[100]);
    Files.write(dir.resolve("a/LOG"), new byte[20]);
    assertThat(DirSize.bytes(dir)).isEqualTo(120);
    assertThat(DirSize.byKind(dir))
        .containsEntry("sst", 100L)
        .containsEntry("rocksdb info log", 20L);
    assertThat(DirSize.bytes(dir.resolve("missing"))).isEqualTo(-1);
  }
}
