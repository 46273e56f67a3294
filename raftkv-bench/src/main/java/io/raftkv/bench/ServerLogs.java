package io.raftkv.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the servers' logs say: their warnings and errors, and the snapshots a leader sent (raftkv:
 * "sent snapshot N (B bytes) to node X in T ms"; etcd: "sending database snapshot" and "sent
 * database snapshot", JSON lines of its zap logger).
 */
final class ServerLogs {
  private ServerLogs() {}

  /**
   * Warnings and errors of one log, with the first few lines; {@code routine} counts the warnings
   * known to come with every start (etcd's "established TCP streaming connection", "simple token is
   * not cryptographically signed"), which are never sampled.
   */
  record Scan(int warnings, int errors, int routine, List<String> samples) {
    String brief() {
      return warnings
          + " warnings"
          + (routine > 0 ? " (" + routine + " of them routine start-up ones)" : "")
          + ", "
          + errors
          + " errors";
    }
  }

  /** etcd warnings that every start of a cluster logs. */
  private static final List<String> ETCD_ROUTINE =
      List.of(
          "\"msg\":\"established TCP streaming connection with remote peer\"",
          "\"msg\":\"simple token is not cryptographically signed\"");

  /** One snapshot transfer; times in epoch milliseconds (start -1 if not logged). */
  record Transfer(int node, long startMillis, long endMillis, long bytes, boolean ok, String line) {
    double seconds() {
      return startMillis < 0 ? Double.NaN : (endMillis - startMillis) / 1000.0;
    }
  }

  private static final Pattern RAFTKV_LEVEL = Pattern.compile("^\\S+ (WARN|ERROR) ");
  private static final Pattern ETCD_LEVEL =
      Pattern.compile("\"level\":\"(warn|error|fatal|panic)\"");
  private static final Pattern RAFTKV_SENT =
      Pattern.compile(
          "^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*sent snapshot (\\d+) \\((\\d+) bytes\\) to node"
              + " (\\d+) in (\\d+) ms");
  private static final Pattern RAFTKV_FAILED =
      Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*snapshot (\\d+) to node (\\d+) failed");
  private static final Pattern RAFTKV_LEADER =
      Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*node (\\d+) is LEADER in term (\\d+)");
  private static final Pattern ETCD_TS = Pattern.compile("\"ts\":\"([^\"]+)\"");
  private static final Pattern ETCD_BYTES = Pattern.compile("\"bytes\":(\\d+)");
  private static final DateTimeFormatter ETCD_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXX");

  static Scan scanRaftkv(Path log) {
    return scan(log, RAFTKV_LEVEL, "WARN", List.of());
  }

  static Scan scanEtcd(Path log) {
    return scan(log, ETCD_LEVEL, "warn", ETCD_ROUTINE);
  }

  private static Scan scan(Path log, Pattern level, String warn, List<String> routineMarks) {
    int warnings = 0;
    int errors = 0;
    int routine = 0;
    List<String> samples = new ArrayList<>();
    for (String line : lines(log)) {
      Matcher m = level.matcher(line);
      if (!m.find()) {
        continue;
      }
      if (m.group(1).equals(warn)) {
        warnings++;
        if (routineMarks.stream().anyMatch(line::contains)) {
          routine++;
          continue;
        }
      } else {
        errors++;
      }
      if (samples.size() < 5) {
        samples.add(line.length() > 300 ? line.substring(0, 300) + "..." : line);
      }
    }
    return new Scan(warnings, errors, routine, samples);
  }

  /** The snapshots a raftkv leader logged as sent (or failed) at or after {@code sinceMillis}. */
  static List<Transfer> raftkvTransfers(int node, Path log, long sinceMillis) {
    List<Transfer> out = new ArrayList<>();
    for (String line : lines(log)) {
      Matcher m = RAFTKV_SENT.matcher(line);
      if (m.find()) {
        long end = localTime(m.group(1));
        if (end >= sinceMillis) {
          out.add(
              new Transfer(
                  node,
                  end - Long.parseLong(m.group(5)),
                  end,
                  Long.parseLong(m.group(3)),
                  true,
                  line));
        }
        continue;
      }
      Matcher f = RAFTKV_FAILED.matcher(line);
      if (f.find() && localTime(f.group(1)) >= sinceMillis) {
        out.add(new Transfer(node, -1, localTime(f.group(1)), -1, false, line));
      }
    }
    return out;
  }

  /** A node's log line saying it became leader: when (epoch ms, the line's resolution) and term. */
  record Leadership(int node, long millis, long term) {}

  /**
   * The first time a raftkv node's log says it became leader of a term above {@code aboveTerm}, at
   * or after {@code sinceMillis}; null if it does not (yet).
   */
  static Leadership raftkvLeadership(Path log, long aboveTerm, long sinceMillis) {
    for (String line : lines(log)) {
      Matcher m = RAFTKV_LEADER.matcher(line);
      if (m.find() && Long.parseLong(m.group(3)) > aboveTerm) {
        long at = localTime(m.group(1));
        if (at >= sinceMillis) {
          return new Leadership(Integer.parseInt(m.group(2)), at, Long.parseLong(m.group(3)));
        }
      }
    }
    return null;
  }

  /** The database snapshots an etcd member logged as sent (or failed) since {@code sinceMillis}. */
  static List<Transfer> etcdTransfers(int node, Path log, long sinceMillis) {
    List<Transfer> out = new ArrayList<>();
    long sending = -1;
    for (String line : lines(log)) {
      boolean start = line.contains("\"msg\":\"sending database snapshot\"");
      boolean sent = line.contains("\"msg\":\"sent database snapshot\"");
      boolean failed = line.contains("\"msg\":\"failed to send database snapshot\"");
      if (!start && !sent && !failed) {
        continue;
      }
      long ts = etcdTime(line);
      if (ts < sinceMillis) {
        continue;
      }
      if (start) {
        sending = ts;
        continue;
      }
      Matcher b = ETCD_BYTES.matcher(line);
      long bytes = b.find() ? Long.parseLong(b.group(1)) : -1;
      out.add(new Transfer(node, sending, ts, bytes, sent, line));
      sending = -1;
    }
    return out;
  }

  /** "HH:mm:ss.SSS" of a log written today (or, just after midnight, yesterday), in epoch ms. */
  static long localTime(String hms) {
    ZoneId zone = ZoneId.systemDefault();
    LocalDateTime now = LocalDateTime.now(zone);
    LocalDateTime t = LocalDateTime.of(LocalDate.now(zone), LocalTime.parse(hms));
    if (t.isAfter(now.plusMinutes(1))) {
      t = t.minusDays(1);
    }
    return t.atZone(zone).toInstant().toEpochMilli();
  }

  private static long etcdTime(String line) {
    Matcher m = ETCD_TS.matcher(line);
    if (!m.find()) {
      return -1;
    }
    try {
      return OffsetDateTime.parse(m.group(1), ETCD_TIME).toInstant().toEpochMilli();
    } catch (DateTimeParseException e) {
      try {
        return OffsetDateTime.parse(m.group(1)).toInstant().toEpochMilli();
      } catch (DateTimeParseException e2) {
        return -1;
      }
    }
  }

  private static List<String> lines(Path log) {
    if (log == null || !Files.exists(log)) {
      return List.of();
    }
    try {
      return Files.readAllLines(log, java.nio.charset.StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + log, e);
    }
  }
}
