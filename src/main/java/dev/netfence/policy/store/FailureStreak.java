package dev.netfence.policy.store;

import java.time.Duration;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Failures in a row of something retried for ever (a policy reader's polls): when the streak
 * began and the last failure, so that readiness can say the reader is failing, and why, instead of
 * a log line per retry nobody reads. A success ends the streak. Thread-safe: written by the
 * reader's thread, read by readiness.
 */
final class FailureStreak {
    private final LongSupplier nanoTime;
    private volatile long since;
    private volatile boolean failing;
    private volatile String last;

    FailureStreak() {
        this(System::nanoTime);
    }

    FailureStreak(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    void failed(String what) {
        if (!failing) {
            since = nanoTime.getAsLong();
            failing = true;
        }
        last = what;
    }

    void succeeded() {
        failing = false;
    }

    /** "{@code doing} has failed for N s: LAST" once the streak is at least {@code after} long; else empty. */
    Optional<String> reason(String doing, Duration after) {
        if (!failing) {
            return Optional.empty();
        }
        long nanos = nanoTime.getAsLong() - since;
        return nanos < after.toNanos() ? Optional.empty()
                : Optional.of(doing + " has failed for " + nanos / 1_000_000_000L + " s: " + last);
    }
}
