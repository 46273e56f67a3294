package io.raftkv.storage;

import java.nio.file.Path;

/**
 * The data directory was created by another node or for another cluster. Nothing in it has been
 * changed: opening it as some other node would let one replica's votes and log masquerade as
 * another's, which breaks Raft's safety.
 */
public final class DataDirectoryMismatchException extends StorageException {
  private static final long serialVersionUID = 1L;

  private final transient Path directory;
  private final NodeIdentity recorded;
  private final NodeIdentity requested;

  public DataDirectoryMismatchException(
      Path directory, NodeIdentity recorded, NodeIdentity requested) {
    super(
        "data directory "
            + directory
            + " belongs to "
            + recorded
            + "; refusing to open it as "
            + requested);
    this.directory = directory;
    this.recorded = recorded;
    this.requested = requested;
  }

  public Path directory() {
    return directory;
  }

  /** The identity written into the directory when it was created. */
  public NodeIdentity recorded() {
    return recorded;
  }

  /** The identity it was asked to open as. */
  public NodeIdentity requested() {
    return requested;
  }
}
