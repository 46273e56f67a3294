package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** svr refuses a command line that could not run, with one line that says why. */
class SvrArgumentsTest {

  record Run(int code, String err) {}

  private static Run svr(String... args) {
    StringWriter err = new StringWriter();
    int code = SvrMain.run(args, new PrintWriter(err, true));
    return new Run(code, err.toString());
  }

  private static void refusedWithOneLine(Run r, String reason) {
    assertThat(r.code()).as(r.err()).isEqualTo(1);
    assertThat(r.err().lines()).as(r.err()).hasSize(1);
    assertThat(r.err()).startsWith("svr: ").contains(reason).endsWith("(see svr --help)\n");
  }

  @Test
  void aRaftAddressListedTwiceIsRefused() {
    refusedWithOneLine(
        svr("-r", "1234,1235,1234", "-i", "0", "-p", "2000"),
        "-r lists 127.0.0.1:1234 twice (nodes 0 and 2)");
  }

  @Test
  void aBarePortAndItsLoopbackAddressAreTheSameRaftAddress() {
    refusedWithOneLine(
        svr("-r", "1234,127.0.0.1:1234,1236", "-i", "0", "-p", "2000"),
        "-r lists 127.0.0.1:1234 twice");
    refusedWithOneLine(
        svr("-r", "localhost:1234,1234", "-i", "0", "-p", "2000"), "-r lists 127.0.0.1:1234 twice");
  }

  @Test
  void theSamePortOnDifferentHostsIsNotADuplicate() {
    ServerConfig c = config("10.0.0.1:1234,10.0.0.2:1234,10.0.0.3:1234", "2000");
    assertThat(c.raftPeers()).hasSize(3);
  }

  @Test
  void aKvPortThatIsSomeNodesRaftPortIsRefused() {
    refusedWithOneLine(
        svr("-r", "1234,1235,1236", "-i", "0", "-p", "1235"), "-p 1235 is node 1's raft port");
    // Its own raft port too, and a KV port bound to every interface.
    refusedWithOneLine(
        svr("-r", "1234,1235", "-i", "0", "-p", "1234"), "-p 1234 is node 0's raft port");
    refusedWithOneLine(
        svr("-r", "1234,1235", "-i", "0", "-p", "1235", "--kvs-host", "0.0.0.0"),
        "-p 1235 is node 1's raft port");
  }

  @Test
  void aKvPortOnAnotherHostThanTheRaftPortIsAllowed() {
    ServerConfig c = config("10.0.0.1:1234,10.0.0.2:1234", "1234");
    assertThat(c.kvsPort()).isEqualTo(1234);
  }

  @Test
  void anUnknownOptionPrintsOneLineNotTheUsage() {
    refusedWithOneLine(svr("-r", "1", "-i", "0", "-p", "2", "--no-such"), "--no-such");
    refusedWithOneLine(svr("-i", "0"), "Missing required option");
  }

  private static ServerConfig config(String raft, String kvsPort) {
    SvrMain m = new SvrMain();
    new picocli.CommandLine(m).parseArgs("-r", raft, "-i", "0", "-p", kvsPort);
    return m.toConfig();
  }
}
