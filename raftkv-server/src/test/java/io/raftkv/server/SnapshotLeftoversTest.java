package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a receiver killed mid-transfer leaves on disk, and its removal at the next start. */
class SnapshotLeftoversTest {

  @Test
  void theFilesOfTransfersCutShortByACrashAreRemovedAtStart(@TempDir Path dir) throws Exception {
    Path snapshots = Files.createDirectories(dir.resolve("snapshots"));
    Files.write(snapshots.resolve("incoming-8471-2.part"), new byte[1 << 20]);
    Files.write(snapshots.resolve("incoming-9000-3.snap"), new byte[10]);
    Files.write(snapshots.resolve("backup.snap"), new byte[10]);

    assertThat(SnapshotReceiver.removeLeftovers(snapshots)).isEqualTo(2);

    try (var files = Files.list(snapshots)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("backup.snap");
    }
  }

  @Test
  void aMissingDirectoryIsNothingToRemove(@TempDir Path dir) {
    assertThat(SnapshotReceiver.removeLeftovers(dir.resolve("snapshots"))).isZero();
  }
}
