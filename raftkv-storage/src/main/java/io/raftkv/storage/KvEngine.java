package io.raftkv.storage;

import java.util.function.BiConsumer;

/**
 * Where a {@link KvStateMachine} keeps its data: the user keys and values, and its metadata records
 * (the applied state and the client sessions), written together in atomic batches. The state
 * machine's logic (operations, sessions, expiry) is the same over every engine: {@link
 * #rocks(RocksStore)} for the server, {@link MemoryKvEngine} for the deterministic simulator.
 *
 * <p>Failures are {@link StorageException}s. {@link #get} may be called from any thread
 * concurrently with a batch's {@link Batch#commit()}, and sees either none or all of it; the other
 * methods are called from the state machine's apply thread.
 */
public interface KvEngine {

  /** The engine over {@code store}'s column families {@value RocksStore#CF_KV} and kv_meta. */
  static KvEngine rocks(RocksStore store) {
    return new RocksKvEngine(store);
  }

  /** Where the data lives, for messages ("data directory /x/y" or "memory"). */
  String describe();

  /**
   * The committed value of user key {@code key}, or null.
   *
   * @throws StorageException the engine cannot be read
   */
  byte[] get(byte[] key);

  /**
   * The committed metadata record {@code key}, or null.
   *
   * @throws StorageException the engine cannot be read
   */
  byte[] getMeta(byte[] key);

  /**
   * Visits every committed metadata record whose key starts with {@code prefix}, in unsigned key
   * order.
   *
   * @throws StorageException the engine cannot be read
   */
  void scanMeta(byte prefix, BiConsumer<byte[], byte[]> visitor);

  /** Starts an atomic batch of changes. */
  Batch newBatch();

  /** Changes that become visible together at {@link #commit()}, or not at all. */
  interface Batch extends AutoCloseable {
    void put(byte[] key, byte[] value);

    void delete(byte[] key);

    void putMeta(byte[] key, byte[] value);

    void deleteMeta(byte[] key);

    /**
     * Writes the batch atomically (not necessarily durably).
     *
     * @throws StorageException nothing was written
     */
    void commit();

    /** Releases the batch (without writing it if it was not committed). */
    @Override
    void close();
  }
}
