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
 * by its nodeId, so a record keyed for another node is skipped without parsing its value. Where
 * key and value disagree (a scheduler that keys by anything else, e.g. container ids, breaks the
 * contract), who handles the record depends on who can see it:
 * <ul>
 * <li>{@code --assignment group} ({@code valueDecides}): every node reads every record, so the
 * value's nodeId decides and the key only spares the parse: a record keyed for another node (or for
 * no node) whose bytes hold this node's id as a JSON string ({@link NodeRouting#mayName}) is
 * parsed and, when its nodeId is this node's, handled here, where its container runs; one keyed
 * for this node whose value names another is left to that node. Each with a warning and
 * {@code netfence.events.miskeyed{side}}; exactly one node handles the record (before, a key that
 * named no node lost the event on every node without a trace).</li>
 * <li>{@code --assignment node-partition}: the node the value names may never read the record's
 * partition, so the key's owner dead-letters a record whose value names another node, and a node
 * that reads a record keyed for another node skips it, as the key says.</li>
 * </ul>
 * Without a key the value's nodeId decides, and a record that names no node at all is dead-lettered
 * by the instance {@link KeylessOwnership} picks. Poll thread, except {@link #validated}, which
 * runs on a worker.
 */
final class RecordRouter {
    private static final Logger LOG = LoggerFactory.getLogger(RecordRouter.class);

    /** The {@code type} tag of {@code netfence.events.consumed} for a record skipped by its key, value unread. */
    static final String UNPARSED = "unparsed";
    private static final Skip SKIP_BY_KEY = new Skip(UNPARSED, "other-node");

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
    private final boolean valueDecides;
    private final java.util.concurrent.atomic.AtomicLong namedHere = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong keyedHere = new java.util.concurrent.atomic.AtomicLong();

    /** {@code valueDecides}: every node reads every record ({@code --assignment group}), see the class comment. */
    RecordRouter(EventDecoder decoder, NodeRouting routing, KeylessOwnership keyless, boolean valueDecides) {
        this(decoder, decoder::validate, routing, keyless, valueDecides);
    }

    /** With {@code rules} in place of the decoder's schema rules (tests: rules that throw). */
    RecordRouter(EventDecoder decoder, Function<DecodeResult.Parsed, DecodeResult> rules, NodeRouting routing,
            KeylessOwnership keyless, boolean valueDecides) {
        this.decoder = decoder;
        this.rules = rules;
        this.routing = routing;
        this.keyless = keyless;
        this.valueDecides = valueDecides;
    }

    /** Poll thread: the route of {@code r}; {@link Validate} only for a readable containerId. */
    Route route(ConsumerRecord<byte[], byte[]> r) {
        KeyOwner key = routing.keyOwner(r.key());
        if (key == KeyOwner.OTHER_NODE) {
            return valueDecides ? namedHere(r).orElse(SKIP_BY_KEY) : SKIP_BY_KEY;
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
            if (valueDecides && NodeRouting.takes(p.nodeId(), r.value())) { // it reads it too, and handles it
                warn(keyedHere, "keyed", r, p, "left to node " + p.nodeId());
                return skipValidated(p, "other-node");
            }
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
        if (v.key() == KeyOwner.THIS_NODE && !valueDecides) {
            return DeadLetter.of(new DecodeResult.Invalid(ev.eventId(), ev.nodeId(), ev.taskId(), ev.containerId(),
                    misKeyed(ev.nodeId())));
        }
        return new Skip(ev.type(), "other-node");
    }

    /** A record keyed for another node whose value names this one ({@code group}): the route of this node's record. */
    private java.util.Optional<Route> namedHere(ConsumerRecord<byte[], byte[]> r) {
        if (!routing.mayName(r.value())
                || !(decoder.parse(r.value()) instanceof DecodeResult.Parsed p)
                || p.nodeId() == null || !routing.accepts(p.nodeId())) {
            return java.util.Optional.empty(); // malformed or another node's: its key's owner judges it
        }
        warn(namedHere, "named", r, p, "handled here");
        Validate v = new Validate(p, KeyOwner.OTHER_NODE);
        return java.util.Optional.of(p.containerId() == null ? validated(v) : v);
    }

    /** The first such record and every 1,000th after it of each side, logged. */
    private void warn(java.util.concurrent.atomic.AtomicLong side, String what, ConsumerRecord<byte[], byte[]> r,
            DecodeResult.Parsed p, String fate) {
        long n = side.incrementAndGet();
        if (n == 1 || n % 1000 == 0) {
            LOG.warn("the record at {}-{} offset {} (container {}) is keyed {} but its nodeId is {}: {}; events must be"
                    + " keyed by their nodeId (docs/contracts.md); {} record(s) {} so far", r.topic(), r.partition(),
                    r.offset(), printable(p.containerId()), printable(r.key() == null ? null
                            : new String(r.key(), java.nio.charset.StandardCharsets.UTF_8)), printable(p.nodeId()),
                    printable(fate), n, what);
        }
    }

    /** At most 64 characters of {@code s}, anything but printable ASCII as {@code ?}: keys and ids come from producers. */
    static String printable(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder(Math.min(s.length(), 67));
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return s.length() > 64 ? b.append("...").toString() : b.toString();
    }

    /** Registers {@code netfence.events.miskeyed{side}} on {@code registry}; returns this router. */
    RecordRouter counted(io.micrometer.core.instrument.MeterRegistry registry) {
        io.micrometer.core.instrument.FunctionCounter.builder(dev.netfence.core.MeterNames.EVENTS_MISKEYED, this,
                RecordRouter::namedHere).tag("side", "named")
                .description("records keyed for another node whose value names this one, handled here")
                .register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder(dev.netfence.core.MeterNames.EVENTS_MISKEYED, this,
                RecordRouter::keyedHere).tag("side", "keyed")
                .description("records keyed for this node whose value names another, left to that node")
                .register(registry);
        return this;
    }

    /** Records keyed for another node (or none) whose value named this node, handled here ({@code group} only). */
    long namedHere() {
        return namedHere.get();
    }

    /** Records keyed for this node whose value named another, left to that node ({@code group} only). */
    long keyedHere() {
        return keyedHere.get();
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
