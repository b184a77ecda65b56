package dev.netfence.ops;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * Liveness and readiness state of the service loop, as {@link HealthCheck}s for
 * {@link MetricsServer}. The consumer loop calls {@link #beat()} on every poll; liveness is down
 * when the loop has stopped or has not beaten for longer than the stall threshold (a wedged loop
 * should be restarted by the orchestrator). Readiness is down until the pipeline calls
 * {@link #ready()} (partitions assigned and the policy store caught up) and again whenever it
 * reports {@link #notReady(String)}. All state is volatile: the HTTP threads only read it.
 */
public final class LoopHealth {

    private final Clock clock;
    private final Duration stallThreshold;
    private volatile Instant lastBeat;
    private volatile String stoppedReason;
    private volatile HealthStatus readiness = HealthStatus.down("starting");

    /**
     * @param stallThreshold how long the loop may go without a beat before liveness fails;
     *                       should exceed the poll timeout plus the longest commit
     */
    public LoopHealth(Clock clock, Duration stallThreshold) {
        this.clock = Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(stallThreshold, "stallThreshold");
        if (stallThreshold.isNegative() || stallThreshold.isZero()) {
            throw new IllegalArgumentException("stallThreshold must be positive, was " + stallThreshold);
        }
        this.stallThreshold = stallThreshold;
        this.lastBeat = clock.instant();
    }

    /** Called by the loop on every iteration. */
    public void beat() {
        lastBeat = clock.instant();
    }

    /** The loop has ended (shutdown or fatal error); liveness is down from now on. */
    public void stopped(String reason) {
        stoppedReason = Objects.requireNonNull(reason, "reason");
        readiness = HealthStatus.down(reason);
    }

    /** Partitions are assigned and the policy store has caught up. */
    public void ready() {
        if (stoppedReason == null) {
            readiness = HealthStatus.up();
        }
    }

    /** Not ready, with the reason shown by {@code /readyz}. */
    public void notReady(String reason) {
        readiness = HealthStatus.down(reason);
    }

    /** Up while the loop runs and beats. */
    public HealthCheck liveness() {
        return () -> {
            String stopped = stoppedReason;
            if (stopped != null) {
                return HealthStatus.down("loop stopped: " + stopped);
            }
            Duration silent = Duration.between(lastBeat, clock.instant());
            if (silent.compareTo(stallThreshold) > 0) {
                return HealthStatus.down("loop stalled: no poll for " + silent.toMillis() + " ms");
            }
            return HealthStatus.up();
        };
    }

    /** Up once {@link #ready()} was called and nothing since said otherwise. */
    public HealthCheck readiness() {
        return () -> readiness;
    }
}
