package io.raftkv.sim;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.Entry;
import java.util.List;

/** Hand-built log entries for checker tests. */
final class Entries {
  private Entries() {}

  static Entry e(long index, long term, String data) {
    return Entry.newBuilder()
        .setIndex(index)
        .setTerm(term)
        .setData(ByteString.copyFromUtf8(data))
        .build();
  }

  static Entry e(long index, long term) {
    return e(index, term, "x" + index + "t" + term);
  }

  static List<Entry> log(Entry... entries) {
    return List.of(entries);
  }
}
