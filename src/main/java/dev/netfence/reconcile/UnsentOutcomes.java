package dev.netfence.reconcile;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The containers whose last reconciler outcome was not published (its send failed for good, or
 * the publisher was closing: {@link OutcomePublisher#publishTracked} completed exceptionally), so
 * that the next resync that finds such a container as recorded publishes its state again. Before,
 * the entry recorded the outcome as reported whether or not it went out, and the outcomes topic
 * kept saying what was true before (an update's {@code applied}, a delete's quarantine) until the
 * state changed again (helper 189 #3). An outcome that follows the failed one is held until the
 * failure is known ({@link OutcomeOrder}), so a mark is at worst one outcome said twice.
 * Thread-safe.
 */
final class UnsentOutcomes {
    private final Set<String> ids = ConcurrentHashMap.newKeySet();

    /** {@code containerId}'s last outcome did not go out. */
    void unsent(String containerId) {
        ids.add(containerId);
    }

    /** Whether {@code containerId}'s last outcome did not go out; forgets that (the caller publishes again). */
    boolean takeBack(String containerId) {
        return ids.remove(containerId);
    }

    /** The container is released: nothing of it to say again. */
    void forget(String containerId) {
        ids.remove(containerId);
    }
}
