package dev.netfence.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The system's UTC clock, stepped as NTP or {@code date -s} would step it: once {@link #stepOnEveryRead}
 * is called, every read first moves the clock forward by that step, so any two reads of it (a
 * deadline set, then checked) are at least one step apart. Thread-safe.
 */
public final class SteppingClock extends Clock {
    private final AtomicLong offsetNanos = new AtomicLong();
    private volatile long stepNanos;

    /** From now on, each read steps the clock forward by {@code step} first. */
    public void stepOnEveryRead(Duration step) {
        stepNanos = step.toNanos();
    }

    @Override
    public Instant instant() {
        return Instant.now().plusNanos(offsetNanos.addAndGet(stepNanos));
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("a SteppingClock is UTC only");
    }
}
