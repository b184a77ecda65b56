package dev.netfence.reconcile;

import dev.netfence.event.Outcome;

/**
 * Where the reconciler's own outcomes go (corrections that no event asked for): in production
 * the outcomes topic, keyed by containerId with the same headers as event outcomes. Must not
 * block for long; thread-safe.
 */
@FunctionalInterface
public interface OutcomePublisher {
    void publish(Outcome outcome);

    /**
     * Publishes like {@link #publish}; the future completes normally once the outcome is
     * acknowledged, and exceptionally once it is known not to be published (failed, dropped, the
     * publisher closing: logged and counted by the publisher). Either way it completes. This
     * default knows no acknowledgement and completes at once.
     */
    default java.util.concurrent.CompletableFuture<Void> publishTracked(Outcome outcome) {
        publish(outcome);
        return java.util.concurrent.CompletableFuture.completedFuture(null);
    }

    /**
     * The longest {@link #publishTracked}'s future takes to complete: the outcome order holds what
     * follows a sent outcome that long before it stops waiting for the acknowledgement. This
     * default completes at once.
     */
    default java.time.Duration settlesWithin() {
        return java.time.Duration.ZERO;
    }
}
