package dev.netfence.ops;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * Liveness of the consumer loop, as a {@link HealthCheck} for {@code /healthz}. The loop calls
 * {@link #beat()} at the start of every round (and while it deliberately waits); liveness is down
 * when the loop has ended ({@link #stopped}) or has not beaten for longer than the stall threshold,
 * so a poll thread that is alive but stuck is restarted by the orchestrator. Readiness is the
 * pipeline's own ({@code EventPipeline.notReadyReason()}). The state is volatile: the HTTP
 * threads only read it.
 */
public final class LoopHealth {

    private final Clock clock;
    private final Duration stallThreshold;
    private volatile Instant lastBeat;
    private volatile String stoppedReason;

    /**
     * @param stallThreshold how long the loop may go without a beat before liveness fails;
     *                       should exceed the longest a healthy round blocks
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

    /** Called by the loop on every round. */
    public void beat() {
        lastBeat = clock.instant();
    }

    /** The loop has ended (shutdown or fatal error); liveness is down from now on. */
    public void stopped(String reason) {
        stoppedReason = Objects.requireNonNull(reason, "reason");
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
}
