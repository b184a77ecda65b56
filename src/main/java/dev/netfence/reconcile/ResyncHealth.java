package dev.netfence.reconcile;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether the resyncs keep up, for {@code /readyz}: an {@code applied} outcome stays true only while
 * resyncs read every live container's rules back, so a node whose resyncs fall behind or stop is
 * not ready, with the reason. A pass waits for its checks two intervals; one check may take up to
 * the correction deadline, and a host-guard sweep follows, so the bounds below add a grace of the
 * longer of one interval and that deadline. Not ready after two passes in a row that left live
 * containers unchecked (overdue) or failed (one such pass is a burst, two a node that does not keep
 * up), while a pass has run for two intervals and the grace (a journal retry or a sweep that does
 * not return), and when no pass finished for three intervals and the grace while one was due (the
 * resync thread gone); ready again once a pass finishes in time. Nothing is due while the
 * reconciler waits (standing by, the policy store not caught up): those have reasons of their own.
 * Times are the steady clock's, so a step of the wall clock neither hides nor fakes a stall.
 * Thread-safe.
 */
final class ResyncHealth {
    private final Clock steady;
    private final Duration interval;
    /** The longer of one interval and the correction deadline. */
    private final Duration grace;
    /** Bad passes in a row. */
    private int badInARow;
    /** When a pass last finished in time, or nothing was due. */
    private Instant good;
    /** When the pass under way started; null when none is. */
    private Instant running;
    /** Why the last pass that ended was not good; null when it was. */
    private String lastBad;

    ResyncHealth(Clock steady, Duration interval, Duration deadline) {
        this.steady = Objects.requireNonNull(steady, "steady");
        this.interval = Objects.requireNonNull(interval, "interval");
        this.grace = interval.compareTo(Objects.requireNonNull(deadline, "deadline")) >= 0 ? interval : deadline;
        this.good = steady.instant();
    }

    /** Nothing is due now (the reconciler waits): the wait for a pass starts again from here. */
    synchronized void idle() {
        if (running == null) {
            good = steady.instant();
        }
    }

    synchronized void started() {
        running = steady.instant();
    }

    /** The pass ended; {@code unchecked} of {@code live} containers were left unchecked after {@code bound} (null: none). */
    synchronized void finished(int unchecked, int live, Duration bound) {
        running = null;
        if (unchecked == 0) {
            good = steady.instant();
            lastBad = null;
            badInARow = 0;
        } else {
            badInARow++;
            lastBad = "resync overdue: " + unchecked + " of " + live + " live containers were not checked within "
                    + seconds(bound) + " s in the last pass (the next pass checks them first)";
        }
    }

    /** The pass ended with {@code failure}. */
    synchronized void failed(Throwable failure) {
        running = null;
        badInARow++;
        lastBad = "the last resync failed: " + failure;
    }

    /** Why the resyncs make this instance not ready, or empty. */
    synchronized Optional<String> notReadyReason() {
        Instant now = steady.instant();
        if (running != null && Duration.between(running, now).compareTo(interval.multipliedBy(2).plus(grace)) > 0) {
            return Optional.of("resync stuck: the pass that started " + seconds(Duration.between(running, now))
                    + " s ago has not returned (resync interval " + seconds(interval) + " s)");
        }
        if (badInARow >= 2) {
            return Optional.of(lastBad + "; " + badInARow + " passes in a row ended so");
        }
        if (running == null && Duration.between(good, now).compareTo(interval.multipliedBy(3).plus(grace)) > 0) {
            return Optional.of("no resync pass for " + seconds(Duration.between(good, now)) + " s (resync interval "
                    + seconds(interval) + " s)");
        }
        return Optional.empty();
    }

    private static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 || ms >= 10_000 ? Long.toString(ms / 1000) : String.format(java.util.Locale.ROOT, "%.1f", ms / 1000.0);
    }
}
