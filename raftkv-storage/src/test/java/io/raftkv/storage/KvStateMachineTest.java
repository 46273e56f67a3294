package io.raftkv.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.google.protobuf.ByteString;
import io.raftkv.proto.kvs.AppliedState;
import io.raftkv.proto.kvs.KvCommand;
import io.raftkv.proto.kvs.Status;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.storage.KvStateMachine.Applied;
import io.raftkv.storage.KvStateMachine.ApplyResult;
import io.raftkv.storage.KvStateMachine.Options;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksIterator;

class KvStateMachineTest {
  private static final NodeIdentity ME = new NodeIdentity("c1", 0);

  @TempDir Path dir;
  private RocksStore store;
  private KvStateMachine sm;
  private Options options = Options.defaults();

  /** The next index {@link #next} hands out. */
  private long nextIndex = 1;

  @BeforeEach
  void open() {
    store = RocksStore.open(dir, ME);
    sm = new KvStateMachine(store, options);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private void reopen() {
    store.close();
    open();
  }

  private void reopenWith(Options o) {
    options = o;
    reopen();
  }

  // ---- entry builders ----

  static KvCommand.Builder put(String key, String value) {
    return KvCommand.newBuilder()
        .setPut(KvCommand.Put.newBuilder().setKey(bytes(key)).setValue(bytes(value)));
  }

  static KvCommand.Builder append(String key, String value) {
    return KvCommand.newBuilder()
        .setAppend(KvCommand.Append.newBuilder().setKey(bytes(key)).setValue(bytes(value)));
  }

  static KvCommand.Builder delete(String key) {
    return KvCommand.newBuilder().setDelete(KvCommand.Delete.newBuilder().setKey(bytes(key)));
  }

  static Entry entry(long index, long term, KvCommand.Builder cmd) {
    return Entry.newBuilder()
        .setIndex(index)
        .setTerm(term)
        .setType(EntryType.ENTRY_NORMAL)
        .setData(cmd.build().toByteString())
        .build();
  }

  static Entry noop(long index, long term) {
    return Entry.newBuilder().setIndex(index).setTerm(term).setType(EntryType.ENTRY_NOOP).build();
  }

  /** An entry for the next index, term 1. */
  private Entry next(KvCommand.Builder cmd) {
    return entry(nextIndex++, 1, cmd);
  }

  /** A write of a registered session (as every leader proposes it since §6.3 registration). */
  private Entry next(long client, long seq, long time, KvCommand.Builder cmd) {
    return next(
        cmd.setClientId(client)
            .setSequence(seq)
            .setLeaderTimeMillis(time)
            .setRegisteredSessions(true));
  }

  static KvCommand.Builder registration(long time) {
    return KvCommand.newBuilder()
        .setRegisterClient(KvCommand.RegisterClient.getDefaultInstance())
        .setLeaderTimeMillis(time);
  }

  /** Registers a session (§6.3) at the next index, at leader time {@code time}; its client id. */
  private long register(long time) {
    Applied r = one(next(registration(time)));
    assertThat(r.status()).isEqualTo(Status.OK);
    return r.clientId();
  }

  /** Applies one entry, returning its result. */
  private Applied one(Entry e) {
    ApplyResult r = sm.apply(List.of(e));
    assertThat(r.results()).hasSize(1);
    return r.results().get(0);
  }

  private static ByteString bytes(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private String value(String key) {
    return sm.get(key.getBytes(UTF_8)).map(v -> new String(v, UTF_8)).orElse(null);
  }

  // ---- operations ----

  @Test
  void putGetAppendDelete() {
    assertThat(value("k")).isNull();
    assertThat(one(next(put("k", "v"))).status()).isEqualTo(Status.OK);
    assertThat(value("k")).isEqualTo("v");
    assertThat(one(next(put("k", "w"))).status()).isEqualTo(Status.OK);
    assertThat(value("k")).isEqualTo("w");
    assertThat(one(next(append("k", "xy"))).status()).isEqualTo(Status.OK);
    assertThat(value("k")).isEqualTo("wxy");
    assertThat(one(next(delete("k"))).status()).isEqualTo(Status.OK);
    assertThat(value("k")).isNull();
    assertThat(sm.appliedIndex()).isEqualTo(4);
  }

  @Test
  void appendToAMissingKeyActsLikePut() {
    assertThat(one(next(append("k", "a"))).status()).isEqualTo(Status.OK);
    assertThat(value("k")).isEqualTo("a");
  }

  @Test
  void emptyValuesAreValues() {
    one(next(put("k", "")));
    assertThat(sm.get("k".getBytes(UTF_8))).hasValueSatisfying(v -> assertThat(v).isEmpty());
    one(next(append("k", "")));
    assertThat(value("k")).isEmpty();
  }

  @Test
  void deleteOfAMissingKeyIsNoKeyAndChangesNothing() {
    Applied r = one(next(delete("k")));
    assertThat(r.status()).isEqualTo(Status.NO_KEY);
    assertThat(r.result().getMessage()).isEqualTo("no such key");
    assertThat(value("k")).isNull();
    assertThat(sm.appliedIndex()).isEqualTo(1);
  }

  @Test
  void emptyKeyOrMissingOperationIsInvalidAndChangesNothing() {
    assertThat(one(next(put("", "v"))).status()).isEqualTo(Status.INVALID_ARGUMENT);
    assertThat(one(next(append("", "v"))).status()).isEqualTo(Status.INVALID_ARGUMENT);
    assertThat(one(next(delete(""))).status()).isEqualTo(Status.INVALID_ARGUMENT);
    Applied none = one(next(KvCommand.newBuilder()));
    assertThat(none.status()).isEqualTo(Status.INVALID_ARGUMENT);
    assertThat(none.result().getMessage()).isEqualTo("the command has no operation");
    assertThat(sm.get(new byte[0])).isEmpty();
    assertThat(sm.appliedIndex()).isEqualTo(4);
  }

  @Test
  void entriesOfOneBatchSeeEachOthersWrites() {
    ApplyResult r =
        sm.apply(
            List.of(
                next(append("k", "a")),
                next(append("k", "b")),
                next(delete("k")),
                next(delete("k")),
                next(append("k", "c")),
                next(put("j", "1")),
                next(append("j", "2"))));
    assertThat(r.results())
        .extracting(Applied::status)
        .containsExactly(
            Status.OK, Status.OK, Status.OK, Status.NO_KEY, Status.OK, Status.OK, Status.OK);
    assertThat(r.results()).extracting(Applied::index).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L);
    assertThat(r.appliedIndex()).isEqualTo(7);
    assertThat(value("k")).isEqualTo("c");
    assertThat(value("j")).isEqualTo("12");
  }

  @Test
  void noopEntriesOnlyAdvanceTheAppliedIndex() {
    one(next(put("k", "v")));
    ApplyResult r = sm.apply(List.of(noop(2, 2), noop(3, 3)));
    assertThat(r.results()).extracting(Applied::index).containsExactly(2L, 3L);
    assertThat(r.results()).extracting(Applied::status).containsOnly(Status.OK);
    assertThat(r.results()).extracting(Applied::clientId).containsOnly(0L);
    assertThat(sm.appliedIndex()).isEqualTo(3);
    assertThat(sm.appliedTerm()).isEqualTo(3);
    assertThat(value("k")).isEqualTo("v");
    assertThat(dump(store.kvColumn())).hasSize(1);
    reopen();
    assertThat(sm.appliedIndex()).isEqualTo(3);
    assertThat(sm.appliedTerm()).isEqualTo(3);
  }

  @Test
  void anUnparsableEntryFailsAloneAndTheLogMovesOn() {
    Entry garbage =
        Entry.newBuilder()
            .setIndex(2)
            .setTerm(1)
            .setType(EntryType.ENTRY_NORMAL)
            .setData(ByteString.copyFrom(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}))
            .build();
    ApplyResult r =
        sm.apply(List.of(entry(1, 1, put("k", "v")), garbage, entry(3, 1, append("k", "w"))));
    assertThat(r.results())
        .extracting(Applied::status)
        .containsExactly(Status.OK, Status.INTERNAL, Status.OK);
    assertThat(r.results().get(1).result().getMessage()).startsWith("entry 2 is not a KV command");
    assertThat(sm.appliedIndex()).isEqualTo(3);
    assertThat(value("k")).isEqualTo("vw");
  }

