package io.raftkv.proto.snapshot;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;

/**
 * Reads and verifies the snapshot byte stream of snapshot.proto: magic, header, records, end mark
 * and a trailer whose CRC32C covers every byte before it. Beside the generated classes so that
 * every reader (the server staging a snapshot, {@code clt snapshot}) checks a stream the same way;
 * the writer, which reads RocksDB, is the storage module's {@code SnapshotFormat}.
 *
 * <p>Thread-safety: stateless.
 */
public final class SnapshotStreams {
  /** The first 8 bytes of every snapshot. */
  public static final byte[] MAGIC = "RKVSNAP1".getBytes(StandardCharsets.US_ASCII);

  /** The record format this code writes and reads. */
  public static final int FORMAT = 1;

  /** An empty record (column unspecified) ends the records; the trailer follows. */
  public static final SnapshotRecord END = SnapshotRecord.getDefaultInstance();

  private SnapshotStreams() {}

  /** Where a reader puts the records it verified. */
  public interface RecordSink {
    void accept(SnapshotRecord record) throws IOException;
  }

  /** What a read found: the header, the trailer, and how many bytes the stream had. */
  public record Summary(SnapshotHeader header, SnapshotTrailer trailer, long bytes) {}

  /**
   * Reads a whole snapshot stream, handing each record to {@code sink}, and checks it: the magic, a
   * readable header of a known format, the trailer's checksum and counts.
   *
   * @throws CorruptSnapshotException the stream is truncated, damaged or not a snapshot; the sink
   *     may have seen records of it, which the caller discards
   */
  public static Summary read(InputStream in, RecordSink sink) throws IOException {
    CRC32C crc = new CRC32C();
    CountingInput counting = new CountingInput(in);
    CheckedInputStream checked = new CheckedInputStream(counting, crc);
    byte[] magic = checked.readNBytes(MAGIC.length);
    if (!Arrays.equals(magic, MAGIC)) {
      throw new CorruptSnapshotException("not a raftkv snapshot (bad magic)");
    }
    SnapshotHeader header = parse(() -> SnapshotHeader.parseDelimitedFrom(checked), "header");
    if (header.getFormat() != FORMAT) {
      throw new CorruptSnapshotException(
          "snapshot format " + header.getFormat() + "; this build reads format " + FORMAT);
    }
    long records = 0;
    long keys = 0;
    while (true) {
      SnapshotRecord r = parse(() -> SnapshotRecord.parseDelimitedFrom(checked), "record");
      if (r.getColumn() == SnapshotColumn.SNAPSHOT_COLUMN_UNSPECIFIED) {
        break;
      }
      if (r.getColumn() == SnapshotColumn.SNAPSHOT_COLUMN_KV) {
        keys++;
      } else if (r.getColumn() != SnapshotColumn.SNAPSHOT_COLUMN_KV_META) {
        throw new CorruptSnapshotException("a record has an unknown column " + r.getColumnValue());
      }
      records++;
      sink.accept(r);
    }
    int computed = (int) crc.getValue();
    SnapshotTrailer trailer = readTrailer(counting);
    if (trailer.getCrc32C() != computed) {
      throw new CorruptSnapshotException(
          String.format(
              "checksum mismatch: the snapshot says %08x, its bytes give %08x",
              trailer.getCrc32C(), computed));
    }
    if (trailer.getRecords() != records || trailer.getKeys() != keys) {
      throw new CorruptSnapshotException(
          "the snapshot says "
              + trailer.getRecords()
              + " records, "
              + trailer.getKeys()
              + " keys; it holds "
              + records
              + ", "
              + keys);
    }
    if (counting.read() != -1) {
      throw new CorruptSnapshotException("bytes after the snapshot's trailer");
    }
    return new Summary(header, trailer, counting.count);
  }

  /**
   * The trailer, outside the checksum, is read strictly: exactly the bytes its length prefix
   * announces (a parser reading up to the end of the stream would accept a damaged prefix).
   */
  private static SnapshotTrailer readTrailer(InputStream in) throws IOException {
    int first = in.read();
    if (first < 0) {
      throw new CorruptSnapshotException("the snapshot is truncated (no trailer)");
    }
    int length;
    try {
      length = com.google.protobuf.CodedInputStream.readRawVarint32(first, in);
    } catch (InvalidProtocolBufferException e) {
      throw new CorruptSnapshotException("the snapshot's trailer is unreadable", e);
    }
    byte[] raw = in.readNBytes(Math.max(0, Math.min(length, 64)));
    if (length < 0 || length > 64 || raw.length != length) {
      throw new CorruptSnapshotException("the snapshot's trailer is truncated or damaged");
    }
    try {
      return SnapshotTrailer.parseFrom(raw);
    } catch (InvalidProtocolBufferException e) {
      throw new CorruptSnapshotException("the snapshot's trailer is unreadable", e);
    }
  }

  private interface Parser<T> {
    T parse() throws IOException;
  }

  private static <T> T parse(Parser<T> parser, String what) throws IOException {
    T t;
    try {
      t = parser.parse();
    } catch (InvalidProtocolBufferException e) {
      throw new CorruptSnapshotException("the snapshot's " + what + " is unreadable", e);
    } catch (EOFException e) {
      t = null;
    }
    if (t == null) {
      throw new CorruptSnapshotException("the snapshot is truncated (in its " + what + ")");
    }
    return t;
  }

  /** Counts the bytes read through it. */
  private static final class CountingInput extends java.io.FilterInputStream {
    long count;

    CountingInput(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        count++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        count += n;
      }
      return n;
    }
  }
}
