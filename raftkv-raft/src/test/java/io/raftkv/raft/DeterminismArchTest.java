package io.raftkv.raft;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaAccess;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import java.io.FileOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The core must be a deterministic function of its inputs (ticks, messages, proposals and the
 * injected RandomGenerator), so that the simulator can replay any schedule from a seed. These rules
 * forbid every way of reading the outside world or of depending on an unspecified order: threads,
 * clocks, unseeded randomness, I/O and hash-ordered collections.
 *
 * <p>Each rule is checked on the production classes, and shown to bite on a tiny test class that
 * breaks it (a rule that can never fail proves nothing).
 */
class DeterminismArchTest {
  private static final String CORE = "io.raftkv.raft";

  static final ArchRule NO_THREADS_OR_CONCURRENCY =
      noClasses()
          .that()
          .resideInAPackage(CORE)
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage("java.util.concurrent..")
          .orShould()
          .dependOnClassesThat()
          .belongToAnyOf(
              Thread.class,
              ThreadGroup.class,
              Runnable.class,
              ThreadLocal.class,
              java.util.Timer.class,
              java.util.TimerTask.class)
          .because("the core is driven by one thread and must not schedule work of its own");

  static final ArchRule NO_WALL_CLOCK =
      noClasses()
          .that()
          .resideInAPackage(CORE)
          .should()
          .callMethod(System.class, "currentTimeMillis")
          .orShould()
          .callMethod(System.class, "nanoTime")
          .orShould()
          .dependOnClassesThat()
          .belongToAnyOf(
              java.time.Clock.class,
              java.time.Instant.class,
              java.time.InstantSource.class,
              java.time.LocalDateTime.class,
              java.time.ZonedDateTime.class,
              java.time.OffsetDateTime.class)
          .orShould()
          .callMethodWhere(named("now", "java.time"))
          .because("time is counted in ticks the driver feeds in");

  static final ArchRule ONLY_INJECTED_RANDOMNESS =
      noClasses()
          .that()
          .resideInAPackage(CORE)
          .should()
          .dependOnClassesThat()
          .belongToAnyOf(
              Random.class,
              java.security.SecureRandom.class,
              java.util.SplittableRandom.class,
              java.util.random.RandomGeneratorFactory.class,
              ThreadLocalRandom.class)
          .orShould()
          .callMethod(Math.class, "random")
          .orShould()
          .callMethod(StrictMath.class, "random")
          .orShould()
          .callMethod(java.util.random.RandomGenerator.class, "of", String.class)
          .orShould()
          .callMethod(java.util.random.RandomGenerator.class, "getDefault")
          .orShould()
          .callMethod(java.util.Collections.class, "shuffle", List.class)
          .because("the only randomness is the seeded RandomGenerator passed to Raft");

  static final ArchRule NO_IO =
      noClasses()
          .that()
          .resideInAPackage(CORE)
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage("java.io", "java.nio.file..", "java.nio.channels..", "java.net..")
          .because("the core does no I/O: the driver persists and sends what each Ready says");

  static final ArchRule NO_HASH_ORDER =
      noClasses()
          .that()
          .resideInAPackage(CORE)
          .should()
          .dependOnClassesThat()
          .belongToAnyOf(
              HashMap.class,
              java.util.HashSet.class,
              java.util.Hashtable.class,
              java.util.IdentityHashMap.class,
              java.util.WeakHashMap.class)
          .orShould()
          .callMethodWhere(named("of", "java.util.Set"))
          .orShould()
          .callMethodWhere(named("copyOf", "java.util.Set"))
          .orShould()
          .callMethodWhere(named("of", "java.util.Map"))
          .orShould()
          .callMethodWhere(named("ofEntries", "java.util.Map"))
          .orShould()
          .callMethodWhere(named("copyOf", "java.util.Map"))
          .orShould()
          .callMethodWhere(named("toSet", "java.util.stream.Collectors"))
          .orShould()
          .callMethodWhere(named("toMap", "java.util.stream.Collectors"))
          .orShould()
          .callMethodWhere(named("groupingBy", "java.util.stream.Collectors"))
          .because(
              "iteration order of hashed collections is unspecified (Set.of/Map.of even vary per"
                  + " JVM run): decisions would depend on it");

  static final List<ArchRule> RULES =
      List.of(
          NO_THREADS_OR_CONCURRENCY, NO_WALL_CLOCK, ONLY_INJECTED_RANDOMNESS, NO_IO, NO_HASH_ORDER);

  private static DescribedPredicate<JavaAccess<?>> named(String method, String ownerPrefix) {
    return DescribedPredicate.describe(
        ownerPrefix + "." + method + "()",
        access ->
            access.getName().equals(method)
                && access.getTargetOwner().getName().startsWith(ownerPrefix));
  }

  private static JavaClasses production;

  private static synchronized JavaClasses productionClasses() {
    if (production == null) {
      production =
          new ClassFileImporter()
              .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
              .importPackages(CORE);
    }
    return production;
  }

  /** Guards against a vacuous pass: the rules below must see the real core, and only it. */
  @Test
  void productionCodeIsImported() {
    // Guards against a vacuous pass: the rules below must see the real core.
    assertThat(productionClasses().contain(Raft.class)).isTrue();
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

  static Stream<Arguments> violations() {
    return Stream.of(
        Arguments.of(NO_THREADS_OR_CONCURRENCY, StartsThread.class),
        Arguments.of(NO_WALL_CLOCK, ReadsClock.class),
        Arguments.of(NO_WALL_CLOCK, ReadsNanoTime.class),
        Arguments.of(NO_WALL_CLOCK, ReadsInstant.class),
        Arguments.of(ONLY_INJECTED_RANDOMNESS, UsesThreadLocalRandom.class),
        Arguments.of(ONLY_INJECTED_RANDOMNESS, UsesJavaUtilRandom.class),
        Arguments.of(NO_IO, WritesFile.class),
        Arguments.of(NO_HASH_ORDER, IteratesHashMap.class),
        Arguments.of(NO_HASH_ORDER, IteratesSetOf.class));
  }

  /** Each rule reports a class that breaks it, naming that class. */
  @ParameterizedTest(name = "{1} breaks the rule")
  @MethodSource("violations")
  void ruleReportsAViolation(ArchRule rule, Class<?> violator) {
    EvaluationResult result = rule.evaluate(new ClassFileImporter().importClasses(violator));
    assertThat(result.hasViolation()).isTrue();
    assertThat(result.getFailureReport().getDetails())
        .anyMatch(d -> d.contains(violator.getName()));
  }
}
