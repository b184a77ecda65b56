package dev.netfence.enforce;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What one reconciliation found changed and set about repairing, whichever of its steps found it:
 * the quiet check's host-chain repair before it handed the container to the full attempt, and each
 * full attempt's read-back of the namespace and of the host chain. A retry, or the full attempt
 * after a quiet check, reads back what the step before it already repaired and finds it equal;
 * without this the outcome would report no drift, and a workload that tampers and then makes one
 * step fail retryably (a verification that keeps changing, a contended turn) would never show in
 * {@code drift} or in the repair count. Kept in the order found, each difference once. Used by the
 * reconciling thread only (the host guard's thread reports through its result), but safe anyway.
 */
final class RepairsFound {
    private final Set<String> found = new LinkedHashSet<>();

    /** Notes {@code drift}, a difference repaired (or about to be); null is nothing. */
    synchronized void add(String drift) {
        if (drift != null) {
            found.add(drift);
        }
    }

    /** Every difference noted, each once, in the order found, joined as {@link Quarantines#both} joins two; null when none. */
    synchronized String all() {
        return found.isEmpty() ? null : String.join("; ", found);
    }
}
