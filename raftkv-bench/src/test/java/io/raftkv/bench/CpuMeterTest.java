package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class CpuMeterTest {

  /** utime and stime are fields 14 and 15, counted after the parenthesised command name. */
  @Test
  void parsesUtimePlusStimeEvenWithSpacesInTheCommandName() {
    String stat =
        "4242 (java main) S 1 4242 4242 0 -1 4194560 9000 0 12 0 1234 567 0 0 20 0 40 0 100 0";
    assertThat(CpuMeter.parseStatTicks(stat)).isEqualTo(1234 + 567);
  }

  @Test
  void readsThisProcess() {
    assertThat(CpuMeter.ticks(ProcessHandle.current().pid())).isGreaterThanOrEqualTo(0);
  }

  @Test
  void perOpDividesByTheOperations() {
    CpuMeter.CpuUse u = new CpuMeter.CpuUse(List.of(2.0, 1.0, 1.0), 1.0);
    assertThat(u.perOp(10_000))
        .isEqualTo("CPU/op servers 0.400 ms (0.200, 0.100, 0.100) bench 0.100 ms");
    assertThat(u.perOp(0)).isEqualTo("CPU/op n/a");
  }
}
