package dev.netfence.reconcile;

import dev.netfence.event.Outcome;
import dev.netfence.reconcile.OutcomeQueue.Entry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one container's outcomes on the outcomes topic in the order their states were reached,
 * although two producers write them: the pipeline publishes an event's outcome (start, stop) only
 * after the worker let go of the container's lock (and, exactly-once, at the next transaction
 * commit), while the reconciler publishes its corrections through a producer of its own. Each
 * container has a queue, in the order the states were reached under its lock: the events the
 * reconciler announces ({@link #expect}) and the reconciler's outcomes ({@link #publish}). A
 * reconciler outcome is sent once every event queued before it has its outcome out (acknowledged
 * or committed, {@link #published}); an event's outcome may be sent ({@link #ready}) once every
 * reconciler outcome queued before it is acknowledged by the broker. So a policy update applied
 * right after a start does not land before the start's outcome, a stop's outcome does not land
 * before a correction made just before the stop, and a correction held behind one event is not
 * held behind the events that came after it. The enforcement itself is never held back, only its
 * report. An event outcome never reported (its partition moved to another instance, it was
 * dead-lettered) counts as out {@link #HOLD} after its event was handled, or after its turn came
 * where it waited behind a correction; a sent correction counts as acknowledged once its publisher
 * settled it, or past the longest that takes ({@link OutcomePublisher#settlesWithin}, plus a
 * margin), never sooner: counting it out while the broker may still take it would let a later
 * event's outcome land before it. An event outcome reported after all, once a correction went
 * out past it, is followed by that correction again ({@link LateOutcomes}). Both at the next {@link #expire}: every second on a timer of its
 * own once {@link #expireEvery} started it (not on the resync thread, whose pass can take two
 * intervals). {@link #releaseEvents} (at shutdown, before the pipeline drains) lets every event's
 * outcome go; {@link #close} sends what is still held and holds nothing any more. Thread-safe; sends happen under one
 * monitor so held and new outcomes keep their order; futures are completed outside it.
 */
final class OutcomeOrder implements OutcomePublisher, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutcomeOrder.class);
    /** The longest an outcome waits for the one it must follow. */
    static final Duration HOLD = Duration.ofSeconds(30);
    /** Added to the publisher's {@link OutcomePublisher#settlesWithin}: its callbacks run a little after it. */
    static final Duration SETTLE_MARGIN = Duration.ofSeconds(5);
    private static final CompletableFuture<Void> NOW = CompletableFuture.completedFuture(null);

    private final OutcomePublisher out;
    private final Clock clock;
    /** Each container's queue ({@link OutcomeQueue}), by container id. */
    private final Map<String, OutcomeQueue> queues = new HashMap<>();
    /** Event outcomes counted out by the hold, in case one is reported late after all. */
    private final LateOutcomes late = new LateOutcomes();
    private final Duration acknowledgementHold;
    private java.util.concurrent.ScheduledExecutorService timer;
    /** Closed: nothing is held any more. */
    private boolean released;
    /** Stopping: no event outcome waits any more (corrections still follow the events before them). */
    private boolean eventsReleased;

    OutcomeOrder(OutcomePublisher out, Clock clock) {
        this.out = Objects.requireNonNull(out, "out");
        this.clock = Objects.requireNonNull(clock, "clock");
        Duration settles = out.settlesWithin().plus(SETTLE_MARGIN);
        this.acknowledgementHold = settles.compareTo(HOLD) > 0 ? settles : HOLD;
    }

    /**
     * The pipeline will publish an outcome for event {@code eventId} of {@code containerId}. An
     * entry of the same event still waiting is counted out: the event is handled again (read
     * again after a send that failed for good, or a redelivery), and the outcome of this handling
     * is the one to order; matched by id, the stale entry would answer for it.
     */
    synchronized void expect(String containerId, String eventId) {
        Objects.requireNonNull(eventId, "eventId");
        if (released) {
            return;
        }
        late.expected(containerId, eventId);
        queues.computeIfAbsent(containerId, id -> new OutcomeQueue()).expect(eventId, clock.instant());
    }

    /**
     * Event {@code eventId} of {@code containerId} is handled (its apply done; its outcome comes
     * next): its {@link #HOLD} counts from now, so an apply that ran until its deadline does not
     * use up the hold of the reconciler outcomes queued behind its event.
     */
    synchronized void handled(String containerId, String eventId) {
        Entry event = pendingEvent(containerId, eventId);
        if (event != null) {
            event.since = clock.instant();
        }
    }

    /**
     * When the outcome of event {@code eventId} of {@code containerId} may be sent: once every
     * reconciler outcome of the container queued before the event is acknowledged (at once when
     * none is, or the event was not expected).
     */
    CompletableFuture<Void> ready(String containerId, String eventId) {
        Pumped pumped;
        CompletableFuture<Void> ready;
        synchronized (this) {
            Entry event = pendingEvent(containerId, eventId);
            if (event == null) {
                return NOW;
            }
            if (eventsReleased) {
                return NOW;
            }
            if (event.ready == null) {
                event.ready = new CompletableFuture<>();
            }
            ready = event.ready;
            pumped = pump(containerId);
        }
        settle(containerId, pumped);
        return ready;
    }

    /**
     * The pipeline's outcome {@code o} is out (acknowledged, or committed): reconciler outcomes
     * queued after its event may follow it. An outcome of an event that was not expected (an
     * invalid event, decided before the reconciler saw it) releases nothing. One whose event was
     * counted out after the {@link #HOLD} is followed by the correction sent past it meanwhile
     * ({@link LateOutcomes}): it landed after it and would otherwise read as the current state.
     */
    void published(Outcome o) {
        out(o, true);
    }

    /** The pipeline will never send {@code o}: as {@link #published}, but nothing landed, so nothing is sent again. */
    void dropped(Outcome o) {
        out(o, false);
    }

    private void out(Outcome o, boolean landed) {
        if (o.eventId() == null) {
            return;
        }
        Pumped pumped;
        synchronized (this) {
            Entry event = pendingEvent(o.containerId(), o.eventId());
            if (event == null) {
                Outcome again = late.reported(o.containerId(), o.eventId(), landed);
                if (again == null) {
                    return;
                }
                if (released) {
                    sendTracked(again);
                    return;
                }
                queues.computeIfAbsent(o.containerId(), id -> new OutcomeQueue()).add(again, clock.instant(), null);
            } else {
                event.done = true;
            }
            pumped = pump(o.containerId());
        }
        settle(o.containerId(), pumped);
    }

    /** A reconciler outcome: sent now, or held behind the event outcomes of its container queued before it. */
    @Override
    public void publish(Outcome o) {
        publish(o, null);
    }

    /**
     * As {@link #publish(Outcome)}; {@code settled} (null: none) is told once this very send settled,
     * and whether it was published ({@link OutcomeMarks}), never of a send of it again
     * ({@link LateOutcomes}); one sent after {@link #close} is not told of.
     */
    void publish(Outcome o, java.util.function.Consumer<Boolean> settled) {
        Pumped pumped;
        synchronized (this) {
            if (released) {
                sendTracked(o);
                return;
            }
            queues.computeIfAbsent(o.containerId(), id -> new OutcomeQueue()).add(o, clock.instant(), settled);
            pumped = pump(o.containerId());
        }
        settle(o.containerId(), pumped);
    }

    /**
     * Counts as out an event outcome not reported within {@link #HOLD} and a sent correction not
     * settled within the publisher's bound. An event whose outcome waits here, behind a
     * correction, is left alone: what it waits for expires on its own, and its hold starts when its
     * turn comes.
     */
    void expire() {
        Map<String, Pumped> pumped = new HashMap<>();
        synchronized (this) {
            Instant now = clock.instant();
            Instant cutoff = now.minus(HOLD);
            Instant acknowledgementCutoff = now.minus(acknowledgementHold);
            for (String containerId : new ArrayList<>(queues.keySet())) {
                for (Entry e : queues.get(containerId)) {
                    boolean waitingHere = e.isEvent() && e.ready != null && !e.ready.isDone();
                    Instant limit = e.isEvent() ? cutoff : acknowledgementCutoff;
                    if (e.since.isBefore(limit) && !e.done && !waitingHere) {
                        if (e.isEvent()) {
                            late.countedOut(containerId, e.eventId, now);
                            LOG.warn("the outcome of event {} of container {} was not reported within {}; the reconciler"
                                    + " outcomes queued behind it go now", e.eventId, containerId, HOLD);
                        } else if (e.sent) {
                            LOG.error("the {} outcome of container {} was not settled by its publisher within {}; the"
                                    + " event outcomes queued behind it go now", e.outcome.trigger(), containerId,
                                    acknowledgementHold);
                        } else {
                            continue; // held: sent once what it follows is out
                        }
                        e.done = true;
                    }
                }
                pumped.put(containerId, pump(containerId));
            }
            late.forget(now);
        }
        pumped.forEach(this::settle);
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
        } catch (Throwable e) { // thrown, it would end the timer's schedule, and nothing would release held outcomes
            LOG.error("releasing held outcomes failed; tried again in a second", e);
        }
    }

    /**
     * Stops the timer, sends every outcome still held, lets every event's outcome go, and from now
     * on holds nothing (what is published is sent at once): nothing would release held outcomes
     * any more.
     */
    @Override
    public void close() {
        List<CompletableFuture<Void>> due = new ArrayList<>();
        synchronized (this) {
            if (timer != null) {
                timer.shutdownNow();
            }
            released = true;
            eventsReleased = true;
            for (OutcomeQueue queue : queues.values()) {
                for (Entry e : queue) {
                    if (e.isEvent() && e.ready != null) {
                        due.add(e.ready);
                    } else if (!e.isEvent() && !e.sent) {
                        sendTracked(e.outcome);
                    }
                }
            }
            queues.clear();
        }
        due.forEach(f -> f.complete(null));
    }

    /**
     * Lets every event's outcome go now and from now on (at shutdown, before the pipeline drains,
     * so no event outcome waits out the drain's bound for an acknowledgement and is dropped and
     * redone after the restart). Corrections stay held behind the events before them until those
     * are out, or until {@link #close}: sent now, one could land before the outcome of an event the
     * drain is about to publish.
     */
    void releaseEvents() {
        List<CompletableFuture<Void>> due = new ArrayList<>();
        synchronized (this) {
            eventsReleased = true;
            for (OutcomeQueue queue : queues.values()) {
                for (Entry e : queue) {
                    if (e.isEvent() && e.ready != null && !e.ready.isDone()) {
                        due.add(e.ready);
                    }
                }
            }
        }
        due.forEach(f -> f.complete(null));
    }

    /** The first event {@code eventId} of {@code containerId} whose outcome is not out yet; null if none. */
    private Entry pendingEvent(String containerId, String eventId) {
        OutcomeQueue queue = queues.get(containerId);
        return queue == null ? null : queue.pendingEvent(eventId);
    }

    /**
     * Under the monitor: sends the reconciler outcomes whose preceding events are out, collects the
     * ready futures of the events whose preceding reconciler outcomes are acknowledged, and drops
     * the entries at the head that are out. What it collects is completed and tracked outside the
     * monitor ({@link #settle}), in queue order.
     */
    private Pumped pump(String containerId) {
        OutcomeQueue queue = queues.get(containerId);
        if (queue == null) {
            return Pumped.NONE;
        }
        List<CompletableFuture<Void>> due = new ArrayList<>();
        Map<Entry, CompletableFuture<Void>> sent = new java.util.LinkedHashMap<>();
        boolean eventsOut = true;
        boolean correctionsOut = true;
        boolean sentNow = false;
        Outcome newest = null; // the last correction sent now, unless an event is queued behind it (its state is newer)
        for (Entry e : queue) {
            if (e.isEvent()) {
                newest = null;
                if (correctionsOut && e.ready != null && !e.ready.isDone()) {
                    due.add(e.ready);
                    e.since = clock.instant(); // its outcome goes now: its hold counts from here
                }
                eventsOut &= e.done;
            } else {
                if (eventsOut && !e.sent) {
                    e.sent = true;
                    e.since = clock.instant();
                    sentNow = true;
                    newest = e.outcome;
                    sent.put(e, sendTracked(e.outcome));
                }
                correctionsOut &= e.done;
            }
        }
        if (sentNow) {
            late.sent(containerId, newest);
        }
        if (queue.trim()) {
            queues.remove(containerId);
        }
        return new Pumped(due, sent);
    }

    /**
     * Outside the monitor: lets the events whose turn came send their outcomes, and marks each
     * reconciler outcome sent acknowledged once its send settles (either way: a failure is logged
     * and counted by the publisher), which may let more go.
     */
    private void settle(String containerId, Pumped pumped) {
        pumped.due().forEach(f -> f.complete(null));
        pumped.sent().forEach((e, acked) -> acked.whenComplete((v, failure) -> {
            if (e.settled != null) { // a failure: said again at its next resync; else its entry's mark may go
                e.settled.accept(failure == null);
            }
            acknowledged(containerId, e);
        }));
    }

    private void acknowledged(String containerId, Entry e) {
        Pumped pumped;
        synchronized (this) {
            e.done = true;
            pumped = queues.containsKey(containerId) ? pump(containerId) : Pumped.NONE;
        }
        settle(containerId, pumped);
    }

    private CompletableFuture<Void> sendTracked(Outcome o) {
        try {
            return out.publishTracked(o);
        } catch (RuntimeException e) {
            LOG.error("publishing the {} outcome of container {} failed", o.trigger(), o.containerId(), e);
            return CompletableFuture.failedFuture(e);
        }
    }

    /** What a {@link #pump} leaves to do outside the monitor. */
    private record Pumped(List<CompletableFuture<Void>> due, Map<Entry, CompletableFuture<Void>> sent) {
        static final Pumped NONE = new Pumped(List.of(), Map.of());
    }

    /** How many containers have outcomes outstanding (tests). */
    synchronized int outstanding() {
        return queues.size();
    }
}
