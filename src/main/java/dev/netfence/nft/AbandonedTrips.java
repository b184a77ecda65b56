package dev.netfence.nft;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * The trips of {@link NamespaceThreads} abandoned past their caller's deadline and still running,
 * counted by namespace: until they are over, a trip into their namespace is refused
 * ({@link #refusal}, LOCK_CONTENDED), for its firewall is being committed to without pause, and
 * while at most {@code max} are abandoned a new thread takes an abandoned one's place. One lock
 * guards the counts and the compare-and-set that abandons a trip, so that a trip's end
 * ({@link #released}) is never counted before its abandonment. A class of its own so that the
 * thread pool keeps to its threads and their trips.
 */
final class AbandonedTrips {
    /** The namespaces with abandoned trips still running, and how many each (guarded by itself). */
    private final Map<NamespaceId, Integer> stuck = new HashMap<>();
    private final int max;

    /** {@code max}: the most abandoned trips at a time that a new thread replaces. */
    AbandonedTrips(int max) {
        this.max = max;
    }

    /** The refusal of a trip into namespace {@code id}, where an abandoned one still runs. */
    static EnforcementException refusal(NamespaceId id) {
        return new EnforcementException(ErrorCode.LOCK_CONTENDED, "an earlier trip into namespace " + id
                + " is still running past its deadline (its firewall is being committed to without pause?)");
    }

    /** Whether an abandoned trip into namespace {@code id} still runs. */
    boolean into(NamespaceId id) {
        synchronized (stuck) {
            return stuck.containsKey(id);
        }
    }

    /** How many trips were abandoned and are still running. */
    int count() {
        synchronized (stuck) {
            return countLocked();
        }
    }

    /**
     * Abandons {@code task} when it is inside its namespace (true): its namespace is marked, and
     * {@code task.replaced} says whether a thread is to be started in its place (while at most
     * {@code max} are abandoned and the threads are not {@code closed}); else (on its way home) false.
     */
    boolean abandon(TripTask<?> task, BooleanSupplier closed) {
        synchronized (stuck) { // with the CAS inside, released() cannot run before the count is up
            if (!task.state.compareAndSet(TripTask.ENTERED, TripTask.ABANDONED)) {
                return false;
            }
            stuck.merge(task.expected, 1, Integer::sum);
            int abandoned = countLocked();
            task.replaced = abandoned <= max && !closed.getAsBoolean(); // else the thread stays in the pool once back
        }
        return true;
    }

    /** An abandoned trip into namespace {@code id} is over (its thread home or discarded). */
    void released(NamespaceId id) {
        synchronized (stuck) {
            stuck.computeIfPresent(id, (k, n) -> n == 1 ? null : n - 1);
        }
    }

    private int countLocked() {
        return stuck.values().stream().mapToInt(Integer::intValue).sum();
    }
}
