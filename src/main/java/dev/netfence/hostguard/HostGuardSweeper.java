package dev.netfence.hostguard;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link HostGuards#sweep()} on a timer, on one daemon thread, so a guard whose container is
 * gone (its host interface vanished) is removed within one interval even when no event says so.
 * A failing sweep is logged and retried at the next tick. {@code netfence run} runs it beside the
 * reconciler, which releases a stopped container's guard at once but resyncs only every
 * {@code --resync-interval}. Under {@code --host-guard off} a sweep removes whatever chain the
 * table holds, an earlier run's or one an instance under {@code auto} wrote since
 * ({@link EarlierRunChains}).
 */
public final class HostGuardSweeper implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HostGuardSweeper.class);
    /** Default interval between sweeps. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "netfence-host-guard-sweep");
        thread.setDaemon(true);
        return thread;
    });

    /** Starts sweeping {@code guards} every {@code interval}. */
    public HostGuardSweeper(HostGuards guards, Duration interval) {
        this(guards, interval, () -> false);
    }

    /**
     * As above, skipping the sweeps while {@code paused} says so (this instance stands by for
     * another of its node, which keeps the table: under {@code off} a sweep would remove the chains
     * a new instance under {@code auto} writes in a rolling update, review 210).
     */
    public HostGuardSweeper(HostGuards guards, Duration interval, java.util.function.BooleanSupplier paused) {
        Objects.requireNonNull(guards, "guards");
        Objects.requireNonNull(paused, "paused");
        if (interval.isZero() || interval.isNegative()) {
            throw new IllegalArgumentException("interval must be positive, was: " + interval);
        }
        timer.scheduleWithFixedDelay(() -> {
            try {
                if (!paused.getAsBoolean()) {
                    guards.sweep();
                }
            } catch (RuntimeException e) {
                LOG.warn("host guard sweep failed (retried in {}): {}", interval, e.getMessage());
            }
        }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
