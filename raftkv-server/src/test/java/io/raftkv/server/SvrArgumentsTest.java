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

  @Test
  void aRaftPortOffLoopbackWithoutPeerTlsIsRefusedUnlessPeerInsecure() {
    refusedWithOneLine(
        svr("-r", "10.0.0.1:1234,10.0.0.2:1234", "-i", "0", "-p", "2000"),
        "the raft address 10.0.0.1:1234 is not a loopback address and peer TLS is off");
    assertThat(config("10.0.0.1:1234,10.0.0.2:1234", "2000").security().peerInsecure()).isTrue();
  }

  @Test
  void theSeedsLoopbackCommandLineNeedsNoTlsFlags() {
    SvrMain m = new SvrMain();
    new picocli.CommandLine(m).parseArgs("-r", "1025,1026,1027", "-i", "0", "-p", "2025");
    assertThat(m.toConfig().security()).isEqualTo(Security.PLAINTEXT);
  }

  @Test
  void tlsFlagsThatCannotWorkAloneAreRefused() {
    refusedWithOneLine(
        svr("-r", "1", "-i", "0", "-p", "2", "--cert-file", "/etc/hostname"),
        "--cert-file and --key-file go together");
    refusedWithOneLine(
        svr("-r", "1", "-i", "0", "-p", "2", "--client-cert-auth"),
        "--trusted-ca-file and --client-cert-auth need TLS");
    refusedWithOneLine(
        svr(
            "-r",
            "1",
            "-i",
            "0",
            "-p",
            "2",
            "--peer-cert-file",
            "/etc/hostname",
            "--peer-key-file",
            "/etc/hostname"),
        "--peer-cert-file needs --peer-trusted-ca-file");
    refusedWithOneLine(
        svr("-r", "1", "-i", "0", "-p", "2", "--cert-file", "/nonexistent", "--key-file", "/x"),
        "--cert-file /nonexistent is not a readable file");
  }

  @Test
  void adminUsersAreCommaSeparatedNamesRootByDefaultAndNeverNone() {
    SvrMain m = new SvrMain();
    new picocli.CommandLine(m)
        .parseArgs("-r", "1025", "-i", "0", "-p", "2025", "--admin-users", "root, ops");
    assertThat(m.toConfig().security().adminUsers()).containsExactlyInAnyOrder("root", "ops");
    assertThat(Security.PLAINTEXT.adminUsers()).containsExactly("root");
    refusedWithOneLine(
        svr("-r", "1", "-i", "0", "-p", "2", "--admin-users", ""),
        "--admin-users needs one or more common names");
  }

  private static ServerConfig config(String raft, String kvsPort) {
    SvrMain m = new SvrMain();
    // Other hosts' addresses: the Raft port would not be on loopback.
    new picocli.CommandLine(m).parseArgs("-r", raft, "-i", "0", "-p", kvsPort, "--peer-insecure");
    return m.toConfig();
  }
}
