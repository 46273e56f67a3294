package io.raftkv.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import io.raftkv.client.KvClient;
import io.raftkv.client.retry.RetryPolicy;
import io.raftkv.client.retry.ServerRouting;
import io.raftkv.client.retry.WriteSession;
import io.raftkv.node.KvService;
import io.raftkv.node.NodeRuntime;
import io.raftkv.raft.DeterminismRules;
import org.junit.jupiter.api.Test;

/**
 * The simulator replays the node runtime, the KV service and the client's retry policy from a seed
 * only if they are deterministic functions of their inputs, as the core is: the core's rules
 * ({@link DeterminismRules}, each shown to fire in raftkv-raft's DeterminismArchTest) hold for
 * their packages and sub-packages too. Their shells (RaftNode, KvServiceImpl, KvClient) are where
 * threads, clocks and sockets live.
 */
class NodeDeterminismArchTest {
  private static final String[] DETERMINISTIC = {"io.raftkv.node..", "io.raftkv.client.retry.."};

  private static JavaClasses production() {
    return new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.raftkv.node", "io.raftkv.client");
  }

  /** Guards against a vacuous pass: the rules see the runtime, the service and the policy. */
  @Test
  void theRuntimeServiceAndPolicyAreImported() {
    JavaClasses classes = production();
    for (Class<?> c :
        new Class<?>[] {
          NodeRuntime.class,
          KvService.class,
          RetryPolicy.class,
          ServerRouting.class,
          WriteSession.class
        }) {
      assertThat(classes.contain(c)).as(c.getName()).isTrue();
    }
  }

  @Test
  void theRuntimeServiceAndPolicyAreDeterministic() {
    JavaClasses classes = production();
    for (ArchRule rule : DeterminismRules.all(DETERMINISTIC)) {
      rule.check(classes);
    }
  }

  /** The rules bite here too: KvClient, the policy's gRPC shell, uses threads and a clock. */
  @Test
  void theRulesFireOnTheShellBesideThePolicy() {
    JavaClasses classes = production();
    assertThat(classes.contain(KvClient.class)).isTrue();
    assertThat(
            DeterminismRules.noThreadsOrConcurrency("io.raftkv.client")
                .evaluate(classes)
                .hasViolation())
        .isTrue();
    assertThat(DeterminismRules.noWallClock("io.raftkv.client").evaluate(classes).hasViolation())
        .isTrue();
  }
}
