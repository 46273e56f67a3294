package io.raftkv.storage;

/**
 * A failure of the node's durable storage: the data directory cannot be created, opened or written,
 * or holds something it should not. Unchecked because {@link
 * io.raftkv.raft.ReadyProcessor.LogStorage#persist} declares nothing; a node that gets one from a
 * write must stop (Raft's promises rest on every acknowledged write being durable), and one that
 * gets one at start must not start.
 */
public class StorageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StorageException(String message) {
    super(message);
  }

  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
