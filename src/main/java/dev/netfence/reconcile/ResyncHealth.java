package dev.netfence.reconcile;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether the resyncs keep up, for {@code /readyz}: an {@code applied} outcome stays true only while
 * resyncs read every live container's rules back, so a node whose resyncs fall behind or stop is
 * not ready, with the reason. Not ready after a pass that left live containers unchecked (overdue)
 * or that failed, while a pass has been running for three intervals (a journal retry or a
 * host-guard sweep that does not return), and when no pass finished for four intervals while one
 * was due (the resync thread gone); ready again once a pass finishes in time. Nothing is due while
 * the reconciler waits (standing by, the policy store not caught up): those have reasons of their
 * own. Times are the steady clock's, so a step of the wall clock neither hides nor fakes a stall.
 * Thread-safe.
 */
final class ResyncHealth {
    private final Clock steady;
    private final Duration interval;
    /** When a pass last finished in time, or nothing was due. */
    private Instant good;
    /** When the pass under way started; null when none is. */
    private Instant running;
    /** Why the last pass that ended was not good; null when it was. */
    private String lastBad;

    ResyncHealth(Clock steady, Duration interval) {
        this.steady = Objects.requireNonNull(steady, "steady");
        this.interval = Objects.requireNonNull(interval, "interval");
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
        } else {
            lastBad = "resync overdue: " + unchecked + " of " + live + " live containers were not checked within "
                    + seconds(bound) + " s in the last pass (the next pass checks them first)";
        }
    }

    /** The pass ended with {@code failure}. */
    synchronized void failed(Throwable failure) {
        running = null;
        lastBad = "the last resync failed: " + failure;
    }

    /** Why the resyncs make this instance not ready, or empty. */
    synchronized Optional<String> notReadyReason() {
        Instant now = steady.instant();
        if (running != null && Duration.between(running, now).compareTo(interval.multipliedBy(3)) > 0) {
            return Optional.of("resync stuck: the pass that started " + seconds(Duration.between(running, now))
                    + " s ago has not returned (resync interval " + seconds(interval) + " s)");
        }
        if (lastBad != null) {
            return Optional.of(lastBad);
        }
        if (running == null && Duration.between(good, now).compareTo(interval.multipliedBy(4)) > 0) {
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
