package dev.netfence.kafka;

import dev.netfence.core.ErrorCode;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.DecodeResult;
import dev.netfence.event.EventDecoder;
import dev.netfence.kafka.NodeRouting.KeyOwner;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides what becomes of one consumed record, as a {@link Route}, and does nothing else (the
 * {@link RecordDispatcher} acts on the answer). The key comes first: the contract keys every event
 * by its nodeId, so a record keyed for another node is skipped without reading its value. A
 * record keyed for this node whose value names another node breaks that contract and is
 * dead-lettered here, by the key's owner, so it is never skipped by everyone. Without a key the
 * value's nodeId decides, and a record that names no node at all is dead-lettered by the instance
 * {@link KeylessOwnership} picks. Poll thread, except {@link #validated}, which runs on a worker.
 */
final class RecordRouter {
    private static final Logger LOG = LoggerFactory.getLogger(RecordRouter.class);

    /** The {@code type} tag of {@code netfence.events.consumed} for a record skipped by its key, value unread. */
    static final String UNPARSED = "unparsed";

    /** One record's fate. {@link #type()} is its {@code netfence.events.consumed} tag. */
    sealed interface Route {
        String type();
    }

    /** Acknowledged with no output, counted as {@code netfence.events.skipped{reason}}. */
    record Skip(String type, String reason) implements Route {}

    /**
     * A dead letter, plus a failed outcome when {@code invalid} has a readable containerId (then it
     * is emitted through that container's queue, behind its earlier events).
     */
    record DeadLetter(String type, ErrorCode code, String message, String causeClass, DecodeResult.Invalid invalid)
            implements Route {
        static DeadLetter of(DecodeResult.Malformed m) {
            return new DeadLetter("malformed", m.code(), m.message(), m.causeClass(), null);
        }

        static DeadLetter of(DecodeResult.Invalid inv) {
            return new DeadLetter("invalid", inv.code(), inv.message(), DecodeResult.Invalid.class.getName(), inv);
        }

        String containerId() {
            return invalid == null ? null : invalid.containerId();
        }
    }

    /** A valid event of this node: enforce it, in its container's order. */
    record Enforce(ContainerEvent event) implements Route {
        @Override
        public String type() {
            return event.type();
        }
    }

    /**
     * Parsed and ours so far: the schema rules run on a worker, in the container's order, and
     * {@link #validated} gives the final route. Not counted itself (its final route is).
     */
    record Validate(DecodeResult.Parsed parsed, KeyOwner key) implements Route {
        @Override
        public String type() {
            return null;
        }

        String containerId() {
            return parsed.containerId();
        }
    }

    private final EventDecoder decoder;
    private final Function<DecodeResult.Parsed, DecodeResult> rules;
    private final NodeRouting routing;
    private final KeylessOwnership keyless;

    RecordRouter(EventDecoder decoder, NodeRouting routing, KeylessOwnership keyless) {
        this(decoder, decoder::validate, routing, keyless);
    }

    /** With {@code rules} in place of the decoder's schema rules (tests: rules that throw). */
    RecordRouter(EventDecoder decoder, Function<DecodeResult.Parsed, DecodeResult> rules, NodeRouting routing,
            KeylessOwnership keyless) {
        this.decoder = decoder;
        this.rules = rules;
        this.routing = routing;
        this.keyless = keyless;
    }

    /** Poll thread: the route of {@code r}; {@link Validate} only for a readable containerId. */
    Route route(ConsumerRecord<byte[], byte[]> r) {
        KeyOwner key = routing.keyOwner(r.key());
        if (key == KeyOwner.OTHER_NODE) {
            return new Skip(UNPARSED, "other-node");
        }
        DecodeResult d = decoder.parse(r.value());
        if (d instanceof DecodeResult.Malformed m) {
            return key == KeyOwner.THIS_NODE || keyless.owns(r.partition()) ? DeadLetter.of(m)
                    : new Skip("malformed", "keyless-other-owner");
        }
        if (d instanceof DecodeResult.UnknownType) {
            return new Skip("unknown", "unknown-type");
        }
        DecodeResult.Parsed p = (DecodeResult.Parsed) d;
        if (key == KeyOwner.THIS_NODE && p.nodeId() != null && !routing.accepts(p.nodeId())) {
            return DeadLetter.of(decoder.reject(p, misKeyed(p.nodeId())));
        }
        if (key == KeyOwner.NONE && p.nodeId() != null && !routing.accepts(p.nodeId())) {
            return skipValidated(p, "other-node");
        }
        if (key == KeyOwner.NONE && p.nodeId() == null && !keyless.owns(r.partition())) {
            return skipValidated(p, "keyless-other-owner");
        }
        Validate v = new Validate(p, key);
        return p.containerId() == null ? validated(v) : v;
    }

    /**
     * The schema rules and the final route of a {@link Validate}: {@link Enforce}, a dead letter,
     * or (a nodeId the parse could not keep that turns out not to be ours) a skip. The decoder
     * never throws for bad input; should it throw anyway, even an Error (a bug), the event is
     * dead-lettered as invalid with a failed outcome instead of leaving its record unacknowledged
     * and its partition stalled.
     */
    Route validated(Validate v) {
        DecodeResult.Parsed p = v.parsed();
        DecodeResult d = validate(p);
        if (d instanceof DecodeResult.Invalid inv) {
            return DeadLetter.of(inv);
        }
        ContainerEvent ev = ((DecodeResult.Decoded) d).event();
        if (routing.accepts(ev.nodeId())) {
            return new Enforce(ev);
        }
        if (v.key() == KeyOwner.THIS_NODE) {
            return DeadLetter.of(new DecodeResult.Invalid(ev.eventId(), ev.nodeId(), ev.taskId(), ev.containerId(),
                    misKeyed(ev.nodeId())));
        }
        return new Skip(ev.type(), "other-node");
    }

    /** Another node's or owner's record without a key: skipped, counted by what its value is (as always). */
    private Skip skipValidated(DecodeResult.Parsed p, String reason) {
        DecodeResult d = validate(p);
        return new Skip(d instanceof DecodeResult.Decoded dec ? dec.event().type() : "invalid", reason);
    }

    private DecodeResult validate(DecodeResult.Parsed p) {
        try {
            return rules.apply(p);
        } catch (Throwable e) { // the event boundary: an Error too ends in a dead letter, not a stall
            LOG.error("validating the event of container {} failed unexpectedly", p.containerId(), e);
            return new DecodeResult.Invalid(null, p.nodeId(), null, p.containerId(),
                    "event could not be validated: " + e);
        }
    }

    private String misKeyed(String eventNodeId) {
        return "record key names node " + routing.nodeId() + " but the event's nodeId is " + eventNodeId;
    }
}
