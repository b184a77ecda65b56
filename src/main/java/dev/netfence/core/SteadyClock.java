package dev.netfence.core;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * A clock for measuring how long something took or has waited, which no step of the wall clock
 * moves: it starts at the wall clock's instant and then advances with {@link System#nanoTime}
 * only. The pipeline's stall and health checks run on it, so an NTP step or an operator's
 * {@code date -s} of minutes neither hides a stalled partition (a step back) nor fakes one (a step
 * forward). Its instants are for differences, not for timestamps anyone reads: outcomes and logs
 * keep the wall clock. {@link #system()} is the process's one timeline for deadlines: an event's
 * or a correction's deadline is set on it, and every step that checks one (the enforcer, the
 * namespace threads, the flush) reads the same instance, so no two of them can disagree by a step
 * that fell between their starts. Immutable and thread-safe.
 */
public final class SteadyClock extends Clock {
    private final Instant origin;
    private final long originNanos;
    private final LongSupplier nanos;
    private final ZoneId zone;

    private SteadyClock(Instant origin, long originNanos, LongSupplier nanos, ZoneId zone) {
        this.origin = origin;
        this.originNanos = originNanos;
        this.nanos = nanos;
        this.zone = zone;
    }

    /**
     * The process's steady clock: started at the system clock's instant when first asked for,
     * advancing with {@link System#nanoTime}. Deadlines are set and checked on it.
     */
    public static SteadyClock system() {
        return SystemHolder.CLOCK;
    }

    /** A steady clock starting at {@code wall}'s instant now, advancing with {@link System#nanoTime}. */
    public static SteadyClock startingAt(Clock wall) {
        return startingAt(wall, System::nanoTime);
    }

    /** As {@link #startingAt(Clock)}, advancing with {@code nanos} (a tick source in nanoseconds). */
    public static SteadyClock startingAt(Clock wall, LongSupplier nanos) {
        Objects.requireNonNull(wall, "wall");
        Objects.requireNonNull(nanos, "nanos");
        return new SteadyClock(wall.instant(), nanos.getAsLong(), nanos, wall.getZone());
    }

    @Override
    public Instant instant() {
        return origin.plusNanos(nanos.getAsLong() - originNanos);
    }

    @Override
    public ZoneId getZone() {
        return zone;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return new SteadyClock(origin, originNanos, nanos, Objects.requireNonNull(zone, "zone"));
    }

    private static final class SystemHolder {
        static final SteadyClock CLOCK = startingAt(Clock.systemUTC());
    }
}
