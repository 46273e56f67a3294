package io.raftkv.storage;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/**
 * {@link KvEngine} in memory: two sorted maps (unsigned byte order, as RocksDB's default
 * comparator), nothing durable. For the deterministic simulator, where each node instance's state
 * machine starts empty, or from a copy its last snapshot kept, and re-applies the log after it.
 * Thread-safe: a batch is committed under the engine's lock, so {@link #get} sees all of it or
 * none.
 */
public final class MemoryKvEngine implements KvEngine {
  private final TreeMap<byte[], byte[]> data = new TreeMap<>(Arrays::compareUnsigned);
  private final TreeMap<byte[], byte[]> meta = new TreeMap<>(Arrays::compareUnsigned);

  @Override
  public String describe() {
    return "memory";
  }

  @Override
  public synchronized byte[] get(byte[] key) {
    byte[] v = data.get(key);
    return v == null ? null : v.clone();
  }

  @Override
  public synchronized byte[] getMeta(byte[] key) {
    byte[] v = meta.get(key);
    return v == null ? null : v.clone();
  }

  @Override
  public void scanMeta(byte prefix, BiConsumer<byte[], byte[]> visitor) {
    List<Map.Entry<byte[], byte[]>> copy;
    synchronized (this) {
      copy = new ArrayList<>(meta.tailMap(new byte[] {prefix}, true).entrySet());
    }
    for (Map.Entry<byte[], byte[]> e : copy) {
      if (e.getKey().length == 0 || e.getKey()[0] != prefix) {
        return;
      }
      visitor.accept(e.getKey().clone(), e.getValue().clone());
    }
  }

  /** A copy of everything committed (a point-in-time image, for the simulator's snapshots). */
  public synchronized MemoryKvEngine copy() {
    MemoryKvEngine c = new MemoryKvEngine();
    c.data.putAll(data);
    c.meta.putAll(meta);
    return c;
  }

  /** Replaces everything with {@code image}'s committed contents (a snapshot installed). */
  public void replaceWith(MemoryKvEngine image) {
    MemoryKvEngine c = image.copy();
    synchronized (this) {
      data.clear();
      meta.clear();
      data.putAll(c.data);
      meta.putAll(c.meta);
    }
  }

  /** Replaces the metadata records only with {@code image}'s (for the simulator's own tests). */
  public void replaceMetaWith(MemoryKvEngine image) {
    MemoryKvEngine c = image.copy();
    synchronized (this) {
      meta.clear();
      meta.putAll(c.meta);
    }
  }

  /**
   * The bytes of every key and value stored, user data and metadata (the applied index, the client
   * sessions): the size of a snapshot of this engine before any framing.
   */
  public synchronized long imageBytes() {
    long bytes = 0;
    for (TreeMap<byte[], byte[]> m : List.of(data, meta)) {
      for (Map.Entry<byte[], byte[]> e : m.entrySet()) {
        bytes += e.getKey().length + e.getValue().length;
      }
    }
    return bytes;
  }

  /** How many user keys are stored. */
  public synchronized int size() {
    return data.size();
  }

  @Override
  public Batch newBatch() {
    return new MemoryBatch();
  }

  /** One change: to the data or the metadata map; a null value deletes. */
  private record Change(boolean isMeta, byte[] key, byte[] value) {}

  private final class MemoryBatch implements Batch {
    private final List<Change> changes = new ArrayList<>();

    @Override
    public void put(byte[] key, byte[] value) {
      changes.add(new Change(false, key.clone(), value.clone()));
    }

    @Override
    public void delete(byte[] key) {
      changes.add(new Change(false, key.clone(), null));
    }

    @Override
    public void putMeta(byte[] key, byte[] value) {
      changes.add(new Change(true, key.clone(), value.clone()));
    }

    @Override
    public void deleteMeta(byte[] key) {
      changes.add(new Change(true, key.clone(), null));
    }

    @Override
    public void commit() {
      synchronized (MemoryKvEngine.this) {
        for (Change c : changes) {
          TreeMap<byte[], byte[]> m = c.isMeta() ? meta : data;
          if (c.value() == null) {
            m.remove(c.key());
          } else {
            m.put(c.key(), c.value());
          }
        }
      }
      changes.clear();
    }

    @Override
    public void close() {
      changes.clear();
    }
  }
}
