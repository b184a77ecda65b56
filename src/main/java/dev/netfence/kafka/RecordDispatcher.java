package dev.netfence.kafka;

import dev.netfence.core.ErrorCode;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.DecodeResult;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.event.ReplayHeaders;
import dev.netfence.kafka.RecordRouter.Route;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Acts on the {@link RecordRouter}'s verdict for one consumed record: a skip is acknowledged on
 * the spot; a dead letter (with a failed outcome when the containerId is readable) is emitted; a
 * valid event is queued on the {@link KeyedExecutor} behind the same container's earlier events,
 * where the {@link EventHandler} enforces it and the outcome record is built. Whatever happens on
 * a worker reaches the poll thread through {@link Completions} and the {@link Emitter}. Every
 * record is counted once in {@code netfence.events.consumed}, in {@link #take}. Split from
 * {@link EventPipeline}, which owns the consumer, the offsets and flow control.
 */
final class RecordDispatcher {
    private static final Logger LOG = LoggerFactory.getLogger(RecordDispatcher.class);
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    /**
     * Poll thread: hands a record's outputs to the sink (unless its partition moved away); the
     * record is not done, and its offset not committed, before {@code journaled} completes.
     */
    interface Emitter {
        void emit(PartitionOffsets po, long offset, List<Output> outs, CompletableFuture<Void> journaled);
    }

    private final RecordRouter router;
    private final PipelineMetrics metrics;
    private final KeyedExecutor workers;
    private final EventHandler handler;
    private final OutputRecords records;
    private final Outcomes outcomes;
    private final Completions completions;
    private final Emitter emitter;
    private final ProblemLog problems;

    RecordDispatcher(RecordRouter router, PipelineMetrics metrics, KeyedExecutor workers, EventHandler handler,
            OutputRecords records, Outcomes outcomes, Completions completions, Emitter emitter, ProblemLog problems) {
        this.router = router;
        this.metrics = metrics;
        this.workers = workers;
        this.handler = handler;
        this.records = records;
        this.outcomes = outcomes;
        this.completions = completions;
        this.emitter = emitter;
        this.problems = java.util.Objects.requireNonNull(problems, "problems");
    }

    /**
     * Poll thread: routes the record (its key first, then the cheap half of decoding) and acts on
     * the route. The schema rules run on the worker, in the container's order: they were half of
     * the poll thread's time, and the poll thread is the one thread every event passes.
     */
    void dispatch(PartitionOffsets po, ConsumerRecord<byte[], byte[]> r) {
        po.track(r.offset());
        Route route;
        try {
            route = router.route(r);
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) { // an Error too: the worker's boundary catches every Throwable the same way
            // routing is meant never to throw on any record (the decoder answers Malformed); should
            // one still make it throw, thrown here it would fail the poll round, the clients would
            // be made again and read the same record from the committed offset, forever: the
            // partition stalled, nothing dead-lettered. So it is dead-lettered (in group mode by
            // every node that routes it: duplicates in the DLQ rather than a stall)
            LOG.error("record {}-{}@{} could not be routed; dead-lettered", r.topic(), r.partition(), r.offset(), e);
            route = new RecordRouter.DeadLetter("malformed", ErrorCode.MALFORMED_EVENT,
                    "the record could not be routed: " + e, e.getClass().getName(), null);
        }
        take(po, r, route, false);
    }

    /**
     * Acts on {@code route}, on the poll thread or (after validation) on the record's worker. The
     * one place a record is counted as consumed, and the one path from a route to the emitter.
     * The stage returned completes when the container's next event may start.
     */
    private CompletableFuture<Void> take(PartitionOffsets po, ConsumerRecord<byte[], byte[]> r, Route route,
            boolean onWorker) {
        long offset = r.offset();
        if (route instanceof RecordRouter.Validate v) {
            workers.submitAsync(v.containerId(), () -> onWorker(po, r, v));
            return DONE;
        }
        metrics.consumed(route.type());
        if (route instanceof RecordRouter.Skip s) {
            metrics.skipped(s.reason());
            if (onWorker) {
                completions.post(() -> po.done(offset));
            } else {
                po.skipped(offset);
            }
            return DONE;
        }
        if (route instanceof RecordRouter.DeadLetter d) {
            List<Output> outs = deadLetter(r, d);
            if (onWorker || d.containerId() == null) {
                emit(po, offset, outs, onWorker);
            } else { // through the container's queue, so its outcomes stay in event order
                workers.submit(d.containerId(), () -> emit(po, offset, outs, true));
            }
            return DONE;
        }
        ContainerEvent ev = ((RecordRouter.Enforce) route).event();
        if (onWorker) {
            return handle(po, offset, ev, r);
        }
        workers.submitAsync(ev.containerId(), () -> handle(po, offset, ev, r));
        return DONE;
    }

    /**
     * Worker: validation and what follows. This is the event boundary: anything thrown here, an
     * Error included, would leave the record without output and its partition stalled, so it ends
     * in a dead letter and a failed outcome instead.
     */
    private CompletableFuture<Void> onWorker(PartitionOffsets po, ConsumerRecord<byte[], byte[]> r,
            RecordRouter.Validate v) {
        try {
            return take(po, r, router.validated(v), true);
        } catch (Throwable e) {
            LOG.error("the event of container {} failed unexpectedly before enforcement", v.containerId(), e);
            DecodeResult.Invalid inv = new DecodeResult.Invalid(null, v.parsed().nodeId(), null, v.containerId(),
                    "event could not be handled: " + e);
            emit(po, r.offset(), deadLetter(r, RecordRouter.DeadLetter.of(inv)), true);
            return DONE;
        }
    }

    private void emit(PartitionOffsets po, long offset, List<Output> outs, boolean onWorker) {
        emit(po, offset, outs, DONE, onWorker);
    }

    private void emit(PartitionOffsets po, long offset, List<Output> outs, CompletableFuture<Void> journaled,
            boolean onWorker) {
        if (onWorker) {
            completions.post(() -> emitter.emit(po, offset, outs, journaled));
        } else {
            emitter.emit(po, offset, outs, journaled);
        }
    }

    /**
     * Worker: enforce one valid event (possibly parked until its policy arrives) and post its
     * outcome record, to be done once what the event changed in the live set is journaled too.
     * The outcome is posted once the reconciler's outcomes of the container published before the
     * event are acknowledged ({@link EventHandler#reportable}; at once in the common case), and the
     * stage completes when it is posted, so the container's next event waits for that (not for the
     * journal). Should it fail (shutdown refused the continuation, or interrupted
     * the enforcement: {@link AbandonedWork}), the record gets no output and stays unacknowledged:
     * it is redelivered. An event whose partition this
     * instance let go before the event's turn came (revoked past the handover's bound, lost,
     * fenced, clients made again) is not enforced at all, nor when its policy arrives: the
     * partition's new owner reads it again from the last commit, and enforcing it here too, late,
     * could undo what the owner did since (a stop run after the owner's start of the next instance
     * would release that instance's host guard and journal entry).
     */
    private CompletableFuture<Void> handle(PartitionOffsets po, long offset, ContainerEvent ev,
            ConsumerRecord<byte[], byte[]> r) {
        if (po.released()) {
            LOG.debug("event {} of container {} not handled: partition {} is no longer this instance's", ev.eventId(),
                    ev.containerId(), r.partition());
            return DONE;
        }
        return handler.handle(ev, ReplayHeaders.isReplay(r.headers()), workers.workers(), () -> !po.released())
                .thenCompose(o -> {
            if (o == null) {
                return DONE; // its partition went while it waited for its policy: nothing was done
            }
            problems.outcome(o, r.topic(), r.partition(), r.offset());
            List<Output> outs = List.of(Output.outcome(records.outcome(o), o, r));
            // after the reconciler's outcomes of the container published before the event (its own producer):
            // the container's next event waits for this too, so its outcomes keep their order
            return handler.reportable(ev.containerId(), ev.eventId())
                    .thenRun(() -> emit(po, offset, outs, handler.journaled(ev.containerId()), true));
        }).whenComplete((v, e) -> {
            if (e != null && !workers.stopped() && !(unwrap(e) instanceof AbandonedWork)) { // abandoned: logged
                LOG.error("event {} of container {} got no outcome", ev.eventId(), ev.containerId(), e);
            }
        });
    }

    private static Throwable unwrap(Throwable e) {
        return e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
    }

    /** The dead letter, plus a failed outcome when the event's containerId is readable. */
    private List<Output> deadLetter(ConsumerRecord<byte[], byte[]> r, RecordRouter.DeadLetter d) {
        problems.deadLettered(r.topic(), r.partition(), r.offset(), d.code().code(), d.message(), d.containerId());
        Output letter = Output.deadLetter(records.deadLetter(r, d.code(), d.message(), d.causeClass()), d.code().code());
        if (d.containerId() == null) {
            return List.of(letter);
        }
        Outcome o = outcomes.invalidEvent(d.invalid(), ReplayHeaders.isReplay(r.headers()));
        return List.of(letter, Output.outcome(records.outcome(o), o, r));
    }
}
