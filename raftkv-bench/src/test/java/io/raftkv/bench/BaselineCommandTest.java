package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BaselineCommandTest {

  @Test
  void targetIsOneAndAHalfTimesTheSumOfMedians() {
    List<Long> fsync = List.of(300_000L, 400_000L, 5_000_000L); // median 0.4 ms
    List<Long> rtt = List.of(50_000L, 100_000L, 900_000L); // median 0.1 ms
    assertThat(BaselineCommand.target(fsync, rtt)).isEqualTo(0.75);
  }

  @Test
  void measuresEveryFsyncAndRoundTrip(@TempDir Path dir) throws Exception {
    assertThat(BaselineCommand.fsyncNanos(dir, 5, false)).hasSize(5).allMatch(n -> n > 0);
    assertThat(BaselineCommand.fsyncNanos(dir, 5, true)).hasSize(5).allMatch(n -> n > 0);
    assertThat(BaselineCommand.loopbackRoundTripNanos(20)).hasSize(20).allMatch(n -> n > 0);
    assertThat(dir.toFile().list()).isEmpty(); // the probe file is removed
  }
}
