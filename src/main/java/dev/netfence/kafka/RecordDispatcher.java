package dev.netfence.kafka;

import dev.netfence.event.ContainerEvent;
import dev.netfence.event.DecodeResult;
import dev.netfence.event.EventDecoder;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.event.ReplayHeaders;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What happens to one consumed record, from bytes to outputs: decode, route (skip other nodes'
 * events and unknown types, counted), dead-letter what is malformed or invalid, and queue valid
 * events on the {@link KeyedExecutor} behind the same container's earlier events, where the
 * {@link EventHandler} enforces them and the outcome record is built. Finished outputs go back to
 * the poll thread through {@link Completions} and the {@link Emitter}. Split from
 * {@link EventPipeline}, which owns the consumer, the offsets and flow control.
 */
final class RecordDispatcher {
    private static final Logger LOG = LoggerFactory.getLogger(RecordDispatcher.class);
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    /** Poll thread: hands a record's outputs to the sink (unless its partition moved away). */
    interface Emitter {
        void emit(PartitionOffsets po, long offset, List<Output> outs);
    }

    private final EventDecoder decoder;
    private final NodeRouting routing;
    private final KeylessOwnership keyless;
    private final PipelineMetrics metrics;
    private final KeyedExecutor workers;
    private final EventHandler handler;
    private final OutputRecords records;
    private final Outcomes outcomes;
    private final Completions completions;
    private final Emitter emitter;

    RecordDispatcher(EventDecoder decoder, NodeRouting routing, KeylessOwnership keyless, PipelineMetrics metrics,
            KeyedExecutor workers, EventHandler handler, OutputRecords records, Outcomes outcomes,
            Completions completions, Emitter emitter) {
        this.decoder = decoder;
        this.routing = routing;
        this.keyless = keyless;
        this.metrics = metrics;
        this.workers = workers;
        this.handler = handler;
        this.records = records;
        this.outcomes = outcomes;
        this.completions = completions;
        this.emitter = emitter;
    }

    /**
     * Poll thread: the cheap half of decoding (JSON, types, event type), routing, and the hand-off
     * to the container's queue. The schema rules run on the worker, in the container's order: they
     * were half of the poll thread's time, and the poll thread is the one thread every event
     * passes. Events for other nodes and events without a readable containerId are still fully
     * decoded here (so the consumed metric's type label and the DLQ path stay as they were).
     */
    void dispatch(PartitionOffsets po, ConsumerRecord<byte[], byte[]> r) {
        po.track(r.offset());
        long offset = r.offset();
        boolean replay = ReplayHeaders.isReplay(r.headers());
        DecodeResult d = decoder.parse(r.value());
        if (d instanceof DecodeResult.Parsed p) {
            boolean ours = p.nodeId() != null ? routing.accepts(p.nodeId()) : acceptsKey(r);
            if (!ours || p.containerId() == null) {
                dispatchDecoded(po, r, replay, decoder.validate(p));
                return;
            }
            workers.submitAsync(p.containerId(), () -> {
                DecodeResult v = validate(p);
                if (v instanceof DecodeResult.Decoded decoded) {
                    metrics.consumed(decoded.event().type());
                    return handle(po, offset, decoded.event(), replay, r);
                }
                List<Output> outs = invalid(r, (DecodeResult.Invalid) v, replay);
                completions.post(() -> emitter.emit(po, offset, outs));
                return DONE;
            });
        } else {
            dispatchDecoded(po, r, replay, d);
        }
    }

