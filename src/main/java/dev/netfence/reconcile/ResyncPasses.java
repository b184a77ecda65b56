package dev.netfence.reconcile;

import dev.netfence.event.Trigger;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Reconciler}'s resync passes: each queues a check of every live container (after
 * retrying failed journal writes), waits for them at most a bound, then sweeps the host guards.
 * A pass still waiting at its bound is overdue: logged with what it left, counted
 * ({@code netfence.resync.overdue}), and the cycle goes on (its checks stay queued, none twice);
 * the next pass queues its checks of the containers left unchecked with the policy updates, in
 * turn, not behind them, so a storm of updates cannot hold their read-backs off for good. A pass
 * done in time is timed ({@code netfence.resync.duration}) and counted; how each pass ended is
 * told to {@link ResyncHealth} ({@code /readyz}). One pass at a time.
 */
final class ResyncPasses {
    private static final Logger LOG = LoggerFactory.getLogger(ResyncPasses.class);

    /** Queues a correction (see {@link CorrectionQueue#submit}). */
    interface Submitter {
        boolean submit(String containerId, Trigger trigger, int priority, Runnable after);
    }

    private final LiveSet live;
    private final Submitter submitter;
    private final HostGuards guards;
    private final CorrectionQueue queue;
    private final Timer duration;
    private final Counter overdue;
    private final AtomicLong done = new AtomicLong();
    private final ResyncHealth health;
    /** The containers the last pass left unchecked (it was overdue). */
    private volatile Set<String> leftUnchecked = Set.of();

    ResyncPasses(LiveSet live, Submitter submitter, HostGuards guards, CorrectionQueue queue, MeterRegistry registry,
            ResyncHealth health) {
        this.live = live;
        this.health = health;
        this.submitter = submitter;
        this.guards = guards;
        this.queue = queue;
        this.duration = Timer.builder("netfence.resync.duration")
                .description("one full resync: read back every live container's rules")
                .register(registry);
        this.overdue = Counter.builder("netfence.resync.overdue")
                .description("resyncs whose checks were not all done within two resync intervals").register(registry);
    }

    /** One pass, waiting for its checks at most {@code bound} (null: until they are done); true when done. */
    boolean run(Duration bound) throws InterruptedException {
        health.started();
        try {
            return pass(bound);
        } catch (InterruptedException | RuntimeException | Error e) {
            health.failed(e);
            throw e;
        }
    }

    private boolean pass(Duration bound) throws InterruptedException {
        Timer.Sample sample = Timer.start();
        live.retryJournal();
        var snapshot = live.all();
        CountDownLatch checks = new CountDownLatch(snapshot.size());
        Set<String> unchecked = ConcurrentHashMap.newKeySet();
        Set<String> left = leftUnchecked;
        for (LiveContainer c : snapshot) {
            String id = c.containerId();
            unchecked.add(id);
            Runnable checked = () -> {
                unchecked.remove(id);
                checks.countDown();
            };
            if (!submitter.submit(id, Trigger.DRIFT, left.contains(id) ? 0 : 1, checked)) {
                checked.run(); // one of its kind is queued already
            }
        }
        boolean finished = true;
        if (bound == null) {
            checks.await();
        } else {
            finished = checks.await(bound.toMillis(), TimeUnit.MILLISECONDS);
        }
        // what was left at the bound, before the sweep: a check done during a slow sweep leaves the pass overdue
        long notChecked = finished ? 0 : Math.max(1, checks.getCount());
        leftUnchecked = finished ? Set.of() : Set.copyOf(unchecked);
        guards.sweep();
        health.finished((int) notChecked, snapshot.size(), bound);
        if (finished) {
            sample.stop(duration);
            done.incrementAndGet();
        } else {
            overdue.increment();
            LOG.warn("resync overdue: {} of {} live containers not checked after {} ms (corrections queued: {});"
                    + " the next resync's checks of them go ahead of later policy updates", notChecked,
                    snapshot.size(), bound.toMillis(), queue.queued());
        }
        return finished;
    }

    /** Passes done in time so far. */
    long done() {
        return done.get();
    }
}
