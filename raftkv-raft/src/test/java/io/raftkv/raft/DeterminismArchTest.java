package io.raftkv.raft;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import io.raftkv.raft.determinism.fixture.StartsThreadInSubPackage;
import java.io.FileOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The core must be a deterministic function of its inputs (ticks, messages, proposals and the
 * injected RandomGenerator), so that the simulator can replay any schedule from a seed. The rules
 * of {@link DeterminismRules} forbid every way of reading the outside world or of depending on an
 * unspecified order: threads, clocks, unseeded randomness, the environment, I/O, logging and
 * hash-ordered collections; they cover the core's package and any sub-package.
 *
 * <p>Each rule is checked on the production classes, and shown to bite on a tiny test class that
 * breaks it (a rule that can never fail proves nothing).
 */
class DeterminismArchTest {
  /** The core and every sub-package it may grow (snapshots, membership). */
  private static final String CORE = "io.raftkv.raft..";

  static final ArchRule NO_THREADS_OR_CONCURRENCY = DeterminismRules.noThreadsOrConcurrency(CORE);
  static final ArchRule NO_WALL_CLOCK = DeterminismRules.noWallClock(CORE);
  static final ArchRule ONLY_INJECTED_RANDOMNESS = DeterminismRules.onlyInjectedRandomness(CORE);
  static final ArchRule NO_ENVIRONMENT = DeterminismRules.noEnvironment(CORE);
  static final ArchRule NO_IO = DeterminismRules.noIo(CORE);
  static final ArchRule NO_LOGGING = DeterminismRules.noLogging(CORE);
  static final ArchRule NO_HASH_ORDER = DeterminismRules.noHashOrder(CORE);

  static final List<ArchRule> RULES = DeterminismRules.all(CORE);

  private static JavaClasses production;

  private static synchronized JavaClasses productionClasses() {
    if (production == null) {
      production =
          new ClassFileImporter()
              .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
              .importPackages("io.raftkv.raft");
    }
    return production;
  }

  /** Guards against a vacuous pass: the rules below must see the real core, and only it. */
  @Test
  void productionCodeIsImported() {
    assertThat(productionClasses().contain(Raft.class)).isTrue();
    assertThat(productionClasses().contain(Leader.class)).isTrue();
    assertThat(productionClasses().contain(DeterminismArchTest.class)).isFalse();
  }

  /** The core is a deterministic state machine (etcd/raft model): every rule holds on main code. */
  @Test
  void coreIsDeterministic() {
    JavaClasses core = productionClasses();
    for (ArchRule rule : RULES) {
      rule.check(core);
    }
  }

  // ---------------------------------------------------------------- rules bite on violations

  static class StartsThread {
    void run() {
      ExecutorService ex = Executors.newSingleThreadExecutor();
      ex.shutdown();
    }
  }

  static class ReadsClock {
    long now() {
      return System.currentTimeMillis();
    }
  }

  static class ReadsNanoTime {
    long now() {
      return System.nanoTime();
    }
  }

  static class ReadsInstant {
    Object now() {
      return Instant.now();
    }
  }

  static class UsesThreadLocalRandom {
    int roll() {
      return ThreadLocalRandom.current().nextInt(10);
    }
  }

  static class UsesJavaUtilRandom {
    int roll() {
      return new Random(1).nextInt(10);
    }
  }

  static class WritesFile {
    void write() throws IOException {
      try (FileOutputStream out = new FileOutputStream("x")) {
        out.write(1);
      }
    }
  }

  static class IteratesHashMap {
    int first() {
      Map<Integer, Integer> m = new HashMap<>();
      return m.keySet().iterator().next();
    }
  }

  static class IteratesSetOf {
    int first() {
      return Set.of(1, 2, 3).iterator().next();
    }
  }

  static class ReferencesNanoTime {
    LongSupplier clock() {
      return System::nanoTime;
    }
  }

  static class ReferencesCurrentTimeMillis {
    LongSupplier clock() {
      return System::currentTimeMillis;
    }
  }

  static class UsesRandomUuid {
    Object id() {
      return UUID.randomUUID();
    }
  }

