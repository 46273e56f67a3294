package io.raftkv.linearizability;

import java.util.Objects;

/** An operation on raftkv's key-value service, as {@link KvModel} sees it. */
public sealed interface KvInput permits KvInput.Get, KvInput.Put, KvInput.Append, KvInput.Delete {

  /** The key the operation is on. */
  String key();

  /** Reads {@code key}. */
  static KvInput get(String key) {
    return new Get(key);
  }

  /** Sets {@code key} to {@code value}. */
  static KvInput put(String key, String value) {
    return new Put(key, value);
  }

  /**
   * Appends {@code value} to {@code key}'s value (to the empty string if {@code key} is absent).
   */
  static KvInput append(String key, String value) {
    return new Append(key, value);
  }

  /** Removes {@code key}. */
  static KvInput delete(String key) {
    return new Delete(key);
  }

  /**
   * GET: returns the value, or {@link KvOutput#noKey()}.
   *
   * @param key the key
   */
  record Get(String key) implements KvInput {
    /** Checks the key. */
    public Get {
      Objects.requireNonNull(key);
    }

    @Override
    public String toString() {
      return "Get(" + key + ")";
    }
  }

  /**
   * PUT: returns {@link KvOutput#ok()}.
   *
   * @param key the key
   * @param value the new value
   */
  record Put(String key, String value) implements KvInput {
    /** Checks the arguments. */
    public Put {
      Objects.requireNonNull(key);
      Objects.requireNonNull(value);
    }

    @Override
    public String toString() {
      return "Put(" + key + ", " + value + ")";
    }
  }

  /**
   * APPEND: returns {@link KvOutput#ok()}.
   *
   * @param key the key
   * @param value what to append
   */
  record Append(String key, String value) implements KvInput {
    /** Checks the arguments. */
    public Append {
      Objects.requireNonNull(key);
      Objects.requireNonNull(value);
    }

    @Override
    public String toString() {
      return "Append(" + key + ", " + value + ")";
    }
  }

  /**
   * DELETE: returns {@link KvOutput#ok()}, or {@link KvOutput#noKey()} (changing nothing) when the
   * key was absent.
   *
   * @param key the key
   */
  record Delete(String key) implements KvInput {
    /** Checks the key. */
    public Delete {
      Objects.requireNonNull(key);
    }

    @Override
    public String toString() {
      return "Delete(" + key + ")";
    }
  }
}
