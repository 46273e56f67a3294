package io.raftkv.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** {@link CatchupCluster} over an etcd cluster bench started; local reads are serializable. */
final class EtcdCatchup implements CatchupCluster {
  private static final GetOption SERIALIZABLE = GetOption.builder().withSerializable(true).build();

  private final EtcdTarget target;
  private final EtcdAdmin admin;
  private final Client[] readers;

  EtcdCatchup(Path etcd, int nodes, boolean keepData, List<String> etcdArgs) {
    this.target = EtcdTarget.start(etcd, nodes, 8, keepData, etcdArgs);
    this.admin = new EtcdAdmin(target.endpoints());
    this.readers = new Client[nodes];
  }

  @Override
  public EtcdTarget target() {
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
      term = st == null ? term : Math.max(term, st.getRaftTerm());
    }
    return term;
  }

  private Client client(int node) {
    return client(target.endpoints().get(node));
  }

  /** A client of the member at {@code url} alone. */
  static Client client(String url) {
    return Client.builder().endpoints(url).connectTimeout(Duration.ofSeconds(2)).build();
  }

  @Override
  public Target.Session sessionAt(int node) {
    Client c = client(node);
    return new Target.Session() {
      @Override
      public Optional<byte[]> read(byte[] key) throws Exception {
        GetResponse r =
            c.getKVClient()
                .get(ByteSequence.from(key), EtcdTarget.LINEARIZABLE)
                .get(10, TimeUnit.SECONDS);
        return r.getKvs().isEmpty()
            ? Optional.empty()
            : Optional.of(r.getKvs().get(0).getValue().getBytes());
      }

      @Override
      public void put(byte[] key, byte[] value) throws Exception {
        c.getKVClient()
            .put(ByteSequence.from(key), ByteSequence.from(value))
            .get(10, TimeUnit.SECONDS);
      }

      @Override
      public void append(byte[] key, byte[] value) {
        throw new UnsupportedOperationException("not used by the catch-up experiment");
      }

      @Override
      public void close() {
        c.close();
      }
    };
  }

  @Override
  public String localReadName() {
    return "serializable GET";
  }

  @Override
  public Optional<byte[]> localRead(int node, byte[] key) throws Exception {
    Client c;
    synchronized (this) {
      if (readers[node] == null) {
        readers[node] = client(node);
      }
      c = readers[node];
    }
    return serializableGet(c, key);
  }

  /** A serializable GET: the member {@code c} talks to answers from its own store. */
  static Optional<byte[]> serializableGet(Client c, byte[] key) throws Exception {
    GetResponse r =
        c.getKVClient().get(ByteSequence.from(key), SERIALIZABLE).get(2, TimeUnit.SECONDS);
    return r.getKvs().isEmpty()
        ? Optional.empty()
        : Optional.of(r.getKvs().get(0).getValue().getBytes());
  }

  @Override
  public void stop(int node) throws Exception {
    dropReader(node);
    target.stop(node);
  }

  @Override
  public void restart(int node) throws Exception {
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
    return ServerLogs.etcdTransfers(node, target.logFile(node), sinceMillis);
  }

  @Override
  public ServerLogs.Scan scanLog(int node) {
    return ServerLogs.scanEtcd(target.logFile(node));
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
