package io.raftkv.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * Loopback ports chosen free at run time, for clusters started by tests, the benchmark and the
 * nemesis. Thread-safety: stateless.
 */
public final class FreePorts {
  private FreePorts() {}

  /**
   * {@code n} distinct loopback ports that were free a moment ago. All are held open together
   * before being released, so one call never returns the same port twice: ask for every port a
   * cluster needs in one call.
   */
  public static int[] pick(int n) {
    int[] ports = new int[n];
    List<ServerSocket> held = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        held.add(s);
        ports[i] = s.getLocalPort();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find free ports", e);
    } finally {
      for (ServerSocket s : held) {
        try {
          s.close();
        } catch (IOException ignored) {
          // nothing to do
        }
      }
    }
    return ports;
  }
}
