package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code build/dev/clt}'s start-up cache, as bin/clt's header describes it: on a JDK 25 or later an
 * AOT cache, on Java 17 an AppCDS archive; recorded by the first KV operation, used by the next
 * ones, recorded again when stale, ignored when corrupt, and never clashing between concurrent
 * first runs. The JDK 25 tests are skipped where there is none (CI has Java 17 only).
 *
 * <p>Each test runs a copy of the launcher in its own directory, {@code dev/clt} beside a {@code
 * lib} that links to build/lib, so its cache ({@code cds/}) starts empty and the build's own is not
 * touched.
 */
class CltLauncherTest {
  private static final String KEY = "launcher-key";
  private static final String VALUE = "launcher-value";

  @TempDir static Path clusterDir;
  private static LocalCluster cluster;
  private static int leader;

  @TempDir Path dir;
  private Path clt;
  private Path cds;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = new LocalCluster(1, clusterDir);
    cluster.startAll(0);
    leader = cluster.findLeader();
    LocalCluster.Result put = cluster.clt(leader, "-o", "PUT", "-k", KEY, "-v", VALUE);
    assertThat(put.exit()).as(put.toString()).isZero();
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  @BeforeEach
  void copyLauncher() throws IOException {
    Files.createDirectories(dir.resolve("dev"));
    clt = Files.copy(LocalCluster.CLT, dir.resolve("dev/clt"));
    Files.createSymbolicLink(dir.resolve("lib"), LocalCluster.ROOT.resolve("build/lib"));
    cds = dir.resolve("cds");
  }

  // ------------------------------------------------------------------ the JVMs

