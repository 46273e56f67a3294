package io.raftkv.bench;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.maintenance.StatusResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * etcd's Maintenance API per member (what {@code etcdctl endpoint status} and {@code etcdctl
 * defrag} use): one jetcd client for all members, each call addressed to one member's URL. A member
 * that does not answer yields null, never an exception.
 */
final class EtcdAdmin implements AutoCloseable {
  private final List<String> urls;
  private final Client client;

  EtcdAdmin(List<String> urls) {
    this.urls = List.copyOf(urls);
    this.client =
        Client.builder()
            .endpoints(urls.toArray(String[]::new))
            .connectTimeout(Duration.ofSeconds(2))
            .build();
  }

  /** Member i's status (its raft index, backend size, leader), or null within the deadline. */
  StatusResponse status(int member, long deadlineMs) {
    try {
      return client
          .getMaintenanceClient()
          .statusMember(urls.get(member))
          .get(deadlineMs, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return null;
    }
  }

  /** The member that is leader (as the first member that answers tells), or -1. */
  int leader() {
    for (int i = 0; i < urls.size(); i++) {
      StatusResponse st = status(i, 2000);
      if (st != null && st.getLeader() != 0) {
        for (int j = 0; j < urls.size(); j++) {
          StatusResponse other = j == i ? st : status(j, 2000);
          if (other != null && other.getHeader().getMemberId() == st.getLeader()) {
            return j;
          }
        }
      }
    }
    return -1;
  }

  /** Defragments member i's backend (etcd never does it on its own); false if it failed. */
  boolean defragment(int member) {
    try {
      client.getMaintenanceClient().defragmentMember(urls.get(member)).get(120, TimeUnit.SECONDS);
      return true;
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return false;
    }
  }

  @Override
  public void close() {
    client.close();
  }
}
