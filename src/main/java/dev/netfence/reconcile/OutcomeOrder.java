package dev.netfence.reconcile;

import dev.netfence.event.Outcome;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one container's outcomes in the order their states were reached, although two producers
 * write them: the pipeline publishes an event's outcome (start, stop) only after the worker let
 * go of the container's lock (and, exactly-once, at the next transaction commit), while the
 * reconciler publishes its corrections at once. So a policy update applied right after a start
 * could otherwise land on the outcomes topic before the start's outcome, and a reader taking the
 * last record would see the older state as current. The reconciler announces each event it
 * handles ({@link #expect}, under the container's lock); until the pipeline reports that event's
 * outcome acknowledged or committed ({@link #published}), the reconciler's outcomes for that
 * container are held, then sent in order. The enforcement itself is never held back, only its
 * report. An event outcome that is never reported (its partition moved to another instance, the
 * outcome dead-lettered) releases the held ones after {@link #HOLD}, at the next {@link #expire}:
 * every second on a timer of its own once {@link #expireEvery} started it (not on the resync
 * thread, whose pass can take two intervals). {@link #close} sends what is still held.
 * Thread-safe; sends happen under one monitor so held and new outcomes keep their order.
 */
final class OutcomeOrder implements OutcomePublisher, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutcomeOrder.class);
    /** The longest a reconciler outcome waits for the event outcome it must follow. */
    static final Duration HOLD = Duration.ofSeconds(30);

    private final OutcomePublisher out;
    private final Clock clock;
    private final Map<String, Waiting> waiting = new HashMap<>();
    private java.util.concurrent.ScheduledExecutorService timer;

    OutcomeOrder(OutcomePublisher out, Clock clock) {
        this.out = Objects.requireNonNull(out, "out");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The pipeline will publish an outcome for event {@code eventId} of {@code containerId}. */
    synchronized void expect(String containerId, String eventId) {
        Waiting w = waiting.computeIfAbsent(containerId, id -> new Waiting());
        w.events.add(Objects.requireNonNull(eventId, "eventId"));
        w.since = clock.instant();
    }

    /**
     * The pipeline's outcome {@code o} is out (acknowledged, or committed); held outcomes may follow
     * it once no expected event of the container is left. An outcome of an event that was not
     * expected (an invalid event, decided before the reconciler saw it) releases nothing.
     */
    synchronized void published(Outcome o) {
        if (o.eventId() == null) {
            return;
        }
        Waiting w = waiting.get(o.containerId());
        if (w != null && w.events.remove(o.eventId()) && w.events.isEmpty()) {
            waiting.remove(o.containerId());
            w.held.forEach(this::send);
        }
    }

    /** A reconciler outcome: sent now, or held behind the event outcomes of its container not yet out. */
    @Override
    public synchronized void publish(Outcome o) {
        Waiting w = waiting.get(o.containerId());
        if (w == null) {
            send(o);
        } else {
            w.held.add(o);
        }
    }

    /** Releases what waited longer than {@link #HOLD} for an event outcome that was not reported. */
    synchronized void expire() {
        Instant cutoff = clock.instant().minus(HOLD);
        Iterator<Map.Entry<String, Waiting>> it = waiting.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Waiting> e = it.next();
            if (e.getValue().since.isBefore(cutoff)) {
                it.remove();
                if (!e.getValue().held.isEmpty()) {
                    LOG.warn("the outcome of the last event of container {} was not reported within {}; sending {} "
                            + "reconciler outcome(s) held behind it", e.getKey(), HOLD, e.getValue().held.size());
                }
                e.getValue().held.forEach(this::send);
            }
        }
    }

    /** Runs {@link #expire} every {@code period} on a daemon thread of its own, until {@link #close}. */
    synchronized void expireEvery(Duration period) {
        if (timer == null) {
            timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "netfence-outcome-order");
                t.setDaemon(true);
                return t;
            });
            timer.scheduleWithFixedDelay(this::expireQuietly, period.toMillis(), period.toMillis(),
                    java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    private void expireQuietly() {
        try {
            expire();
        } catch (RuntimeException e) { // thrown, it would end the timer's schedule
            LOG.error("releasing held outcomes failed; tried again in a second", e);
        }
    }

    /** Stops the timer and sends every outcome still held: nothing would release them any more. */
    @Override
    public synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
        waiting.values().forEach(w -> w.held.forEach(this::send));
        waiting.clear();
    }

    private void send(Outcome o) {
        try {
            out.publish(o);
        } catch (RuntimeException e) {
            LOG.error("publishing the {} outcome of container {} failed", o.trigger(), o.containerId(), e);
        }
    }

    /** How many containers have event outcomes outstanding (tests). */
    synchronized int outstanding() {
        return waiting.size();
    }

    private static final class Waiting {
        /** The expected events' ids, one per expectation (a replayed event keeps its id). */
        final List<String> events = new ArrayList<>(2);
        Instant since;
        final List<Outcome> held = new ArrayList<>();
    }
}
