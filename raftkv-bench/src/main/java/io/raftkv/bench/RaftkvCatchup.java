package io.raftkv.bench;

import io.raftkv.client.KvClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** {@link CatchupCluster} over a raftkv cluster bench started; local reads are DIRECT_GET. */
final class RaftkvCatchup implements CatchupCluster {
  private final RaftkvTarget target;
  private final RaftkvAdmin admin;
  private final KvClient[] readers;

  RaftkvCatchup(Path svr, int nodes, boolean keepData, List<String> svrArgs) {
    this.target = RaftkvTarget.start(svr, nodes, 8, keepData, svrArgs);
    this.admin = new RaftkvAdmin(target.endpoints());
    this.readers = new KvClient[nodes];
  }

  @Override
  public RaftkvTarget target() {
    return target;
  }

  @Override
  public int leader() {
    return admin.leader();
  }

  @Override
  public long term() {
    long term = -1;
    for (int i = 0; i < readers.length; i++) {
      var st = admin.status(i, 1000);
      term = st == null ? term : Math.max(term, st.getTerm());
    }
    return term;
  }

  @Override
  public Target.Session sessionAt(int node) {
    KvClient c = KvClient.builder(List.of(target.endpoints().get(node))).build();
    return new Target.Session() {
      @Override
      public Optional<byte[]> read(byte[] key) throws Exception {
        return c.get(key);
      }

      @Override
      public void put(byte[] key, byte[] value) throws Exception {
        c.put(key, value);
      }

      @Override
      public void append(byte[] key, byte[] value) throws Exception {
        c.append(key, value);
      }

      @Override
      public void close() {
        c.close();
      }
    };
  }

  @Override
  public String localReadName() {
    return "DIRECT_GET";
  }

  @Override
  public synchronized Optional<byte[]> localRead(int node, byte[] key) throws Exception {
    if (readers[node] == null) {
      readers[node] = localReader(target.endpoints().get(node));
    }
    return readers[node].directGet(target.endpoints().get(node), key);
  }

  /** A client for DIRECT_GETs from the node at {@code endpoint}. */
  static KvClient localReader(String endpoint) {
    // Short deadlines: a node that is still starting is asked again by the caller's loop.
    return KvClient.builder(List.of(endpoint))
        .timeout(Duration.ofSeconds(2))
        .attemptTimeout(Duration.ofSeconds(1))
        .build();
  }

  @Override
  public void stop(int node) throws Exception {
    dropReader(node);
    target.stop(node);
  }

  @Override
  public void restart(int node) throws Exception {
    // A fresh channel after the restart: the old one may sit in gRPC's reconnect backoff.
    dropReader(node);
    target.restart(node, Duration.ofSeconds(120));
  }

  private synchronized void dropReader(int node) {
    if (readers[node] != null) {
      readers[node].close();
      readers[node] = null;
    }
  }

  @Override
  public List<ServerLogs.Transfer> transfersFrom(int node, long sinceMillis) {
    return ServerLogs.raftkvTransfers(node, target.logFile(node), sinceMillis);
  }

  @Override
  public ServerLogs.Scan scanLog(int node) {
    return ServerLogs.scanRaftkv(target.logFile(node));
  }

  @Override
  public void close() {
    for (int i = 0; i < readers.length; i++) {
      dropReader(i);
    }
    admin.close();
    target.close();
  }
}
