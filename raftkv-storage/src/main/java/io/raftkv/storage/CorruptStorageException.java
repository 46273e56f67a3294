package io.raftkv.storage;

/**
 * What was read back from the data directory breaks an invariant that every write keeps (a gap in
 * the log, an entry stored under the wrong index, an unreadable record, a commit index beyond the
 * log). The node must not start from it.
 */
public final class CorruptStorageException extends StorageException {
  private static final long serialVersionUID = 1L;

  public CorruptStorageException(String message) {
    super(message);
  }

  public CorruptStorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
