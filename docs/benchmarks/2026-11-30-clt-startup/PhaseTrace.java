package io.raftkv.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.raftkv.proto.kvs.GetRequest;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.KvServiceGrpc;
import java.time.Instant;

/**
 * Where a one-shot {@code clt -p PORT -o GET -k KEY} spends its time: the same calls as CltMain's
 * -p path, with a time mark after each phase. Not part of the build; see README.md here for how it
 * is compiled and run. Prints the value on stdout and, on stderr, one line of milliseconds:
 * {@code main channel call shutdown}, where main is the time from {@code -Dt0} (the shell's epoch
 * nanoseconds just before starting java) to main(), channel the channel's creation (gRPC's
 * registries, OkHttp's transport factory), call the GET (connection, HTTP/2 set-up, the server's
 * ReadIndex, the answer) and shutdown {@code shutdownNow()}.
 */
public final class PhaseTrace {
  private static long nowNanos() {
    Instant i = Instant.now();
    return i.getEpochSecond() * 1_000_000_000L + i.getNano();
  }

  private static String ms(long nanos) {
    return Double.toString(Math.round(nanos / 1e5) / 10.0);
  }

  public static void main(String[] args) throws Exception {
    long t0 = Long.parseLong(System.getProperty("t0"));
    long main = nowNanos();
    ManagedChannel channel = ClientTls.PLAINTEXT.channel("127.0.0.1:" + args[0]);
    long built = nowNanos();
    KvResponse r =
        KvServiceGrpc.newBlockingStub(channel)
            .get(GetRequest.newBuilder().setKey(ByteString.copyFromUtf8(args[1])).build());
    long answered = nowNanos();
    channel.shutdownNow();
    long down = nowNanos();
    System.out.write(r.getValue().toByteArray());
    System.out.println();
    // No printf: its first use costs milliseconds.
    System.err.println(
        ms(main - t0)
            + " "
            + ms(built - main)
            + " "
            + ms(answered - built)
            + " "
            + ms(down - answered));
    System.exit(0);
  }
}