  // ---- exactly-once ----

  @Test
  void aRetriedAppendIsAppliedOnce() {
    long c = register(1000);
    Applied first = one(next(c, 1, 1000, append("k", "a")));
    assertThat(first.duplicate()).isFalse();
    // The retry reached the log again (e.g. through a new leader): answered from the session.
    Applied retry = one(next(c, 1, 2000, append("k", "a")));
    assertThat(retry.duplicate()).isTrue();
    assertThat(retry.result()).isEqualTo(first.result());
    assertThat(retry.clientId()).isEqualTo(c);
    assertThat(retry.sequence()).isEqualTo(1);
    assertThat(value("k")).isEqualTo("a");

    // Twice in one batch too.
    ApplyResult r =
        sm.apply(List.of(next(c, 2, 3000, append("k", "b")), next(c, 2, 3000, append("k", "b"))));
    assertThat(r.results()).extracting(Applied::duplicate).containsExactly(false, true);
    assertThat(value("k")).isEqualTo("ab");
    assertThat(sm.session(c)).hasValueSatisfying(s -> assertThat(s.getLastSequence()).isEqualTo(2));
  }

  @Test
  void aRetryGetsTheCachedResultNotANewOne() {
    long c7 = register(0);
    long c8 = register(0);
    Applied first = one(next(c7, 1, 0, delete("k")));
    assertThat(first.status()).isEqualTo(Status.NO_KEY);
    one(next(c8, 1, 0, put("k", "v")));
    // Applied again now, the delete would succeed: the retry must answer what the write did.
    Applied retry = one(next(c7, 1, 0, delete("k")));
    assertThat(retry.duplicate()).isTrue();
    assertThat(retry.status()).isEqualTo(Status.NO_KEY);
    assertThat(value("k")).isEqualTo("v");
  }

