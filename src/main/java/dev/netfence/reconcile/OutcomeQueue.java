package dev.netfence.reconcile;

import dev.netfence.event.Outcome;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;

/**
 * One container's queue in {@link OutcomeOrder}: the events the reconciler announced and the
 * reconciler's own outcomes, in the order their states were reached under the container's lock,
 * each with what is known of it so far (out or not, sent or not, since when it waits, when an
 * event's outcome may go). It finds the waiting entry of an event ({@link #pendingEvent}), counts
 * out a stale entry of an event handled again ({@link #expect}) and drops the entries at its head
 * that are out ({@link #trim}). Apart from OutcomeOrder because that class decides what may be
 * sent when, across containers and its timer, and reads more plainly without the bookkeeping of
 * how one container's entries are kept and found. Not thread-safe: used under OutcomeOrder's
 * monitor.
 */
final class OutcomeQueue implements Iterable<OutcomeQueue.Entry> {
    private final Deque<Entry> entries = new ArrayDeque<>();

    /**
     * Queues event {@code eventId}, waiting since {@code now}; an entry of the same event still
     * waiting is counted out first (the event is handled again, see {@link OutcomeOrder#expect}).
     */
    void expect(String eventId, Instant now) {
        for (Entry e : entries) {
            if (e.isEvent() && !e.done && e.eventId.equals(eventId)) {
                e.done = true;
            }
        }
        entries.add(new Entry(eventId, null, now, null));
    }

    /** Queues the reconciler outcome {@code o}, waiting since {@code now}; {@code settled}: told when its send settles. */
    void add(Outcome o, Instant now, java.util.function.Consumer<Boolean> settled) {
        entries.add(new Entry(null, o, now, settled));
    }

    /** The first event {@code eventId} whose outcome is not out yet; null if none. */
    Entry pendingEvent(String eventId) {
        for (Entry e : entries) {
            if (e.isEvent() && !e.done && e.eventId.equals(eventId)) {
                return e;
            }
        }
        return null;
    }

    /** Drops the entries at the head that are out; whether the queue is empty now. */
    boolean trim() {
        while (!entries.isEmpty() && entries.peekFirst().done) {
            entries.pollFirst();
        }
        return entries.isEmpty();
    }

    /** The entries, oldest first. */
    @Override
    public Iterator<Entry> iterator() {
        return entries.iterator();
    }

    /** An expected event ({@code eventId}) or a reconciler outcome ({@code outcome}), in a container's queue. */
    static final class Entry {
        final String eventId;
        final Outcome outcome;
        Instant since;
        /** An event: its outcome is out. A reconciler outcome: acknowledged (or given up). */
        boolean done;
        /** A reconciler outcome: handed to the publisher. */
        boolean sent;
        /** An event: completed when its outcome may be sent. */
        CompletableFuture<Void> ready;
        /** A reconciler outcome: told whether its send was published once it settled (null: nobody asked). */
        final java.util.function.Consumer<Boolean> settled;

        private Entry(String eventId, Outcome outcome, Instant since, java.util.function.Consumer<Boolean> settled) {
            this.eventId = eventId;
            this.outcome = outcome;
            this.since = since;
            this.settled = settled;
        }

        boolean isEvent() {
            return eventId != null;
        }
    }
}
