package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class IdleCommandTest {
  @Test
  void theTableGivesEachSystemsMeansAndTheirRatios() {
    List<IdleCommand.Member> members =
        List.of(
            new IdleCommand.Member("raftkv", 0, 3.0, 100),
            new IdleCommand.Member("raftkv", 1, 1.0, 60),
            new IdleCommand.Member("etcd", 0, 1.0, 40),
            new IdleCommand.Member("etcd", 1, 1.0, 40));
    String table = IdleCommand.table(members);
    assertThat(table)
        .contains("| raftkv | 0 | 3.00 | 100.0 |")
        .contains("| raftkv | mean | 2.00 | 80.0 |")
        .contains("| etcd | mean | 1.00 | 40.0 |")
        .contains("raftkv/etcd: CPU 2.00x, RSS 2.00x");
  }
}