  @Test
  void aRetriedAppendIsAppliedOnceAcrossARestart() {
    long c = register(0);
    Applied first = one(next(c, 1, 1000, append("k", "a")));
    reopen();
    assertThat(sm.session(c)).isPresent();
    Applied retry = one(next(c, 1, 1000, append("k", "a")));
    assertThat(retry.duplicate()).isTrue();
    assertThat(retry.result()).isEqualTo(first.result());
    assertThat(value("k")).isEqualTo("a");
    assertThat(one(next(c, 2, 1000, append("k", "b"))).duplicate()).isFalse();
    assertThat(value("k")).isEqualTo("ab");
  }

  @Test
  void aStaleSequenceIsRefusedAndChangesNothing() {
    long c = register(0);
    one(next(c, 1, 0, put("k", "1")));
    one(next(c, 2, 0, put("k", "2")));
    Applied stale = one(next(c, 1, 0, put("k", "1")));
    assertThat(stale.status()).isEqualTo(Status.INVALID_ARGUMENT);
    assertThat(stale.duplicate()).isFalse();
    assertThat(stale.result().getMessage()).contains("stale sequence 1");
    assertThat(value("k")).isEqualTo("2");
    assertThat(sm.session(c)).hasValueSatisfying(s -> assertThat(s.getLastSequence()).isEqualTo(2));
  }

  @Test
  void sequencesMayHaveGaps() {
    long c = register(0);
    one(next(c, 1, 0, append("k", "a")));
    assertThat(one(next(c, 5, 0, append("k", "b"))).status()).isEqualTo(Status.OK);
    assertThat(value("k")).isEqualTo("ab");
  }

  @Test
  void withoutASessionEveryCopyIsApplied() {
    one(next(0, 0, 0, append("k", "a")));
    one(next(0, 0, 0, append("k", "a")));
    assertThat(value("k")).isEqualTo("aa");
    assertThat(sm.sessionCount()).isZero();
  }

  @Test
  void aRegistrationOpensASessionWhoseClientIdIsItsLogIndex() {
    one(next(put("k", "v")));
    Applied r = one(next(registration(1000)));
    assertThat(r.index()).isEqualTo(2);
    assertThat(r.clientId()).as("§6.3: the registration's index is the client id").isEqualTo(2);
    assertThat(r.sequence()).isZero();
    assertThat(r.status()).isEqualTo(Status.OK);
    assertThat(sm.session(2))
        .hasValueSatisfying(
            s -> {
              assertThat(s.getLastSequence()).isZero();
              assertThat(s.getLastSeenIndex()).isEqualTo(2);
              assertThat(s.getLastSeenMillis()).isEqualTo(1000);
            });
    assertThat(one(next(2, 1, 1000, append("k", "w"))).status()).isEqualTo(Status.OK);
    assertThat(value("k")).isEqualTo("vw");
    reopen();
    assertThat(sm.session(2)).hasValueSatisfying(s -> assertThat(s.getLastSequence()).isOne());
  }

