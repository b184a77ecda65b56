package dev.netfence.reconcile;

import dev.netfence.policy.store.PolicyStore;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When a {@link Reconciler}'s resync passes ({@link ResyncPasses}) run: the first as soon as the
 * policy store has caught up, then one every {@code interval} (±10% jitter), and one more now when
 * asked ({@link #soon}), all on one daemon thread, {@code netfence-resync}, so that no two
 * overlap. A pass waits for its checks at most two intervals, and none runs while the reconciler
 * waits (standing by, or the journal not read again yet: {@link StandbyGate}). A pass that fails,
 * an Error included, is logged and the next one is scheduled all the same: uncaught, no resync
 * would ever be scheduled again. A class of its own so that the reconciler keeps to what is
 * corrected and when, and this one to when everything is read back.
 */
final class ResyncSchedule {
    /** Reconciler's category, as before this class was split from it (operators' log settings name it). */
    private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);

    private final ResyncPasses passes;
    private final ResyncHealth health;
    private final PolicyStore policies;
    private final Duration interval;
    /** Whether the reconciler is closed. */
    private final BooleanSupplier closed;
    /** Whether the reconciler waits: no pass then. */
    private final BooleanSupplier waiting;
    private final ScheduledExecutorService scheduler;

    ResyncSchedule(ResyncPasses passes, ResyncHealth health, PolicyStore policies, Duration interval,
            BooleanSupplier closed, BooleanSupplier waiting) {
        this.passes = Objects.requireNonNull(passes, "passes");
        this.health = Objects.requireNonNull(health, "health");
        this.policies = Objects.requireNonNull(policies, "policies");
        this.interval = Objects.requireNonNull(interval, "interval");
        this.closed = Objects.requireNonNull(closed, "closed");
        this.waiting = Objects.requireNonNull(waiting, "waiting");
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "netfence-resync"));
    }

    /** Schedules the first pass, which runs once the policy store has caught up. */
    void start() {
        scheduler.schedule(this::firstCycle, 0, TimeUnit.MILLISECONDS);
    }

    /** One resync pass on the resync thread now, besides the scheduled ones. */
    void soon() {
        try {
            scheduler.execute(() -> {
                try {
                    if (!waiting.getAsBoolean()) { // fenced again meanwhile: nothing
                        passes.run(interval.multipliedBy(2));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (RuntimeException | Error e) {
                    LOG.error("resync failed; the next one is scheduled", e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closed meanwhile: nothing to resync
        }
    }

    /** Stops the resync thread, interrupting a pass under way; nothing is scheduled any more. */
    void close() {
        scheduler.shutdownNow();
    }

    private void firstCycle() {
        while (!closed.getAsBoolean() && !policies.isCaughtUp()) {
            health.idle(); // the store's own reason says why meanwhile
            sleep(100);
        }
        cycle();
    }

    private void cycle() {
        if (closed.getAsBoolean()) {
            return;
        }
        try {
            if (!waiting.getAsBoolean()) {
                passes.run(interval.multipliedBy(2));
            } else {
                health.idle();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (RuntimeException | Error e) { // an Error too: uncaught, no resync would ever be scheduled again
            LOG.error("resync failed; the next one is scheduled", e);
        }
        long base = interval.toMillis();
        long jittered = base + ThreadLocalRandom.current().nextLong(-base / 10, base / 10 + 1);
        if (!closed.getAsBoolean()) {
            scheduler.schedule(this::cycle, Math.max(1, jittered), TimeUnit.MILLISECONDS);
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
