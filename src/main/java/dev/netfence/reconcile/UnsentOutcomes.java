package dev.netfence.reconcile;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What this instance knows of each container's reconciler outcomes: how many are on their way
 * (handed to the outcome order, their send not settled), whether the last one that settled was not
 * published (its send failed for good, or the publisher was closing:
 * {@link OutcomePublisher#publishTracked} completed exceptionally), so that the next resync that
 * finds such a container as recorded publishes its state again, and whether every one sent since
 * the last was taken back is acknowledged, so that its live-set entry's mark of an outcome not
 * acknowledged may go ({@link OutcomeMarks}). A container of which nothing is known here (none
 * sent by this instance) whose entry carries that mark was read back so from the journal: its
 * outcome never reached the topic as far as anyone knows. Before, the entry recorded an outcome
 * as reported whether or not it went out, and the outcomes topic kept saying what was true before
 * (an update's {@code applied}, a delete's quarantine) until the state changed again (helper 189
 * #3), and, since the mark lived only here, for good after a restart (review 200 #2). An outcome
 * that follows the failed one is held until the failure is known ({@link OutcomeOrder}), so a
 * failure is at worst one outcome said twice. Thread-safe (one monitor: outcomes are few).
 */
final class UnsentOutcomes {
    /** Outcomes on their way, by container (absent: none). */
    private final Map<String, Integer> sending = new HashMap<>();
    /** Containers whose last settled outcome was not published. */
    private final Set<String> failed = new HashSet<>();
    /** Containers whose outcomes sent here are all acknowledged, the entry's mark not cleared yet. */
    private final Set<String> acknowledged = new HashSet<>();

    /** An outcome of {@code containerId} is about to be sent; it says the state now (earlier failures are moot). */
    synchronized void sending(String containerId) {
        failed.remove(containerId);
        acknowledged.remove(containerId);
        sending.merge(containerId, 1, Integer::sum);
    }

    /**
     * An outcome of {@code containerId} settled, {@code published} or not; whether every outcome
     * of it sent here is now acknowledged (none on its way, none failed). One of a container
     * forgotten meanwhile (released) leaves nothing behind.
     */
    synchronized boolean settled(String containerId, boolean published) {
        Integer before = sending.get(containerId);
        if (before == null) {
            return false;
        }
        if (before == 1) {
            sending.remove(containerId);
        } else {
            sending.put(containerId, before - 1);
        }
        if (!published) {
            failed.add(containerId);
            acknowledged.remove(containerId);
            return false;
        }
        if (before == 1 && !failed.contains(containerId)) {
            acknowledged.add(containerId);
            return true;
        }
        return false;
    }

    /** {@code containerId}'s last outcome did not go out (one sent without a settlement to wait for). */
    synchronized void unsent(String containerId) {
        failed.add(containerId);
        acknowledged.remove(containerId);
    }

    /** Whether {@code containerId}'s last outcome did not go out; forgets that (the caller publishes again). */
    synchronized boolean takeBack(String containerId) {
        return failed.remove(containerId);
    }

    /** Whether every outcome of {@code containerId} sent here is acknowledged; forgets that (the caller clears the mark). */
    synchronized boolean takeAcknowledged(String containerId) {
        return !sending.containsKey(containerId) && acknowledged.remove(containerId);
    }

    /** Whether nothing is known here of {@code containerId}'s outcomes: none on its way, failed or acknowledged. */
    synchronized boolean nothingKnown(String containerId) {
        return !sending.containsKey(containerId) && !failed.contains(containerId)
                && !acknowledged.contains(containerId);
    }

    /** The container is released: nothing of it to say again. */
    synchronized void forget(String containerId) {
        sending.remove(containerId);
        failed.remove(containerId);
        acknowledged.remove(containerId);
    }
}
