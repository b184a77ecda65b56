package dev.netfence.app;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.MeterNames;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuardSweeper;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.netns.CommandRunner;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host guards as {@code netfence run} starts them ({@code --host-guard}): made over the real
 * kernel, a previous run's chains adopted (under {@code auto} or {@code required}: kept where their
 * interface still exists, the rest removed; under {@code off}: every one removed, since nothing in
 * {@code table netdev netfence} is netfence's to keep then), counted in
 * {@code netfence_host_guards}, and swept every {@code sweepInterval} on a timer. A table that
 * cannot be read at start fails the start under {@code required} ({@link IllegalStateException}),
 * is logged under {@code auto} (every apply tries again), and under {@code off} leaves
 * {@link #notReadyReason} set until a sweep clears the table. A dry run gets inert guards: off,
 * nothing read or removed, no timer.
 */
public final class HostGuardStart implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HostGuardStart.class);
    /**
     * Host guards that never read or write the host table whatever the mode (those of a dry run):
     * for a test's {@code netfence run} that must leave the host table to the tests that hold the
     * machine's lock.
     */
    public static final Starter INERT = (mode, dryRun, runner, registry, sweepInterval) ->
            start(mode, true, runner, registry, sweepInterval);

    /** How {@code netfence run} starts its host guards: {@link #start(HostGuardMode, boolean, CommandRunner, MeterRegistry, Duration)}. */
    @FunctionalInterface
    public interface Starter {
        HostGuardStart start(HostGuardMode mode, boolean dryRun, CommandRunner runner, MeterRegistry registry,
                Duration sweepInterval);
    }

    private final HostGuards guards;
    /** Null for a dry run. */
    private final HostGuardSweeper sweeper;

    /** Whether this instance stands by ({@link #standingBy}): its sweeps are skipped. */
    private final java.util.concurrent.atomic.AtomicBoolean standingBy;

    private HostGuardStart(HostGuards guards, HostGuardSweeper sweeper) {
        this(guards, sweeper, new java.util.concurrent.atomic.AtomicBoolean());
    }

    private HostGuardStart(HostGuards guards, HostGuardSweeper sweeper,
            java.util.concurrent.atomic.AtomicBoolean standingBy) {
        this.guards = guards;
        this.sweeper = sweeper;
        this.standingBy = standingBy;
    }

    /** Makes, adopts and starts sweeping the host guards of {@code mode} (inert ones when {@code dryRun}). */
    public static HostGuardStart start(HostGuardMode mode, boolean dryRun, CommandRunner runner, MeterRegistry registry,
            Duration sweepInterval) {
        Objects.requireNonNull(mode, "mode");
        return start(HostGuards.create(dryRun ? HostGuardMode.OFF : mode, runner), dryRun, registry, sweepInterval);
    }

    /** As {@link #start(HostGuardMode, boolean, CommandRunner, MeterRegistry, Duration)} with {@code guards} made already. */
    static HostGuardStart start(HostGuards guards, boolean dryRun, MeterRegistry registry, Duration sweepInterval) {
        Objects.requireNonNull(guards, "guards");
        Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(sweepInterval, "sweepInterval");
        Gauge.builder(MeterNames.HOST_GUARDS, guards, HostGuards::count)
                .description("host interfaces guarded by netfence's host table").register(registry);
        if (dryRun) {
            return new HostGuardStart(guards, null);
        }
        try {
            guards.adopt(); // never throws under off: a failure is the guards' notReadyReason
        } catch (EnforcementException e) {
            if (guards.mode() == HostGuardMode.REQUIRED) {
                throw new IllegalStateException("--host-guard required, but the host table is unusable: "
                        + e.getMessage(), e);
            }
            LOG.warn("host guard: cannot read netfence's host table at start ({}); every apply will try again",
                    e.getMessage());
        }
        // a guard whose interface vanished goes within one sweep (also without any event or resync); under off,
        // a chain another run writes later
        java.util.concurrent.atomic.AtomicBoolean standingBy = new java.util.concurrent.atomic.AtomicBoolean();
        return new HostGuardStart(guards, new HostGuardSweeper(guards, sweepInterval, standingBy::get), standingBy);
    }

    /**
     * This instance stands by for another of its node ({@code true}) or joins again: no sweep runs
     * meanwhile (under {@code off} one would remove the chains the other, under {@code auto} in a
     * rolling update, writes; under {@code auto} the other sweeps).
     */
    public void standingBy(boolean on) {
        standingBy.set(on);
    }

    public HostGuards guards() {
        return guards;
    }

    /** Why the host table may hold chains that drop what a policy allows (under off, an earlier run's not yet removed). */
    public Optional<String> notReadyReason() {
        return guards.notReadyReason();
    }

    /** Stops the sweeps; the host table stays as it is. */
    @Override
    public void close() {
        if (sweeper != null) {
            sweeper.close();
        }
    }
}
