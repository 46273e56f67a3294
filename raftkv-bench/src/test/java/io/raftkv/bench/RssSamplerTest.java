package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class RssSamplerTest {
  // Trimmed from a real /proc/PID/status of a JVM: VmHWM/VmSize around it must not be taken.
  private static final String STATUS =
      String.join(
          "\n",
          "Name:\tjava",
          "State:\tS (sleeping)",
          "Pid:\t4242",
          "VmPeak:\t 5123456 kB",
          "VmSize:\t 5023456 kB",
          "VmHWM:\t  400000 kB",
          "VmRSS:\t  312576 kB",
          "RssAnon:\t  290000 kB",
          "Threads:\t42",
          "");

  @Test
  void parsesVmRssInKib() {
    assertThat(RssSampler.parseVmRssKib(STATUS)).isEqualTo(312_576L);
  }

  @Test
  void noVmRssLineIsUnknown() {
    // Kernel threads and zombies have none.
    assertThat(RssSampler.parseVmRssKib("Name:\tkthreadd\nState:\tS (sleeping)\n")).isEqualTo(-1);
  }

  @Test
  void readsThisJvmOnLinux() {
    assumeThat(Files.exists(Path.of("/proc/self/status"))).isTrue();
    long kib = RssSampler.treeRssKib(ProcessHandle.current().pid());
    assertThat(kib).isGreaterThan(10 * 1024); // a JVM is more than 10 MiB resident
    assertThat(RssSampler.rssKib(Long.MAX_VALUE)).isEqualTo(-1); // no such process
  }

  @Test
  void mergeKeepsThePeakPerServerAndRatioComparesTheLargest() {
    ServerRss a1 = new ServerRss("raftkv", true, List.of(100L * 1024, 300L * 1024), 3);
    ServerRss a2 = new ServerRss("raftkv", true, List.of(200L * 1024, 250L * 1024), 3);
    ServerRss a = a1.merge(a2);
    assertThat(a.maxKib()).containsExactly(200L * 1024, 300L * 1024);
    assertThat(a.samples()).isEqualTo(6);
    assertThat(a.maxMib()).isEqualTo(300.0);
    ServerRss etcd = new ServerRss("etcd", true, List.of(50L * 1024, 60L * 1024), 3);
    assertThat(ServerRss.ratio(a, etcd)).isEqualTo(5.0);
    String md = ServerRss.markdown(List.of(a, etcd));
    assertThat(md)
        .contains("| raftkv | 200.0, 300.0 | 300.0 |")
        .contains("| raftkv/etcd | | 5.00 |");
  }

  @Test
  void existingClustersAreNotApplicable() {
    ServerRss unknown = ServerRss.unknown("raftkv");
    ServerRss etcd = new ServerRss("etcd", true, List.of(50L * 1024), 1);
    assertThat(ServerRss.ratio(unknown, etcd)).isNaN();
    assertThat(ServerRss.markdown(List.of(unknown, etcd)))
        .contains("| raftkv | n/a | n/a |")
        .contains("| raftkv/etcd | | n/a |");
    assertThat(unknown.json()).contains("\"max_mib\": null");
  }
}