  static class ReferencesRandomUuid {
    Supplier<UUID> ids() {
      return UUID::randomUUID;
    }
  }

  static class ReadsEnvironmentVariable {
    String home() {
      return System.getenv("HOME");
    }
  }

  static class ReadsSystemProperty {
    String seeds() {
      return System.getProperty("sim.seeds");
    }
  }

  static class ReadsIntegerProperty {
    Integer seeds() {
      return Integer.getInteger("sim.seeds");
    }
  }

  static class LogsWithSlf4j {
    void log() {
      org.slf4j.LoggerFactory.getLogger(LogsWithSlf4j.class).info("elected");
    }
  }

  static class LogsWithJavaUtilLogging {
    void log() {
      java.util.logging.Logger.getLogger("raft").info("elected");
    }
  }

  static class LogsWithSystemLogger {
    void log() {
      System.getLogger("raft").log(System.Logger.Level.INFO, "elected");
    }
  }

  static class PrintsToStandardOut {
    void log() {
      System.out.println("elected");
    }
  }

  static class PrintsToStandardError {
    void log() {
      System.err.println("elected");
    }
  }

  static class PrintsStackTrace {
    void log() {
      new IllegalStateException("elected").printStackTrace();
    }
  }

  static Stream<Arguments> violations() {
    return Stream.of(
        Arguments.of(NO_THREADS_OR_CONCURRENCY, StartsThread.class),
        Arguments.of(NO_WALL_CLOCK, ReadsClock.class),
        Arguments.of(NO_WALL_CLOCK, ReadsNanoTime.class),
        Arguments.of(NO_WALL_CLOCK, ReadsInstant.class),
        Arguments.of(NO_WALL_CLOCK, ReferencesNanoTime.class),
        Arguments.of(NO_WALL_CLOCK, ReferencesCurrentTimeMillis.class),
        Arguments.of(ONLY_INJECTED_RANDOMNESS, UsesThreadLocalRandom.class),
        Arguments.of(ONLY_INJECTED_RANDOMNESS, UsesJavaUtilRandom.class),
        Arguments.of(ONLY_INJECTED_RANDOMNESS, UsesRandomUuid.class),
        Arguments.of(ONLY_INJECTED_RANDOMNESS, ReferencesRandomUuid.class),
        Arguments.of(NO_ENVIRONMENT, ReadsEnvironmentVariable.class),
        Arguments.of(NO_ENVIRONMENT, ReadsSystemProperty.class),
        Arguments.of(NO_ENVIRONMENT, ReadsIntegerProperty.class),
        Arguments.of(NO_LOGGING, LogsWithSlf4j.class),
        Arguments.of(NO_LOGGING, LogsWithJavaUtilLogging.class),
        Arguments.of(NO_LOGGING, LogsWithSystemLogger.class),
        Arguments.of(NO_LOGGING, PrintsToStandardOut.class),
        Arguments.of(NO_LOGGING, PrintsToStandardError.class),
        Arguments.of(NO_LOGGING, PrintsStackTrace.class),
        Arguments.of(NO_IO, WritesFile.class),
        Arguments.of(NO_HASH_ORDER, IteratesHashMap.class),
        Arguments.of(NO_HASH_ORDER, IteratesSetOf.class),
        // The rules cover sub-packages: a violation in one is reported too.
        Arguments.of(NO_THREADS_OR_CONCURRENCY, StartsThreadInSubPackage.class));
  }

  /**
   * Each rule reports a class that breaks it, naming that class. Every violator breaks exactly one
   * clause (a method reference alone, say), so each clause is shown to fire.
   */
  @ParameterizedTest(name = "{1} breaks the rule")
  @MethodSource("violations")
  void ruleReportsAViolation(ArchRule rule, Class<?> violator) {
    EvaluationResult result = rule.evaluate(new ClassFileImporter().importClasses(violator));
    assertThat(result.hasViolation()).isTrue();
    assertThat(result.getFailureReport().getDetails())
        .anyMatch(d -> d.contains(violator.getName()));
  }
}
