package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OneShotCommandTest {
  @Test
  void aRunPassesOnlyWithExitZeroAndTheValueOnALine() {
    assertThat(OneShotCommand.check(0, "oneshot-1\n", "oneshot-1")).isNull(); // clt
    assertThat(OneShotCommand.check(0, "oneshot-key\noneshot-1\n", "oneshot-1"))
        .isNull(); // etcdctl
    assertThat(OneShotCommand.check(3, "no such key\n", "oneshot-1")).contains("exit code 3");
    assertThat(OneShotCommand.check(0, "", "oneshot-1")).contains("not in the output");
    assertThat(OneShotCommand.check(0, "oneshot-12\n", "oneshot-1")).contains("not in the output");
  }

  @Test
  void tableHasOrderStatisticsAndTheRatioOfMedians() {
    OneShotCommand.Tool clt = new OneShotCommand.Tool("clt -s", List.of("clt"), Map.of());
    OneShotCommand.Tool etcdctl = new OneShotCommand.Tool("etcdctl", List.of("etcdctl"), Map.of());
    clt.nanos.addAll(List.of(300_000_000L, 100_000_000L, 200_000_000L));
    etcdctl.nanos.addAll(List.of(50_000_000L, 40_000_000L, 60_000_000L));
    etcdctl.failures.add("exit code 1");
    String t = OneShotCommand.table(List.of(clt, etcdctl));
    assertThat(t)
        .contains("| clt -s | 3 | 0 | 100.0 | 200.0 | 300.0 | 300.0 |")
        .contains("| etcdctl | 3 | 1 | 40.0 | 50.0 | 60.0 | 60.0 |")
        .contains("median clt -s / median etcdctl = 4.00");
  }

  @Test
  void aVariantIsCltPWithItsEnvironment() {
    OneShotCommand.Tool t =
        OneShotCommand.variant(
            "jdk17-nocds:RAFTKV_CLT_JAVA=java,RAFTKV_CLT_CDS=0", List.of("clt", "-p", "1"));
    assertThat(t.name).isEqualTo("clt -p jdk17-nocds");
    assertThat(t.command).containsExactly("clt", "-p", "1");
    assertThat(t.env)
        .containsExactly(Map.entry("RAFTKV_CLT_JAVA", "java"), Map.entry("RAFTKV_CLT_CDS", "0"));
    assertThat(OneShotCommand.variant("x:RAFTKV_JAVA_OPTS=-Xint -Da=b", List.of()).env)
        .containsEntry("RAFTKV_JAVA_OPTS", "-Xint -Da=b");
    assertThatThrownBy(() -> OneShotCommand.variant("RAFTKV_CLT_JAVA=java", List.of()))
        .hasMessageContaining("want NAME:VAR=VALUE");
    assertThatThrownBy(() -> OneShotCommand.variant("x:java", List.of()))
        .hasMessageContaining("'java' is not VAR=VALUE");
  }
}
