package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code build/dev/svr} as a user meets it: its help, and its answer to a bad command line. */
class SvrLauncherTest {

  private static LocalCluster.Result svr(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(LocalCluster.SVR.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).start();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("svr did not exit: " + cmd);
    }
    return new LocalCluster.Result(
        p.exitValue(),
        new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  @Test
  void helpPrintsTheUsageAndNoJvmWarning() throws Exception {
    LocalCluster.Result r = svr("--help");
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(r.out()).contains("--enable-chaos").contains("--max-value-bytes");
    assertThat(r.err()).as("the JVM's flags are consistent").doesNotContain("warning");
  }

  @Test
  void aBadArgumentPrintsOneLineThatPointsToHelp() throws Exception {
    LocalCluster.Result r = svr("-r", "2001,127.0.0.1:2001", "-i", "0", "-p", "2002");
    assertThat(r.exit()).as(r.toString()).isEqualTo(1);
    assertThat(r.out()).isEmpty();
    assertThat(r.err().lines()).as(r.toString()).hasSize(1);
    assertThat(r.err()).contains("-r lists 127.0.0.1:2001 twice").contains("see svr --help");
  }
}
