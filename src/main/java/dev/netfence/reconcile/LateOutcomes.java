package dev.netfence.reconcile;

import dev.netfence.event.Outcome;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * The event outcomes {@link OutcomeOrder} counted out after its hold without their being reported,
 * and the correction that went out after each, so that one reported late after all is followed
 * by that correction again. An event outcome may land long after its hold: exactly-once, behind a
 * record stuck at its deadline in the same partition's transaction; at-least-once, behind a
 * producer that retries for up to its delivery timeout. A correction released by the hold then
 * lands before it, and the late outcome reads as the container's current state, which it is not.
 * Sending the last correction again puts the current state last. Only while no event of the
 * container was expected since that correction: that event's outcome comes through the same
 * producer and partition as the late one, after it, and is newer than the correction. Nor for an
 * outcome the pipeline dropped (a dead letter replaced it, its partition went): nothing landed. Kept for
 * {@link #KEPT} (longer than any producer retries), at most {@link #MAX} at a time (more are not
 * remembered, and their late outcome is not followed). Not thread-safe: {@link OutcomeOrder} calls
 * it under its monitor.
 */
final class LateOutcomes {
    /** How long an event counted out is remembered. */
    static final Duration KEPT = Duration.ofMinutes(15);
    /** Events counted out remembered at most. */
    static final int MAX = 10_000;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LateOutcomes.class);
    private final Map<String, Map<String, Late>> byContainer = new HashMap<>();
    private int size;
    private boolean warned;

    /** An event counted out at {@code since}, and the last correction of its container sent after that (null: none). */
    private static final class Late {
        final Instant since;
        Outcome after;

        Late(Instant since) {
            this.since = since;
        }
    }

    /**
     * Event {@code eventId} of {@code containerId} was counted out at {@code now} without its
     * outcome; false when too many are remembered (told once in the log).
     */
    boolean countedOut(String containerId, String eventId, Instant now) {
        if (size >= MAX) {
            if (!warned) {
                warned = true;
                LOG.warn("{} event outcomes counted out are remembered already: a late outcome of one counted out"
                        + " past that is not followed by the correction sent meanwhile (not told again)", MAX);
            }
            return false;
        }
        if (byContainer.computeIfAbsent(containerId, c -> new HashMap<>()).put(eventId, new Late(now)) == null) {
            size++;
        }
        return true;
    }

    /**
     * Corrections of {@code containerId} were sent: {@code newest}, the last of them, is what must
     * follow a late outcome of an event counted out before; null when an event is queued behind
     * them (its outcome follows the late one and is newer, so none must).
     */
    void sent(String containerId, Outcome newest) {
        Map<String, Late> late = byContainer.get(containerId);
        if (late != null) {
            late.values().forEach(l -> l.after = newest);
        }
    }

    /**
     * Event {@code eventId} of {@code containerId} is expected: one counted out of that id is
     * handled again (forgotten), and no correction sent before needs to follow the others (this
     * event's outcome will, and is newer).
     */
    void expected(String containerId, String eventId) {
        Map<String, Late> late = byContainer.get(containerId);
        if (late != null) {
            if (late.remove(eventId) != null) {
                size--;
            }
            late.values().forEach(l -> l.after = null);
            if (late.isEmpty()) {
                byContainer.remove(containerId);
            }
        }
    }

    /**
     * The outcome of event {@code eventId} of {@code containerId} is out ({@code landed}: on the
     * topic, not dropped): if it was counted out before and a correction went out after that, the
     * correction to send again (logged); else null. The event is forgotten either way.
     */
    Outcome reported(String containerId, String eventId, boolean landed) {
        Map<String, Late> late = byContainer.get(containerId);
        Late l = late == null ? null : late.remove(eventId);
        if (l == null) {
            return null;
        }
        size--;
        if (late.isEmpty()) {
            byContainer.remove(containerId);
        }
        if (!landed || l.after == null) {
            return null;
        }
        LOG.warn("the outcome of event {} of container {} was reported after its hold, behind the {} outcome sent"
                + " meanwhile; that outcome is sent again so the container's current state is last", eventId, containerId,
                l.after.trigger());
        return l.after;
    }

    /** Forgets the events counted out before {@code now} minus {@link #KEPT}. */
    void forget(Instant now) {
        Instant cutoff = now.minus(KEPT);
        for (Iterator<Map<String, Late>> containers = byContainer.values().iterator(); containers.hasNext(); ) {
            Map<String, Late> late = containers.next();
            for (Iterator<Late> it = late.values().iterator(); it.hasNext(); ) {
                if (it.next().since.isBefore(cutoff)) {
                    it.remove();
                    size--;
                }
            }
            if (late.isEmpty()) {
                containers.remove();
            }
        }
    }

    /** How many events counted out are remembered (tests). */
    int size() {
        return size;
    }
}
