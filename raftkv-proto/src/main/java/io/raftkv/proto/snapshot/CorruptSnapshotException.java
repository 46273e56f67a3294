package io.raftkv.proto.snapshot;

import java.io.IOException;

/** A snapshot stream or file that is truncated, damaged, or not a raftkv snapshot. */
public final class CorruptSnapshotException extends IOException {
  public CorruptSnapshotException(String message) {
    super(message);
  }

  public CorruptSnapshotException(String message, Throwable cause) {
    super(message, cause);
  }
}