  /**
   * §6.3: the client id is the registration's log index, so two replicas applying the same entries
   * (in different batches) register the same ids and decide every write the same, evictions
   * included.
   */
  @Test
  void aRegistrationIsTheSameOnEveryReplica() {
    reopenWith(new Options(Duration.ofMinutes(10), 2));
    List<Entry> log = new ArrayList<>();
    log.add(next(registration(0))); // client 1
    log.add(next(1, 1, 0, append("k", "a")));
    log.add(next(registration(0))); // client 3
    log.add(next(registration(0))); // client 4: evicts client 1
    log.add(next(1, 1, 0, append("k", "a"))); // client 1's retry: expired
    log.add(next(3, 1, 0, append("k", "b")));
    log.add(next(9, 1, 0, append("k", "c"))); // an id never registered
    KvStateMachine other = new KvStateMachine(new MemoryKvEngine(), options);
    List<Applied> here = sm.apply(log).results();
    List<Applied> there = new ArrayList<>(other.apply(log.subList(0, 3)).results());
    there.addAll(other.apply(log.subList(3, log.size())).results());
    assertThat(there).isEqualTo(here);
    assertThat(here)
        .extracting(Applied::clientId, Applied::status)
        .containsExactly(
            tuple(1L, Status.OK),
            tuple(1L, Status.OK),
            tuple(3L, Status.OK),
            tuple(4L, Status.OK),
            tuple(1L, Status.SESSION_EXPIRED),
            tuple(3L, Status.OK),
            tuple(9L, Status.SESSION_EXPIRED));
    assertThat(value("k")).isEqualTo("ab");
    for (long id : new long[] {1, 3, 4, 9}) {
      assertThat(other.session(id)).isEqualTo(sm.session(id));
    }
  }

  @Test
  void aWriteNamingAnUnknownSessionIsSessionExpiredWhateverItsSequence() {
    for (long seq : new long[] {1, 2}) {
      Applied r = one(next(7, seq, 0, put("k", "v")));
      assertThat(r.status()).isEqualTo(Status.SESSION_EXPIRED);
      assertThat(r.result().getMessage())
          .isEqualTo(
              "the session of client 7 is unknown (never registered, expired or evicted); sequence "
                  + seq
                  + " was not applied now, register a new session");
    }
    assertThat(value("k")).isNull();
    assertThat(sm.sessionCount()).isZero();

    Applied zero = one(next(7, 0, 0, put("k", "v")));
    assertThat(zero.status()).isEqualTo(Status.INVALID_ARGUMENT);
    assertThat(value("k")).isNull();
    assertThat(sm.sessionCount()).isZero();
  }

  /**
   * The hole registration closes: a first write (sequence 1) applied, its session evicted by the
   * cap before the client heard the answer, then the retry. Without registration sequence 1 opened
   * a new session and the APPEND applied twice.
   */
  @Test
  void aFirstWriteRetriedAfterItsSessionWasEvictedIsSessionExpiredAndNotApplied() {
    reopenWith(new Options(Duration.ofMinutes(10), 2));
    long c = register(0);
    assertThat(one(next(c, 1, 0, append("k", "a"))).status()).isEqualTo(Status.OK);
    // Two other clients register: the cap of 2 evicts c, the least recently seen.
    register(0);
    ApplyResult evicting = sm.apply(List.of(next(registration(0))));
    assertThat(evicting.evictedSessions()).isEqualTo(1);
    assertThat(sm.session(c)).isEmpty();

    Applied retry = one(next(c, 1, 0, append("k", "a")));
    assertThat(retry.status()).isEqualTo(Status.SESSION_EXPIRED);
    assertThat(retry.duplicate()).isFalse();
    assertThat(value("k")).as("applied once").isEqualTo("a");
    assertThat(sm.session(c)).as("and no session reopened").isEmpty();
  }

  @Test
  void aFirstWriteRetriedAfterItsSessionExpiredIsSessionExpiredAndNotApplied() {
    reopenWith(new Options(Duration.ofSeconds(10), 100));
    long c = register(1_000);
    assertThat(one(next(c, 1, 1_000, append("k", "a"))).status()).isEqualTo(Status.OK);
    // The retry reaches the log more than the TTL later (a long partition): the session is gone.
    Applied retry = one(next(c, 1, 20_000, append("k", "a")));
    assertThat(retry.status()).isEqualTo(Status.SESSION_EXPIRED);
    assertThat(value("k")).isEqualTo("a");
    assertThat(sm.sessionCount()).isZero();
  }

  /**
   * Entries proposed before registration existed (no {@code registered_sessions}) keep their rule,
   * so a log written then replays as it was applied: sequence 1 of an unknown client starts a
   * session.
   */
  @Test
  void anEntryProposedBeforeRegistrationStartsItsSessionAtSequenceOne() {
    Applied first = one(next(put("k", "1").setClientId(7).setSequence(1)));
    assertThat(first.status()).isEqualTo(Status.OK);
    assertThat(sm.session(7)).isPresent();
    Applied second = one(next(put("k", "2").setClientId(7).setSequence(2)));
    assertThat(second.status()).isEqualTo(Status.OK);
    assertThat(one(next(put("k", "3").setClientId(8).setSequence(2))).status())
        .isEqualTo(Status.SESSION_EXPIRED);
    assertThat(value("k")).isEqualTo("2");
  }

