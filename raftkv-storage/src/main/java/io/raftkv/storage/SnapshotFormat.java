package io.raftkv.storage;

import com.google.protobuf.ByteString;
import io.raftkv.proto.snapshot.SnapshotColumn;
import io.raftkv.proto.snapshot.SnapshotHeader;
import io.raftkv.proto.snapshot.SnapshotRecord;
import io.raftkv.proto.snapshot.SnapshotStreams;
import io.raftkv.proto.snapshot.SnapshotTrailer;
import java.io.IOException;
import java.io.OutputStream;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Snapshot;

/**
 * Writes the snapshot byte stream of snapshot.proto from RocksDB: magic, header, every record of
 * the two KV column families in key order, an end mark, and a trailer whose CRC32C covers every
 * byte before it. The same stream goes over the wire (in checksummed chunks) and into backup files;
 * {@link SnapshotStreams} reads and verifies it.
 *
 * <p>Thread-safety: stateless; a write reads a RocksDB snapshot, which is safe beside any writer.
 */
public final class SnapshotFormat {
  /** The record format this code writes (see {@link SnapshotStreams#FORMAT}). */
  public static final int FORMAT = SnapshotStreams.FORMAT;

  private SnapshotFormat() {}

  /**
   * Writes {@code header}, then every key of {@code data} and {@code meta} as of {@code snapshot}.
   *
   * @return the trailer written
   */
  public static SnapshotTrailer write(
      RocksDB db,
      Snapshot snapshot,
      ColumnFamilyHandle data,
      ColumnFamilyHandle meta,
      SnapshotHeader header,
      OutputStream out)
      throws IOException {
    CRC32C crc = new CRC32C();
    CheckedOutputStream checked = new CheckedOutputStream(out, crc);
    checked.write(SnapshotStreams.MAGIC);
    header.writeDelimitedTo(checked);
    long records = 0;
    long keys = 0;
    try (ReadOptions options = new ReadOptions().setSnapshot(snapshot).setFillCache(false)) {
      keys = writeColumn(db, data, options, SnapshotColumn.SNAPSHOT_COLUMN_KV, checked);
      records =
          keys + writeColumn(db, meta, options, SnapshotColumn.SNAPSHOT_COLUMN_KV_META, checked);
    }
    SnapshotStreams.END.writeDelimitedTo(checked);
    SnapshotTrailer trailer =
        SnapshotTrailer.newBuilder()
            .setRecords(records)
            .setKeys(keys)
            .setCrc32C((int) crc.getValue())
            .build();
    trailer.writeDelimitedTo(out);
    out.flush();
    return trailer;
  }

  private static long writeColumn(
      RocksDB db,
      ColumnFamilyHandle cf,
      ReadOptions options,
      SnapshotColumn column,
      OutputStream out)
      throws IOException {
    long n = 0;
    try (RocksIterator it = db.newIterator(cf, options)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        SnapshotRecord.newBuilder()
            .setColumn(column)
            .setKey(ByteString.copyFrom(it.key()))
            .setValue(ByteString.copyFrom(it.value()))
            .build()
            .writeDelimitedTo(out);
        n++;
      }
      try {
        it.status();
      } catch (RocksDBException e) {
        throw new IOException("cannot read the state machine for a snapshot: " + e, e);
      }
    }
    return n;
  }
}
