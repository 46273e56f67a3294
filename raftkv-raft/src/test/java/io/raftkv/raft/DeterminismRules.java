package io.raftkv.raft;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaAccess;
import com.tngtech.archunit.lang.ArchRule;
import java.util.HashMap;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;

/**
 * ArchUnit rules that keep code a deterministic function of its inputs, so that a simulator can
 * replay any schedule from a seed: no threads, clocks, unseeded randomness, environment, I/O,
 * logging or hash-ordered iteration. Each factory takes the packages to check, in ArchUnit's syntax
 * ({@code "io.raftkv.raft.."} covers a package and its sub-packages), so the same rules can guard
 * other deterministic code (a node runtime, a client's retry policy) as well as the core.
 *
 * <p>Forbidden methods are matched as any access, a call or a method reference ({@code
 * System::nanoTime} hands the clock out just as well as calling it).
 */
public final class DeterminismRules {
  private DeterminismRules() {}

  /** Every rule below, for the given packages. */
  public static List<ArchRule> all(String... packages) {
    return List.of(
        noThreadsOrConcurrency(packages),
        noWallClock(packages),
        onlyInjectedRandomness(packages),
        noEnvironment(packages),
        noIo(packages),
        noLogging(packages),
        noHashOrder(packages));
  }

  public static ArchRule noThreadsOrConcurrency(String... packages) {
    return noClasses()
        .that()
        .resideInAnyPackage(packages)
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
        .because(
            "deterministic code is driven by one thread and must not schedule work of its own");
  }

  public static ArchRule noWallClock(String... packages) {
    return noClasses()
        .that()
        .resideInAnyPackage(packages)
        .should()
        .accessTargetWhere(target(System.class, "currentTimeMillis", "nanoTime"))
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
        .accessTargetWhere(named("now", "java.time"))
        .because("time is counted in ticks the driver feeds in");
  }

  public static ArchRule onlyInjectedRandomness(String... packages) {
    return noClasses()
        .that()
        .resideInAnyPackage(packages)
        .should()
        .dependOnClassesThat()
        .belongToAnyOf(
            Random.class,
            java.security.SecureRandom.class,
            java.util.SplittableRandom.class,
            java.util.random.RandomGeneratorFactory.class,
            ThreadLocalRandom.class)
        .orShould()
        .accessTargetWhere(target(Math.class, "random"))
        .orShould()
        .accessTargetWhere(target(StrictMath.class, "random"))
        .orShould()
        .accessTargetWhere(target(java.util.random.RandomGenerator.class, "of", "getDefault"))
        .orShould()
        .accessTargetWhere(target(java.util.Collections.class, "shuffle"))
        .orShould()
        .accessTargetWhere(target(java.util.UUID.class, "randomUUID"))
        .because("the only randomness is a seeded RandomGenerator passed in");
  }

  public static ArchRule noEnvironment(String... packages) {
    return noClasses()
        .that()
        .resideInAnyPackage(packages)
        .should()
        .accessTargetWhere(target(System.class, "getenv", "getProperty", "getProperties"))
        .orShould()
        .accessTargetWhere(target(Integer.class, "getInteger"))
        .orShould()
        .accessTargetWhere(target(Long.class, "getLong"))
        .orShould()
        .accessTargetWhere(target(Boolean.class, "getBoolean"))
        .because(
            "settings come in through the configuration object: the environment and system"
                + " properties differ between a run and its replay");
  }

  public static ArchRule noIo(String... packages) {
    return noClasses()
        .that()
        .resideInAnyPackage(packages)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("java.io", "java.nio.file..", "java.nio.channels..", "java.net..")
        .because("deterministic code does no I/O: its driver persists and sends what it says");
  }

  public static ArchRule noLogging(String... packages) {
    return noClasses()
        .that()
        .resideInAnyPackage(packages)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "org.slf4j..",
            "java.util.logging..",
            "org.apache.logging..",
            "org.apache.commons.logging..",
            "ch.qos.logback..")
        .orShould()
        .dependOnClassesThat()
        .belongToAnyOf(System.Logger.class, System.LoggerFinder.class)
        .orShould()
        .accessTargetWhere(target(System.class, "out", "err", "getLogger"))
        .orShould()
        // On any exception class: a call names the class it is made on, not Throwable.
        .accessTargetWhere(named("printStackTrace", ""))
        .because(
            "logging is output the driver does not see and cannot replay; what happened is in the"
                + " Ready (and a trace recorder outside can print it)");
  }

  public static ArchRule noHashOrder(String... packages) {
    return noClasses()
        .that()
        .resideInAnyPackage(packages)
        .should()
        .dependOnClassesThat()
        .belongToAnyOf(
            HashMap.class,
            java.util.HashSet.class,
            java.util.Hashtable.class,
            java.util.IdentityHashMap.class,
            java.util.WeakHashMap.class)
        .orShould()
        .accessTargetWhere(named("of", "java.util.Set"))
        .orShould()
        .accessTargetWhere(named("copyOf", "java.util.Set"))
        .orShould()
        .accessTargetWhere(named("of", "java.util.Map"))
        .orShould()
        .accessTargetWhere(named("ofEntries", "java.util.Map"))
        .orShould()
        .accessTargetWhere(named("copyOf", "java.util.Map"))
        .orShould()
        .accessTargetWhere(named("toSet", "java.util.stream.Collectors"))
        .orShould()
        .accessTargetWhere(named("toMap", "java.util.stream.Collectors"))
        .orShould()
        .accessTargetWhere(named("groupingBy", "java.util.stream.Collectors"))
        .because(
            "iteration order of hashed collections is unspecified (Set.of/Map.of even vary per"
                + " JVM run): decisions would depend on it");
  }

  /** An access (call, method reference or field access) to one of {@code owner}'s members. */
  private static DescribedPredicate<JavaAccess<?>> target(Class<?> owner, String... members) {
    List<String> names = List.of(members);
    return DescribedPredicate.describe(
        owner.getSimpleName() + "." + String.join("/", names),
        access ->
            names.contains(access.getName())
                && access.getTargetOwner().getName().equals(owner.getName()));
  }

  /** An access to a member {@code method} of any class whose name starts with {@code prefix}. */
  private static DescribedPredicate<JavaAccess<?>> named(String method, String ownerPrefix) {
    return DescribedPredicate.describe(
        ownerPrefix + "." + method + "()",
        access ->
            access.getName().equals(method)
                && access.getTargetOwner().getName().startsWith(ownerPrefix));
  }
}
