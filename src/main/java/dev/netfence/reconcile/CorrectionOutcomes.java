package dev.netfence.reconcile;

import dev.netfence.event.Outcome;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands a correction's outcome to the {@link OutcomeOrder}, counted in
 * {@code netfence.reconcile.outcomes{trigger,status}}: one that says a container's state is counted
 * by {@link OutcomeMarks} as on its way, with a ticket its own settlement names; a {@code removed}
 * outcome is not, and its container is forgotten once it is handed over, since its entry is a
 * tombstone: nothing of it is left to clear or to say again, and an id that comes back (podman
 * restart keeps it) starts afresh (review 203 #2: the container was forgotten before its
 * {@code removed} outcome was counted, whose settlement then stayed for the life of the process,
 * and one refused made the id's next instance publish "its last outcome was not published"). Apart
 * from {@link Corrections}, which decides what to publish, as the bookkeeping every outcome of a
 * correction goes through. Callers hold the container's lock.
 */
final class CorrectionOutcomes implements Consumer<Outcome> {
    /** Corrections' category, as before this class was split from it (operators' log settings name it). */
    private static final Logger LOG = LoggerFactory.getLogger(Corrections.class);

    private final OutcomeOrder order;
    private final OutcomeMarks marks;
    private final MeterRegistry registry;

    CorrectionOutcomes(OutcomeOrder order, OutcomeMarks marks, MeterRegistry registry) {
        this.order = Objects.requireNonNull(order, "order");
        this.marks = Objects.requireNonNull(marks, "marks");
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /** Publishes {@code o} (it says the state now: if it fails to go out, the state is said again). */
    @Override
    public void accept(Outcome o) {
        String id = o.containerId();
        registry.counter("netfence.reconcile.outcomes", "trigger", o.trigger(), "status", o.status()).increment();
        if (Outcome.REMOVED.equals(o.status())) {
            hand(o, null);
            marks.forget(id); // after it is handed over: nothing of the container is left behind
            return;
        }
        long ticket = marks.sending(id);
        if (!hand(o, published -> marks.settled(id, ticket, published))) {
            marks.settled(id, ticket, false);
        }
    }

    /** Whether {@code o} was handed to the order ({@code settled}: told of its send, or null). */
    private boolean hand(Outcome o, Consumer<Boolean> settled) {
        try {
            order.publish(o, settled);
            return true;
        } catch (RuntimeException e) {
            LOG.error("publishing the {} outcome of container {} failed", o.trigger(), o.containerId(), e);
            return false;
        }
    }
}