  @Test
  void aRetryOfAnAppliedSequenceWithAnotherCommandIsAConflictNotOk() {
    long c = register(0);
    Applied first = one(next(c, 1, 1000, put("k", "1")));
    long seenAt = sm.session(c).orElseThrow().getLastSeenIndex();
    for (KvCommand.Builder other : List.of(put("k", "2"), put("j", "1"), append("k", "1"))) {
      Applied conflict = one(next(c, 1, 2000, other));
      assertThat(conflict.status()).isEqualTo(Status.INVALID_ARGUMENT);
      assertThat(conflict.duplicate()).isFalse();
      assertThat(conflict.result().getMessage())
          .contains("conflicting retry: sequence 1 of client " + Long.toHexString(c))
          .contains("was not applied");
    }
    assertThat(value("k")).isEqualTo("1");
    assertThat(value("j")).isNull();
    assertThat(sm.session(c).orElseThrow().getLastSeenIndex())
        .as("a conflict changes nothing, not even the session")
        .isEqualTo(seenAt);
    // The true retry still gets the cached result, after a restart too.
    reopen();
    Applied retry = one(next(c, 1, 3000, put("k", "1")));
    assertThat(retry.duplicate()).isTrue();
    assertThat(retry.result()).isEqualTo(first.result());
    assertThat(one(next(c, 1, 3000, delete("k"))).status()).isEqualTo(Status.INVALID_ARGUMENT);
  }

  @Test
  void aConflictIsDecidedTheSameOnEveryReplica() {
    Entry registration = next(registration(1000));
    long c = registration.getIndex();
    List<Entry> log =
        List.of(
            registration,
            next(c, 1, 1000, append("k", "a")),
            next(c, 1, 1000, append("k", "b")),
            next(c, 1, 1000, append("k", "a")),
            next(c, 2, 1000, append("k", "c")));
    KvStateMachine other =
        new KvStateMachine(new MemoryKvEngine(), Options.defaults()); // another replica's
    ApplyResult here = sm.apply(log);
    ApplyResult there = other.apply(log);
    assertThat(there.results()).isEqualTo(here.results());
    assertThat(here.results())
        .extracting(Applied::status)
        .containsExactly(Status.OK, Status.OK, Status.INVALID_ARGUMENT, Status.OK, Status.OK);
    assertThat(value("k")).isEqualTo("ac");
  }

  @Test
  void theDigestCoversOperationKeyAndValueOnly() {
    ByteString a = KvStateMachine.commandDigest(put("k", "v").setClientId(1).build());
    assertThat(KvStateMachine.commandDigest(put("k", "v").setLeaderTimeMillis(9).build()))
        .isEqualTo(a);
    assertThat(KvStateMachine.commandDigest(put("kv", "").build())).isNotEqualTo(a);
    assertThat(KvStateMachine.commandDigest(append("k", "v").build())).isNotEqualTo(a);
    assertThat(a.size()).isEqualTo(32);
  }

  @Test
  void failedOperationsAreCachedToo() {
    long c = register(0);
    one(next(c, 1, 0, put("", "v")));
    Applied retry = one(next(c, 1, 0, put("", "v")));
    assertThat(retry.duplicate()).isTrue();
    assertThat(retry.status()).isEqualTo(Status.INVALID_ARGUMENT);
  }

  // ---- restart and indexes ----

