package io.raftkv.client;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.SaveSnapshotRequest;
import io.raftkv.proto.snapshot.CorruptSnapshotException;
import io.raftkv.proto.snapshot.SnapshotChunk;
import io.raftkv.proto.snapshot.SnapshotStreams;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * {@code clt snapshot save FILE (-p PORT | -s HOST:PORT,...)} and {@code clt snapshot status FILE}:
 * backups of the committed state (§7's snapshot format, etcdctl snapshot save/status's
 * counterparts). A save asks the leader for a consistent snapshot (it confirms its leadership and
 * read point first), checks each chunk's CRC32C and offset as it arrives, writes {@code FILE.part},
 * fsyncs it, verifies the whole (the trailer's checksum and counts) and only then renames it to
 * FILE: a failed save leaves no FILE.
 *
 * <p>Exit codes: 0 done, 1 bad arguments or a bad file, 2 not the leader (with -p), 4 the server
 * failed or did not answer.
 */
final class SnapshotCli {
  static final String USAGE =
      String.join(
          "\n",
          "Usage: clt snapshot save FILE (-p PORT | -s HOST:PORT[,HOST:PORT...]) [--timeout-ms MS]",
          "                         [--cacert FILE] [--cert FILE --key FILE]",
          "       clt snapshot status FILE",
          "save    Streams a consistent snapshot of the committed state from the leader into",
          "        FILE (written as FILE.part, fsynced, verified, then renamed). With -s the",
          "        servers are tried in turn until the leader answers.",
          "status  Verifies FILE and prints its index, term, cluster, key count and size.",
          "  --timeout-ms MS  Deadline of the whole save (default 600000).",
          ClientTls.USAGE,
          "",
          "With svr --client-cert-auth, save needs a client certificate whose common name is",
          "one of the server's --admin-users (default root).",
          "",
          "Exit codes: 0 OK, 1 bad arguments or a damaged file, 2 not the leader (with -p),",
          "4 the server failed, did not answer or refused the certificate.",
          "");

  private final PrintStream out;
  private final PrintStream err;

  private SnapshotCli(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    SnapshotCli cli = new SnapshotCli(out, err);
    if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help")) {
      out.print(USAGE);
      out.flush();
      return args.length == 0 ? 1 : 0;
    }
    try {
      return switch (args[0]) {
        case "save" -> cli.save(args);
        case "status" -> cli.status(args);
        default -> throw new CltMain.UsageException("unknown snapshot command '" + args[0] + "'");
      };
    } catch (CltMain.UsageException e) {
      err.println("clt snapshot: " + e.getMessage() + " (see clt snapshot --help)");
      return 1;
    }
  }

  // ------------------------------------------------------------------ status

  private int status(String[] args) throws CltMain.UsageException {
    if (args.length != 2) {
      throw new CltMain.UsageException("status takes one FILE");
    }
    Path file = Path.of(args[1]);
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      SnapshotStreams.Summary s = SnapshotStreams.read(in, r -> {});
      out.println(describe(file, s));
      return 0;
    } catch (NoSuchFileException e) {
      err.println("clt snapshot: no such file: " + file);
      return 1;
    } catch (CorruptSnapshotException e) {
      err.println("clt snapshot: " + file + " is not a valid snapshot: " + e.getMessage());
      return 1;
    } catch (IOException e) {
      err.println("clt snapshot: cannot read " + file + ": " + e.getMessage());
      return 1;
    }
  }

  private static String describe(Path file, SnapshotStreams.Summary s) {
    return file
        + ": index "
        + s.header().getMeta().getIndex()
        + ", term "
        + s.header().getMeta().getTerm()
        + ", cluster "
        + s.header().getClusterId()
        + ", "
        + s.trailer().getKeys()
        + " keys, "
        + s.bytes()
        + " bytes, taken "
        + Instant.ofEpochMilli(s.header().getTakenAtMillis())
        + ", crc32c "
        + String.format("%08x", s.trailer().getCrc32C());
  }

  // ------------------------------------------------------------------ save

  private int save(String[] args) throws CltMain.UsageException {
    Path file = null;
    List<String> servers = null;
    boolean single = false;
    long timeoutMillis = 600_000;
    ClientTls tls = ClientTls.PLAINTEXT;
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (a) {
        case "-p" -> {
          servers = AdminCli.addresses(need(a, value)).subList(0, 1);
          single = true;
          i++;
        }
        case "-s", "--servers" -> {
          servers = AdminCli.addresses(need(a, value));
          i++;
        }
        case "--timeout-ms" -> {
          timeoutMillis = CltMain.number(a, need(a, value), 1, Long.MAX_VALUE);
          i++;
        }
        case "--cacert", "--cert", "--key" -> {
          tls = tls.with(a, need(a, value));
          i++;
        }
        default -> {
          if (a.startsWith("-") || file != null) {
            throw new CltMain.UsageException("unexpected argument '" + a + "'");
          }
          file = Path.of(a);
        }
      }
    }
    tls = tls.checked();
    if (file == null) {
      throw new CltMain.UsageException("save needs a FILE");
    }
    if (servers == null) {
      throw new CltMain.UsageException("give the server with -p PORT, or servers with -s");
    }
    if (Files.exists(file)) {
      err.println("clt snapshot: " + file + " exists; not overwriting it");
      return 1;
    }
    String lastError = "no server answered";
    for (String server : servers) {
      try {
        SnapshotStreams.Summary s = saveFrom(server, tls, file, timeoutMillis);
        out.println("saved " + describe(file, s));
        return 0;
      } catch (StatusRuntimeException e) {
        lastError = server + ": " + e.getStatus().getCode() + " " + e.getStatus().getDescription();
        if (single && e.getStatus().getCode() == io.grpc.Status.Code.FAILED_PRECONDITION) {
          err.println("clt snapshot: " + e.getStatus().getDescription());
          return 2;
        }
        if (e.getStatus().getCode() == io.grpc.Status.Code.PERMISSION_DENIED) {
          // Every node has the same --admin-users: asking the next one cannot help.
          err.println(
              "clt snapshot: " + server + ": permission denied: " + e.getStatus().getDescription());
          return 4;
        }
      } catch (IOException e) {
        lastError = server + ": " + e.getMessage();
      } catch (IllegalArgumentException e) {
        err.println("clt snapshot: " + e.getMessage()); // a TLS file that cannot be read
        return 1;
      }
    }
    err.println("clt snapshot: save failed: " + lastError);
    return 4;
  }

  private SnapshotStreams.Summary saveFrom(
      String server, ClientTls tls, Path file, long timeoutMillis) throws IOException {
    Path part = file.resolveSibling(file.getFileName() + ".part");
    ManagedChannel channel = tls.builder(server).maxInboundMessageSize(4 << 20).build();
    boolean done = false;
    try (FileChannel f =
        FileChannel.open(
            part,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      Iterator<SnapshotChunk> chunks =
          AdminGrpc.newBlockingStub(channel)
              .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
              .saveSnapshot(SaveSnapshotRequest.getDefaultInstance());
      long offset = 0;
      while (chunks.hasNext()) {
        SnapshotChunk c = chunks.next();
        CRC32C crc = new CRC32C();
        crc.update(c.getData().asReadOnlyByteBuffer());
        if (c.getOffset() != offset || (int) crc.getValue() != c.getCrc32C()) {
          throw new IOException("a damaged chunk at offset " + c.getOffset());
        }
        for (java.nio.ByteBuffer b : c.getData().asReadOnlyByteBufferList()) {
          while (b.hasRemaining()) {
            f.write(b);
          }
        }
        offset += c.getData().size();
      }
      f.force(true);
      SnapshotStreams.Summary s;
      try (InputStream in = new BufferedInputStream(Files.newInputStream(part), 1 << 16)) {
        s = SnapshotStreams.read(in, r -> {});
      }
      Files.move(part, file, StandardCopyOption.ATOMIC_MOVE);
      done = true;
      return s;
    } finally {
      channel.shutdownNow();
      if (!done) {
        Files.deleteIfExists(part);
      }
    }
  }

  private static String need(String option, String value) throws CltMain.UsageException {
    if (value == null) {
      throw new CltMain.UsageException("option '" + option + "' needs a value");
    }
    return value;
  }
}
