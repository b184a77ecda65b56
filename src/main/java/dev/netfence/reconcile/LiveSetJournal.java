package dev.netfence.reconcile;

import java.util.concurrent.CompletableFuture;

/**
 * Where the live set is written so that a restarted netfence can rebuild it without reading the
 * events topic again: in production the compacted {@code sandbox.enforcements} topic
 * ({@link EnforcementsTopic}), one record per container keyed by containerId, a tombstone when it
 * is released. Called under the container's lock, so the writes of one container are ordered.
 */
public interface LiveSetJournal extends AutoCloseable {
    /** The container's current state (a new entry or a changed one). */
    void record(LiveContainer container);

    /** The container was released. */
    void remove(String containerId);

    /**
     * Completes when the container's last write so far is acknowledged or has failed (a failed
     * one is written again at {@link #retryFailed}); at once when nothing of it is pending.
     */
    default CompletableFuture<Void> settled(String containerId) {
        return CompletableFuture.completedFuture(null);
    }

    /** Writes again what the journal failed to write (each resync); how many entries. */
    default int retryFailed() {
        return 0;
    }

    /** How many containers' last writes are not acknowledged yet (queued, in flight, or failed). */
    default int unwrittenCount() {
        return 0;
    }

    @Override
    default void close() {
    }

    /** Keeps nothing (tests, dry runs). */
    LiveSetJournal NONE = new LiveSetJournal() {
        @Override
        public void record(LiveContainer container) {
        }

        @Override
        public void remove(String containerId) {
        }
    };
}