  @Test
  void aRestartResumesAfterTheAppliedIndexAndRefusesWhatWasApplied() {
    sm.apply(List.of(entry(1, 1, append("k", "a")), entry(2, 1, append("k", "b")), noop(3, 2)));
    reopen();
    assertThat(sm.appliedIndex()).isEqualTo(3);
    assertThat(sm.appliedTerm()).isEqualTo(2);

    // Raft, restored from the applied index, hands over 4.. only; entries handed over again (a
    // driver bug) are refused whole, never applied twice, and change nothing.
    List<Entry> again13 =
        List.of(entry(1, 1, append("k", "a")), entry(2, 1, append("k", "b")), noop(3, 2));
    assertThatThrownBy(() -> sm.apply(again13))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("cannot apply entry 1: expected entry 4 (the applied index is 3)");
    assertThat(value("k")).isEqualTo("ab");
    ApplyResult r = sm.apply(List.of(entry(4, 2, append("k", "c")), entry(5, 2, append("k", "d"))));
    assertThat(r.results()).extracting(Applied::index).containsExactly(4L, 5L);
    assertThat(value("k")).isEqualTo("abcd");

    assertThatThrownBy(() -> sm.apply(List.of(entry(5, 2, append("k", "d")))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(sm.appliedIndex()).isEqualTo(5);
    assertThat(value("k")).isEqualTo("abcd");
  }

  @Test
  void aGapIsRefusedBeforeAnythingIsApplied() {
    one(entry(1, 1, put("k", "v")));
    assertThatThrownBy(() -> sm.apply(List.of(entry(3, 1, put("k", "w")))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot apply entry 3: expected entry 2");
    assertThatThrownBy(
            () -> sm.apply(List.of(entry(2, 1, put("k", "w")), entry(4, 1, put("k", "x")))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(value("k")).isEqualTo("v");
    assertThat(sm.appliedIndex()).isEqualTo(1);
  }

  @Test
  void anUnreadableAppliedRecordIsCorruption() throws Exception {
    store.db().put(store.kvMetaColumn(), KvStateMachine.APPLIED_KEY, new byte[] {(byte) 0xff});
    store.close();
    store = RocksStore.open(dir, ME);
    assertThatThrownBy(() -> new KvStateMachine(store))
        .isInstanceOf(CorruptStorageException.class)
        .hasMessageContaining("applied index record is unreadable");
  }

  @Test
  void theAppliedStateIsWrittenWithTheChanges() throws Exception {
    sm.apply(List.of(entry(1, 4, put("k", "v").setLeaderTimeMillis(1234))));
    AppliedState state =
        AppliedState.parseFrom(store.db().get(store.kvMetaColumn(), KvStateMachine.APPLIED_KEY));
    assertThat(state)
        .isEqualTo(AppliedState.newBuilder().setIndex(1).setTerm(4).setClockMillis(1234).build());
  }

  @Test
  void anAppliedConfigurationIsRecordedWithTheAppliedIndexAndSurvivesAReopen() throws Exception {
    io.raftkv.proto.raft.ConfState conf =
        io.raftkv.proto.raft.ConfState.newBuilder()
            .addVoters(1)
            .addVoters(2)
            .addLearners(3)
            .build();
    sm.apply(
        List.of(
            entry(1, 4, put("k", "v")),
            io.raftkv.proto.raft.Entry.newBuilder()
                .setIndex(2)
                .setTerm(4)
                .setType(io.raftkv.proto.raft.EntryType.ENTRY_CONFIG)
                .setData(conf.toByteString())
                .build(),
            entry(3, 4, put("k", "w"))));
    assertThat(sm.configuration()).isEqualTo(conf);
    store.close();
    store = RocksStore.open(dir, ME);
    sm = new KvStateMachine(store);
    assertThat(sm.appliedIndex()).isEqualTo(3);
    assertThat(sm.configuration()).isEqualTo(conf);

    sm.recordConfiguration(io.raftkv.proto.raft.ConfState.getDefaultInstance());
    store.close();
    store = RocksStore.open(dir, ME);
    sm = new KvStateMachine(store);
    assertThat(sm.configuration().getVotersCount()).isZero();
    assertThat(sm.appliedIndex()).isEqualTo(3);
  }

  @Test
  void recordedDataHoldersAccumulateSurviveAReopenAndAreClearedForANewCluster() {
    KvCommand.Builder first =
        KvCommand.newBuilder()
            .setRecordDataHolders(KvCommand.RecordDataHolders.newBuilder().addNodeIds(2));
    KvCommand.Builder more =
        KvCommand.newBuilder()
            .setRecordDataHolders(
                KvCommand.RecordDataHolders.newBuilder().addNodeIds(0).addNodeIds(2));
    var results =
        sm.apply(List.of(entry(1, 1, first), entry(2, 1, put("k", "v")), entry(3, 1, more)));
    assertThat(results.results()).allSatisfy(a -> assertThat(a.status()).isEqualTo(Status.OK));
    assertThat(sm.dataHolders()).containsExactly(0, 2);
    assertThat(sm.get("k".getBytes(java.nio.charset.StandardCharsets.UTF_8))).isPresent();

    reopen();
    assertThat(sm.dataHolders()).containsExactly(0, 2);
    assertThat(sm.appliedIndex()).isEqualTo(3);

    sm.startNewCluster();
    reopen();
    assertThat(sm.dataHolders()).isEmpty();
    assertThat(sm.appliedIndex()).isEqualTo(3);
  }

  // ---- session expiry and bounds ----

  @Test
  void sessionsExpireByLeaderTime() {
    reopenWith(new Options(Duration.ofSeconds(10), 100));
    long c1 = register(1_000);
    long c2 = register(5_000);
    // 10 s after client 1 registered: not more than the TTL, it stays.
    long c3 = register(11_000);
    assertThat(sm.sessionCount()).isEqualTo(3);
    // A leader with a slower clock does not move the clock back (and expires nothing).
    one(next(c3, 1, 2_000, put("c", "1")));
    assertThat(sm.clockMillis()).isEqualTo(11_000);
    assertThat(sm.session(c3).orElseThrow().getLastSeenMillis()).isEqualTo(11_000);
    // 11.001 s after client 1: gone. Client 2 is still within its TTL.
    ApplyResult r = sm.apply(List.of(next(c3, 2, 11_001, put("c", "2"))));
    assertThat(r.expiredSessions()).isEqualTo(1);
    assertThat(sm.session(c1)).isEmpty();
    assertThat(sm.session(c2)).isPresent();
    assertThat(sm.sessionCount()).isEqualTo(2);

    // Client 1's first write finds no session: refused, as its retry could have been a duplicate.
    Applied late = one(next(c1, 1, 11_002, put("a", "1")));
    assertThat(late.status()).isEqualTo(Status.SESSION_EXPIRED);
    assertThat(value("a")).isNull();

    // The expiry was durable with the rest.
    reopenWith(options);
    assertThat(sm.session(c1)).isEmpty();
    assertThat(sm.sessionCount()).isEqualTo(2);
    assertThat(sm.clockMillis()).isEqualTo(11_002);
  }

  @Test
  void aClientsOwnIdleTimeExpiresItsSession() {
    reopenWith(new Options(Duration.ofSeconds(10), 100));
    long c = register(1_000);
    one(next(c, 1, 1_000, append("a", "x")));
    Applied later = one(next(c, 2, 20_000, append("a", "y")));
    assertThat(later.status()).isEqualTo(Status.SESSION_EXPIRED);
    assertThat(value("a")).isEqualTo("x");
  }

  @Test
  void sessionsAreBoundedEvictingTheLeastRecentlySeen() {
    reopenWith(new Options(Duration.ofMinutes(10), 3));
    long c1 = register(0);
    long c2 = register(0);
    long c3 = register(0);
    one(next(c1, 1, 0, put("k", "1")));
    ApplyResult r = sm.apply(List.of(next(registration(0))));
    long c4 = r.results().get(0).clientId();
    assertThat(r.evictedSessions()).isEqualTo(1);
    assertThat(sm.session(c2)).isEmpty();
    assertThat(sm.session(c1)).isPresent();
    assertThat(sm.session(c3)).isPresent();
    assertThat(sm.session(c4)).isPresent();

    long last = 0;
    for (int i = 0; i < 1000; i++) {
      last = register(0);
      one(next(last, 1, 0, put("k", "x")));
      assertThat(sm.sessionCount()).isLessThanOrEqualTo(3);
    }
    assertThat(sm.sessionCount()).isEqualTo(3);
    assertThat(sessionKeys()).hasSize(3);
    reopenWith(options);
    assertThat(sm.sessionCount()).isEqualTo(3);
    assertThat(sm.session(last)).isPresent();
  }

  /**
   * Two replicas fed the same entries, in different batches and with restarts on one of them, end
   * with the same data, sessions and answers: expiry and eviction depend only on the log.
   */
  @Test
  void replicasExpireAndEvictIdentically(@TempDir Path other) {
    Options opts = new Options(Duration.ofMillis(500), 8);
    reopenWith(opts);
    Random random = new Random(42);
    List<Entry> log = new ArrayList<>();
    long time = 1_000;
    long[] seq = new long[30];
    long[] id = new long[seq.length];
    KvCommand[] sent = new KvCommand[seq.length];
    for (long i = 1; i <= 3000; i++) {
      if (random.nextInt(20) == 0) {
        log.add(noop(i, 1));
        continue;
      }
      time += random.nextInt(40) - 10; // leaders' clocks drift back sometimes
      int client = random.nextInt(seq.length);
      // A client registers before its first write (§6.3), and now and then again (as after an
      // expiry); its writes name the index of its registration.
      if (id[client] == 0 || random.nextInt(50) == 0) {
        log.add(entry(i, 1, registration(time)));
        id[client] = i;
        seq[client] = 0;
        continue;
      }
      // Mostly the next sequence; sometimes a retry (now and then a conflicting one: another
      // command under the same sequence), a stale one, or one after a long silence.
      int dice = random.nextInt(10);
      boolean retry = false;
      if (dice > 1 || seq[client] == 0) {
        seq[client]++;
      } else if (dice == 1 && seq[client] > 1) {
        seq[client]--;
      } else {
        retry = random.nextInt(4) > 0;
      }
      String key = "k" + random.nextInt(5);
      KvCommand.Builder op =
          switch (random.nextInt(3)) {
            case 0 -> put(key, "v" + i);
            case 1 -> append(key, "+" + i);
            default -> delete(key);
          };
      if (retry) {
        op = sent[client].toBuilder();
      } else {
        sent[client] = op.clone().build();
      }
      log.add(
          entry(
              i,
              1,
              op.setClientId(id[client])
                  .setSequence(seq[client])
                  .setLeaderTimeMillis(time)
                  .setRegisteredSessions(true)));
    }

    List<Applied> mine = new ArrayList<>();
    for (Entry e : log) {
      mine.addAll(sm.apply(List.of(e)).results());
    }

    List<Applied> theirs = new ArrayList<>();
    Random chunks = new Random(7);
    try (RocksStore s2 = RocksStore.open(other, new NodeIdentity("c1", 1))) {
      KvStateMachine sm2 = new KvStateMachine(s2, opts);
      int from = 0;
      while (from < log.size()) {
        int to = Math.min(log.size(), from + 1 + chunks.nextInt(200));
        theirs.addAll(sm2.apply(log.subList(from, to)).results());
        from = to;
      }
      assertThat(theirs).isEqualTo(mine);
      assertThat(dump(s2, s2.kvColumn())).isEqualTo(dump(store.kvColumn()));
      assertThat(dump(s2, s2.kvMetaColumn())).isEqualTo(dump(store.kvMetaColumn()));
    }
    // The run exercised what it is about.
    assertThat(mine).extracting(Applied::status).contains(Status.SESSION_EXPIRED, Status.NO_KEY);
    assertThat(mine).anyMatch(Applied::duplicate);
    assertThat(mine).anyMatch(a -> a.result().getMessage().startsWith("stale sequence"));
    assertThat(mine).anyMatch(a -> a.result().getMessage().startsWith("conflicting retry"));
    assertThat(sm.sessionCount()).isLessThanOrEqualTo(8);

    // A third replica that restarts every few hundred entries and resumes after its applied index.
    Path third = other.resolve("third");
    List<Applied> restarted = new ArrayList<>();
    for (int from = 0; from < log.size(); from += 250) {
      try (RocksStore s3 = RocksStore.open(third, new NodeIdentity("c1", 2))) {
        KvStateMachine sm3 = new KvStateMachine(s3, opts);
        int start = (int) sm3.appliedIndex() - (int) log.get(0).getIndex() + 1;
        restarted.addAll(sm3.apply(log.subList(start, Math.min(log.size(), from + 250))).results());
      }
    }
    assertThat(restarted).isEqualTo(mine);
    try (RocksStore s3 = RocksStore.open(third, new NodeIdentity("c1", 2))) {
      assertThat(dump(s3, s3.kvColumn())).isEqualTo(dump(store.kvColumn()));
      assertThat(dump(s3, s3.kvMetaColumn())).isEqualTo(dump(store.kvMetaColumn()));
    }
  }

  @Test
  void getMayRunConcurrentlyWithApply() throws Exception {
    AtomicBoolean done = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread reader =
        new Thread(
            () -> {
              try {
                while (!done.get()) {
                  long applied = sm.appliedIndex();
                  String v = value("k");
                  // Entry i appends one character: what is visible covers the applied index.
                  assertThat(v == null ? 0 : v.length()).isGreaterThanOrEqualTo((int) applied);
                }
              } catch (Throwable t) {
                failure.set(t);
              }
            });
    reader.start();
    for (int i = 0; i < 500; i++) {
      one(next(append("k", "x")));
    }
    done.set(true);
    reader.join();
    assertThat(failure.get()).isNull();
    assertThat(value("k")).hasSize(500);
  }

  // ---- helpers ----

  private List<String> sessionKeys() {
    return dump(store.kvMetaColumn()).stream().filter(s -> s.startsWith("73")).toList();
  }

  private List<String> dump(ColumnFamilyHandle cf) {
    return dump(store, cf);
  }

  /** Every key and value of a column family, hex, in key order. */
  private static List<String> dump(RocksStore s, ColumnFamilyHandle cf) {
    HexFormat hex = HexFormat.of();
    List<String> out = new ArrayList<>();
    try (RocksIterator it = s.db().newIterator(cf)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        out.add(hex.formatHex(it.key()) + "=" + hex.formatHex(it.value()));
      }
    }
    return out;
  }
}
