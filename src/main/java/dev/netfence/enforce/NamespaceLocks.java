package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * One lock per namespace being written, so two events for containers that share a namespace (the
 * containers of one pod) write and verify one after the other. Interleaved, each would read back
 * the other's half-done work: two hook insertions would duplicate the hook, and two repairs
 * computed from the same read-back would each delete hooks the other already deleted, which the
 * kernel refuses (RULES_REJECTED, a permanent failure for a valid policy). A lock exists only
 * while someone holds or waits for it; turns are taken in arrival order. Waiting is bounded by
 * the request's deadline (TIMEOUT). Not reentrant. Thread-safe.
 */
final class NamespaceLocks {
    /** Held until closed; closing twice is harmless. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    private static final class Entry {
        final Semaphore turn = new Semaphore(1, true);
        int users;
    }

    private final Map<NamespaceId, Entry> entries = new HashMap<>();

    /** Waits for {@code namespace}'s lock until {@code deadline}; TIMEOUT when it passes first. */
    Held lock(NamespaceId namespace, Deadline deadline) {
        Entry entry;
        synchronized (entries) {
            entry = entries.computeIfAbsent(namespace, k -> new Entry());
            entry.users++;
        }
        boolean locked = false;
        try {
            locked = entry.turn.tryAcquire(deadline.remaining().toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnforcementException(ErrorCode.INTERNAL, "interrupted waiting to write into " + namespace, e);
        } finally {
            if (!locked) {
                leave(namespace, entry);
            }
        }
        if (!locked) {
            throw new EnforcementException(ErrorCode.TIMEOUT,
                    "the deadline passed waiting for another write into " + namespace);
        }
        return new Held() {
            private boolean closed;

            @Override
            public synchronized void close() {
                if (!closed) {
                    closed = true;
                    entry.turn.release();
                    leave(namespace, entry);
                }
            }
        };
    }

    /** How many namespaces have a lock right now (held or waited for). */
    int size() {
        synchronized (entries) {
            return entries.size();
        }
    }

    private void leave(NamespaceId namespace, Entry entry) {
        synchronized (entries) {
            if (--entry.users == 0) {
                entries.remove(namespace);
            }
        }
    }
}