    /** Poll thread: a record decoded in full here (malformed, unknown type, another node's, no containerId). */
    private void dispatchDecoded(PartitionOffsets po, ConsumerRecord<byte[], byte[]> r, boolean replay,
            DecodeResult d) {
        long offset = r.offset();
        if (d instanceof DecodeResult.Decoded decoded) {
            ContainerEvent ev = decoded.event();
            metrics.consumed(ev.type());
            if (!routing.accepts(ev.nodeId())) {
                skip(po, offset, "other-node");
                return;
            }
            workers.submitAsync(ev.containerId(), () -> handle(po, offset, ev, replay, r));
        } else if (d instanceof DecodeResult.Malformed m) {
            metrics.consumed("malformed");
            if (!acceptsKey(r)) {
                skip(po, offset, notOurs(r));
                return;
            }
            emitter.emit(po, offset, List.of(Output.deadLetter(
                    records.deadLetter(r, m.code(), m.message(), m.causeClass()), m.code().code())));
        } else if (d instanceof DecodeResult.Invalid inv) {
            boolean ours = inv.nodeId() != null ? routing.accepts(inv.nodeId()) : acceptsKey(r);
            if (!ours) {
                metrics.consumed("invalid");
                skip(po, offset, inv.nodeId() != null ? "other-node" : notOurs(r));
                return;
            }
            List<Output> outs = invalid(r, inv, replay);
            if (inv.containerId() == null) {
                emitter.emit(po, offset, outs);
            } else {
                // through the container's queue, so its outcomes stay in event order
                workers.submit(inv.containerId(), () -> completions.post(() -> emitter.emit(po, offset, outs)));
            }
        } else if (d instanceof DecodeResult.UnknownType) {
            metrics.consumed("unknown");
            skip(po, offset, "unknown-type");
        }
    }

    /**
     * Worker: the schema rules. The decoder never throws for bad input; should it throw anyway (a
     * bug), the event is dead-lettered as invalid with a failed outcome instead of leaving its
     * record unacknowledged (the executor would swallow the exception and the partition stall).
     */
    private DecodeResult validate(DecodeResult.Parsed p) {
        try {
            return decoder.validate(p);
        } catch (RuntimeException e) {
            LOG.error("validating the event of container {} failed unexpectedly", p.containerId(), e);
            return new DecodeResult.Invalid(null, p.nodeId(), null, p.containerId(),
                    "event could not be validated: " + e);
        }
    }

    /**
     * Worker: enforce one valid event (possibly parked until its policy arrives) and post its
     * outcome record. The stage completes when that is done, so the container's next event waits
     * for it. Should it fail (shutdown refused the continuation), the record gets no output and
     * stays unacknowledged: it is redelivered.
     */
    private CompletableFuture<Void> handle(PartitionOffsets po, long offset, ContainerEvent ev, boolean replay,
            ConsumerRecord<byte[], byte[]> r) {
        return handler.handle(ev, replay, workers.workers()).thenAccept(o -> {
            List<Output> outs = List.of(Output.outcome(records.outcome(o), o, r));
            completions.post(() -> emitter.emit(po, offset, outs));
        }).whenComplete((v, e) -> {
            if (e != null && !workers.stopped()) {
                LOG.error("event {} of container {} got no outcome", ev.eventId(), ev.containerId(), e);
            }
        });
    }

    /** The dead letter of an invalid event, plus a failed outcome when its containerId is readable. */
    private List<Output> invalid(ConsumerRecord<byte[], byte[]> r, DecodeResult.Invalid inv, boolean replay) {
        metrics.consumed("invalid");
        List<Output> outs = new ArrayList<>();
        outs.add(Output.deadLetter(records.deadLetter(r, inv.code(), inv.message(),
                DecodeResult.Invalid.class.getName()), inv.code().code()));
        if (inv.containerId() != null) {
            Outcome o = outcomes.invalidEvent(inv, replay);
            outs.add(Output.outcome(records.outcome(o), o, r));
        }
        return outs;
    }

    /**
     * Whether a record whose value names no node is ours: by its key (schedulers key events by
     * nodeId), and without a key, by {@link KeylessOwnership}, so one instance in the fleet
     * dead-letters it.
     */
    private boolean acceptsKey(ConsumerRecord<byte[], byte[]> r) {
        return r.key() == null ? keyless.owns(r.partition()) : routing.acceptsKey(r.key());
    }

    private static String notOurs(ConsumerRecord<byte[], byte[]> r) {
        return r.key() == null ? "keyless-other-owner" : "other-node";
    }

    private void skip(PartitionOffsets po, long offset, String reason) {
        metrics.skipped(reason);
        po.done(offset);
    }
}
