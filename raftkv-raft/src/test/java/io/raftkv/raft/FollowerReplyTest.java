package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.ids;
import static io.raftkv.raft.TestNetwork.log;
import static io.raftkv.raft.TestNetwork.paperConfig;
import static io.raftkv.raft.TestNetwork.state;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.AppendEntriesResponse;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.RaftMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Figure 2's AppendEntries receiver: what a follower answers, and the conflict hint of §5.3. */
class FollowerReplyTest {

  private static Raft follower(long term, long commit, List<Entry> entries) {
    Raft r =
        new Raft(paperConfig(2, ids(3)), new SplittableRandom(2), state(term, commit, entries));
    answers(r);
    return r;
  }

  private static List<AppendEntriesResponse> answers(Raft r) {
    List<AppendEntriesResponse> out = new ArrayList<>();
    while (r.hasReady()) {
      Ready rd = r.ready();
      rd.messages().stream()
          .filter(RaftMessage::hasAppendResponse)
          .forEach(m -> out.add(m.getAppendResponse()));
      r.advance(rd);
    }
    return out;
  }

  private static RaftMessage append(long term, long prevIndex, long prevTerm) {
    return RaftMessage.newBuilder()
        .setFrom(1)
        .setTo(2)
        .setTerm(term)
        .setAppendRequest(
            AppendEntriesRequest.newBuilder().setPrevLogIndex(prevIndex).setPrevLogTerm(prevTerm))
        .build();
  }

  /**
   * Figure 2, receiver rule 2 with index 0: the empty prefix matches every log, so an empty append
   * after index 0 always succeeds (matching up to 0), even on an empty log.
   */
  @Test
  void emptyAppendAfterTheEmptyPrefixSucceeds() {
    Raft r = follower(1, 0, List.of());
    r.step(append(1, 0, 0));
    assertThat(answers(r))
        .singleElement()
        .matches(AppendEntriesResponse::getSuccess)
        .matches(a -> a.getMatchIndex() == 0);
  }

  /**
   * §5.3: "the follower can include the term of the conflicting entry and the first index it stores
   * for that term": a follower holding term 2 from index 3 to 5 names term 2 and index 3.
   */
  @Test
  void followerNamesTheFirstIndexOfItsConflictingTerm() {
    Raft r = follower(2, 1, log(1, 1, 2, 2, 2));
    r.step(append(3, 5, 3));
    AppendEntriesResponse reply = answers(r).get(0);
    assertThat(reply.getSuccess()).isFalse();
    assertThat(reply.getRejectedIndex()).isEqualTo(5);
    assertThat(reply.getConflictTerm()).isEqualTo(2);
    assertThat(reply.getConflictIndex()).isEqualTo(3);
  }
}
