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
    /** The last ticket {@link #sending} handed out. */
    private long tickets;
    /** Outcomes on their way, by container: the tickets of those not settled yet (absent: none). */
    private final Map<String, Set<Long>> sending = new HashMap<>();
    /** Containers whose last settled outcome was not published. */
    private final Set<String> failed = new HashSet<>();
    /** Containers whose outcomes sent here are all acknowledged, the entry's mark not cleared yet. */
    private final Set<String> acknowledged = new HashSet<>();

    /**
     * An outcome of {@code containerId} is about to be sent; it says the state now (earlier failures
     * are moot). Its ticket, which its settlement must name ({@link #settled}).
     */
    synchronized long sending(String containerId) {
        failed.remove(containerId);
        acknowledged.remove(containerId);
        long ticket = ++tickets;
        sending.computeIfAbsent(containerId, id -> new HashSet<>()).add(ticket);
        return ticket;
    }

    /**
     * The outcome of {@code containerId} that {@link #sending} gave {@code ticket} settled,
     * {@code published} or not; whether every outcome of it sent here is now acknowledged (none on
     * its way, none failed). A ticket not on its way counts for nothing: one settled already, or
     * handed out before the container was forgotten (released), so that no outcome's settlement
     * counts for another's (review 203 #3: a correction sent again, or an older one of an id
     * forgotten and used again, took a later one's count to zero and cleared its mark in flight).
     */
    synchronized boolean settled(String containerId, long ticket, boolean published) {
        Set<Long> on = sending.get(containerId);
        if (on == null || !on.remove(ticket)) {
            return false;
        }
        if (on.isEmpty()) {
            sending.remove(containerId);
        }
        if (!published) {
            failed.add(containerId);
            acknowledged.remove(containerId);
            return false;
        }
        if (on.isEmpty() && !failed.contains(containerId)) {
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