  /** The major version in a JDK's release file (JAVA_VERSION="25.0.3"), 0 if none. */
  private static int releaseMajor(Path home) {
    try {
      Matcher m =
          Pattern.compile("(?m)^JAVA_VERSION=\"(\\d+)")
              .matcher(Files.readString(home.resolve("release")));
      return m.find() && Files.isExecutable(home.resolve("bin/java"))
          ? Integer.parseInt(m.group(1))
          : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  /** A JDK 25 or later under /usr/lib/jvm, as bin/clt looks for one (JAVA_HOME aside). */
  private static Optional<Path> jdk25() {
    try (Stream<Path> homes = Files.list(Path.of("/usr/lib/jvm"))) {
      return homes.sorted().filter(h -> releaseMajor(h) >= 25).findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** This test's own JVM if it is older than 25 (Java 17 in CI): the fallback's JVM. */
  private static Optional<Path> java17() {
    return Runtime.version().feature() < 25
        ? Optional.of(Path.of(System.getProperty("java.home"), "bin", "java"))
        : Optional.empty();
  }

  // ------------------------------------------------------------------ running clt

  private LocalCluster.Result get(Map<String, String> env) {
    return LocalCluster.run(
        clt,
        env,
        List.of("-p", Integer.toString(cluster.kvsPorts[leader]), "-o", "GET", "-k", KEY));
  }

  private static void assertClean(LocalCluster.Result r) {
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(r.out()).as("stdout holds the value alone").isEqualTo(VALUE + "\n");
    assertThat(r.err()).as("nothing on stderr: %s", r).isEmpty();
  }

  /** The files in cds/, by name (no temporary files may be left behind). */
  private List<String> cacheFiles() throws IOException {
    if (!Files.isDirectory(cds)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(cds)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /**
   * Runs a GET that logs its class loading, and says whether clt's main class came from a cache.
   */
  private boolean startsFromTheCache(Map<String, String> env) throws IOException {
    Path log = dir.resolve("classes-" + System.nanoTime() + ".txt");
    Map<String, String> withLog = new HashMap<>(env);
    // The java launcher reads JDK_JAVA_OPTIONS (and says so on stderr).
    withLog.put("JDK_JAVA_OPTIONS", "-Xlog:class+load=info:file=" + log);
    LocalCluster.Result r = get(withLog);
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(r.out()).isEqualTo(VALUE + "\n");
    assertThat(r.err().lines()).as(r.toString()).allMatch(l -> l.startsWith("NOTE: Picked up"));
    return Files.readAllLines(log).stream()
        .anyMatch(l -> l.contains(" io.raftkv.client.CltMain source: shared objects file"));
  }

  /**
   * The whole life of one cache: the first GET records it (and prints exactly what an uncached run
   * prints), the next starts from it; one older than the jars is recorded again; one that is not a
   * cache is ignored.
   */
  private void cacheLifeCycle(Map<String, String> env, String cacheName, boolean truncate)
      throws Exception {
    assertClean(get(env));
    assertThat(cacheFiles()).as("the first GET recorded it").containsExactly(cacheName);
    assertThat(startsFromTheCache(env)).as("the second GET starts from it").isTrue();

    // Stale: older than the jars (as after a build), so recorded again.
    Path cache = cds.resolve(cacheName);
    Files.setLastModifiedTime(cache, FileTime.from(Instant.parse("2000-01-01T00:00:00Z")));
    assertClean(get(env));
    assertThat(Files.getLastModifiedTime(cache).toInstant())
        .as("recorded again")
        .isAfter(Instant.now().minus(Duration.ofMinutes(10)));
    assertThat(cacheFiles()).containsExactly(cacheName);
    assertThat(startsFromTheCache(env)).isTrue();

    // Not a cache, but newer than the jars: the JVM refuses it and runs without it.
    byte[] good = Files.readAllBytes(cache);
    Files.writeString(cache, "not a cache\n");
    assertClean(get(env));
    assertThat(startsFromTheCache(env)).isFalse();
    if (truncate) {
      Files.write(cache, java.util.Arrays.copyOf(good, good.length / 2));
      assertClean(get(env));
      assertThat(startsFromTheCache(env)).isFalse();
    }
  }

  /** Four first runs at once: all answer, one cache is left, no temporary file. */
  private void concurrentFirstRuns(Map<String, String> env, String cacheName) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<LocalCluster.Result>> runs = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        runs.add(pool.submit(() -> get(env)));
      }
      for (Future<LocalCluster.Result> f : runs) {
        assertClean(f.get());
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(cacheFiles()).containsExactly(cacheName);
    assertThat(startsFromTheCache(env)).isTrue();
  }

  private static Map<String, String> java(Path java) {
    return Map.of("RAFTKV_CLT_JAVA", java.toString());
  }

  // ------------------------------------------------------------------ the tests

  @Test
  void java17RecordsAnAppCdsArchiveAndStartsFromIt() throws Exception {
    Optional<Path> java = java17();
    assumeTrue(java.isPresent(), "this test's JVM is 25 or later: no Java 17 to fall back to");
    // A truncated archive crashes JDK 17 (SIGBUS): bin/clt checks it before installing it, and a
    // later truncation is not guarded against, so it is not tested.
    cacheLifeCycle(java(java.get()), "clt.jsa", false);
  }

  @Test
  void jdk25RecordsAnAotCacheAndStartsFromIt() throws Exception {
    Optional<Path> jdk = jdk25();
    assumeTrue(jdk.isPresent(), "no JDK 25 or later in /usr/lib/jvm");
    cacheLifeCycle(java(jdk.get()), aotCacheName(jdk.get()), true);
  }

  @Test
  void java17ConcurrentFirstRunsDoNotClash() throws Exception {
    Optional<Path> java = java17();
    assumeTrue(java.isPresent(), "this test's JVM is 25 or later: no Java 17 to fall back to");
    concurrentFirstRuns(java(java.get()), "clt.jsa");
  }

  @Test
  void jdk25ConcurrentFirstRunsDoNotClash() throws Exception {
    Optional<Path> jdk = jdk25();
    assumeTrue(jdk.isPresent(), "no JDK 25 or later in /usr/lib/jvm");
    concurrentFirstRuns(java(jdk.get()), aotCacheName(jdk.get()));
  }

  /**
   * Without RAFTKV_CLT_JAVA and JAVA_HOME, clt takes a JDK 25+ from /usr/lib/jvm if there is one,
   * and otherwise (CI) java on PATH with its AppCDS archive.
   */
  @Test
  void withoutSettingsAJdk25IsFoundElseJavaOnPathIsUsed() throws Exception {
    Map<String, String> env = new HashMap<>();
    env.put("RAFTKV_CLT_JAVA", null);
    env.put("JAVA_HOME", null);
    assertClean(get(env));
    Optional<Path> jdk = jdk25();
    assertThat(cacheFiles()).containsExactly(jdk.isPresent() ? aotCacheName(jdk.get()) : "clt.jsa");
    assertThat(startsFromTheCache(env)).isTrue();
  }

  @Test
  void aBadRaftkvCltJavaIsOneLine() {
    LocalCluster.Result r = get(Map.of("RAFTKV_CLT_JAVA", dir.resolve("no-such-java").toString()));
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err().lines()).as(r.toString()).hasSize(1);
    assertThat(r.err()).contains("RAFTKV_CLT_JAVA=").contains("is not a java executable");
  }

  /** bin/clt's name for a JDK's cache: clt-JAVA_RUNTIME_VERSION.aot. */
  private static String aotCacheName(Path jdk) throws IOException {
    Matcher m =
        Pattern.compile("(?m)^JAVA_RUNTIME_VERSION=\"([^\"]+)\"")
            .matcher(Files.readString(jdk.resolve("release")));
    assertThat(m.find()).as("JAVA_RUNTIME_VERSION in %s/release", jdk).isTrue();
    return "clt-" + m.group(1) + ".aot";
  }
}
