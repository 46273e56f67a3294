package io.raftkv.sim;

import io.raftkv.proto.raft.RaftMessage;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * The simulated network between nodes {@code 0..n-1}. Every directed link is connected or cut on
 * its own, so partitions of any shape can be built, including non-transitive ones (A–B and B–C
 * connected, A–C cut). Each link has a {@link LinkProfile} (loss, duplication, delay, FIFO); on top
 * of that, the long-reordering mode holds about 2/3 of all messages back by 200 ms plus up to 2 s,
 * as the course's harness does.
 *
 * <p>A message is lost if its link is cut when it is sent or when it arrives. Whether the receiver
 * is up is the {@link Receiver}'s business: a message to a crashed node is dropped on delivery.
 *
 * <p>Thread-safety: none; owned by the simulation thread. All randomness comes from the generator
 * given at construction.
 */
public final class SimNetwork {

  /** Long reordering holds a message back by 200 ms plus up to this much more. */
  static final long MAX_HOLD_BACK_EXTRA_MILLIS = 2_000;

  /** The longest any message can take with the built-in profiles and long reordering. */
  public static final long MAX_DELAY_MILLIS =
      LinkProfile.UNRELIABLE.maxDelayMillis() + 200 + MAX_HOLD_BACK_EXTRA_MILLIS;

  /** Where delivered messages go. */
  interface Receiver {
    /**
     * @return whether a live node took the message
     */
    boolean deliver(RaftMessage message);
  }

  private final int n;
  private final EventQueue queue;
  private final RandomGenerator random;
  private final Receiver receiver;
  private final boolean[][] connected;
  private final LinkProfile[][] profiles;
  private final long[][] lastFifoDelivery;
  private boolean longReordering;
  private boolean longReorderingRepliesOnly;

  private final long[] rpcsReceived;
  private long totalBytes;
  private long messagesSent;
  private long messagesDelivered;

  SimNetwork(int n, EventQueue queue, RandomGenerator random, Receiver receiver) {
    this.n = n;
    this.queue = queue;
    this.random = random;
    this.receiver = receiver;
    this.connected = new boolean[n][n];
    this.profiles = new LinkProfile[n][n];
    this.lastFifoDelivery = new long[n][n];
    this.rpcsReceived = new long[n];
    for (int a = 0; a < n; a++) {
      Arrays.fill(connected[a], true);
      Arrays.fill(profiles[a], LinkProfile.RELIABLE);
    }
  }

  // ---------------------------------------------------------------- topology

  public boolean isConnected(int from, int to) {
    return connected[from][to];
  }

  /** Cuts or restores the directed link {@code from -> to}. */
  public void setConnected(int from, int to, boolean up) {
    connected[from][to] = up;
  }

  /** Restores every link. */
  public void connectAll() {
    for (boolean[] row : connected) {
      Arrays.fill(row, true);
    }
  }

  /** Cuts or restores every link to and from {@code node}. */
  public void setNodeConnected(int node, boolean up) {
    for (int other = 0; other < n; other++) {
      if (other != node) {
        connected[node][other] = up;
        connected[other][node] = up;
      }
    }
  }

  // ---------------------------------------------------------------- link behaviour

  public LinkProfile profile(int from, int to) {
    return profiles[from][to];
  }

  /** Gives every link {@code profile}. */
  public void setAllProfiles(LinkProfile profile) {
    for (LinkProfile[] row : profiles) {
      Arrays.fill(row, profile);
    }
  }

  /** Sets the duplication probability of every link, keeping the rest of each profile. */
  public void setDuplicateProbability(double probability) {
    for (int a = 0; a < n; a++) {
      for (int b = 0; b < n; b++) {
        profiles[a][b] = profiles[a][b].withDuplicate(probability);
      }
    }
  }

  public void setLongReordering(boolean on) {
    longReordering = on;
  }

  /**
   * Whether long reordering holds back replies only, as the course's harness does (its RPC replies
   * are delayed, its requests are not), instead of every message. Off by default.
   */
  public void setLongReorderingRepliesOnly(boolean repliesOnly) {
    longReorderingRepliesOnly = repliesOnly;
  }

  public boolean longReordering() {
    return longReordering;
  }

  // ---------------------------------------------------------------- traffic

  /** Puts {@code m} on the wire from {@code m.getFrom()} to {@code m.getTo()}. */
  void send(RaftMessage m) {
    totalBytes += m.getSerializedSize();
    messagesSent++;
    int from = m.getFrom();
    int to = m.getTo();
    if (to < 0 || to >= n || !connected[from][to]) {
      return;
    }
    LinkProfile p = profiles[from][to];
    if (p.drop() > 0 && random.nextDouble() < p.drop()) {
      return;
    }
    int copies = p.duplicate() > 0 && random.nextDouble() < p.duplicate() ? 2 : 1;
    for (int c = 0; c < copies; c++) {
      long delay =
          p.minDelayMillis() + random.nextLong(p.maxDelayMillis() - p.minDelayMillis() + 1);
      boolean heldBack =
          longReordering && !(longReorderingRepliesOnly && isRequest(m)) && random.nextInt(3) < 2;
      if (heldBack) {
        delay += 200 + random.nextLong(MAX_HOLD_BACK_EXTRA_MILLIS + 1);
      }
      long at = queue.now() + delay;
      if (p.fifo() && !heldBack) {
        at = Math.max(at, lastFifoDelivery[from][to]);
        lastFifoDelivery[from][to] = at;
      }
      queue.at(at, () -> arrive(m));
    }
  }

  private void arrive(RaftMessage m) {
    if (!connected[m.getFrom()][m.getTo()]) {
      return;
    }
    if (receiver.deliver(m)) {
      messagesDelivered++;
      if (isRequest(m)) {
        rpcsReceived[m.getTo()]++;
      }
    }
  }

  /** Vote requests (PreVote included), append requests and TimeoutNow are RPCs; replies are not. */
  static boolean isRequest(RaftMessage m) {
    return m.hasVoteRequest() || m.hasAppendRequest() || m.hasTimeoutNow();
  }

  // ---------------------------------------------------------------- counters

  /** RPCs (requests, not replies) delivered to {@code node} since the last reset. */
  public long rpcsReceived(int node) {
    return rpcsReceived[node];
  }

  /** Serialized bytes of every message sent (requests and replies) since the last reset. */
  public long totalBytes() {
    return totalBytes;
  }

  public long messagesSent() {
    return messagesSent;
  }

  public long messagesDelivered() {
    return messagesDelivered;
  }

  public void resetCounters() {
    Arrays.fill(rpcsReceived, 0);
    totalBytes = 0;
    messagesSent = 0;
    messagesDelivered = 0;
  }
}
