package io.raftkv.storage;

import java.util.Objects;
import java.util.function.BiConsumer;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;

/**
 * {@link KvEngine} over a {@link RocksStore}: user data in column family {@value RocksStore#CF_KV},
 * metadata in kv_meta, one {@link WriteBatch} per batch, written without the WAL (the Raft log is
 * the durable record, see {@link RocksStore#stateMachineWrite()}; the batch is atomic).
 */
final class RocksKvEngine implements KvEngine {
  private final RocksStore store;

  RocksKvEngine(RocksStore store) {
    this.store = Objects.requireNonNull(store, "store");
  }

  @Override
  public String describe() {
    return "data directory " + store.directory();
  }

  @Override
  public byte[] get(byte[] key) {
    try {
      return store.db().get(store.kvColumn(), key);
    } catch (RocksDBException e) {
      throw new StorageException("cannot read from " + store.directory() + ": " + e, e);
    }
  }

  @Override
  public byte[] getMeta(byte[] key) {
    try {
      return store.db().get(store.kvMetaColumn(), key);
    } catch (RocksDBException e) {
      throw new StorageException("cannot read from " + store.directory() + ": " + e, e);
    }
  }

  @Override
  public void scanMeta(byte prefix, BiConsumer<byte[], byte[]> visitor) {
    try (RocksIterator it = store.db().newIterator(store.kvMetaColumn())) {
      for (it.seek(new byte[] {prefix}); it.isValid() && it.key()[0] == prefix; it.next()) {
        visitor.accept(it.key(), it.value());
      }
      try {
        it.status();
      } catch (RocksDBException e) {
        throw new StorageException("cannot read from " + store.directory() + ": " + e, e);
      }
    }
  }

  @Override
  public Batch newBatch() {
    return new RocksBatch();
  }

  private final class RocksBatch implements Batch {
    private final WriteBatch batch = new WriteBatch();

    @Override
    public void put(byte[] key, byte[] value) {
      try {
        batch.put(store.kvColumn(), key, value);
      } catch (RocksDBException e) {
        throw failed(e);
      }
    }

    @Override
    public void delete(byte[] key) {
      try {
        batch.delete(store.kvColumn(), key);
      } catch (RocksDBException e) {
        throw failed(e);
      }
    }

    @Override
    public void putMeta(byte[] key, byte[] value) {
      try {
        batch.put(store.kvMetaColumn(), key, value);
      } catch (RocksDBException e) {
        throw failed(e);
      }
    }

    @Override
    public void deleteMeta(byte[] key) {
      try {
        batch.delete(store.kvMetaColumn(), key);
      } catch (RocksDBException e) {
        throw failed(e);
      }
    }

    @Override
    public void commit() {
      try {
        store.db().write(store.stateMachineWrite(), batch);
      } catch (RocksDBException e) {
        throw failed(e);
      }
    }

    @Override
    public void close() {
      batch.close();
    }

    private StorageException failed(RocksDBException e) {
      return new StorageException(
          "cannot apply entries to the state machine in " + store.directory() + ": " + e, e);
    }
  }
}
