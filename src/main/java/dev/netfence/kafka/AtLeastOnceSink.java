package dev.netfence.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At-least-once output: outcomes and dead letters are sent by one publisher thread (so the poll
 * thread never blocks on the producer, not even when the broker is away), and a record is done once
 * all its outputs are acknowledged. netfence never re-sends a failed output as it was: retriable
 * errors are the idempotent producer's, which retries them in order until {@code delivery.timeout.ms}
 * (a re-send of our own could put a container's outcome N after N+1). What happens after a failure
 * depends on {@link SendErrors}: when the producer gave up or is unusable, it is closed at once (so
 * nothing queued behind the failed output is delivered ahead of it) and the pipeline recreates its
 * clients and resumes from the last committed offsets, which never pass the failed output. An output
 * the broker refuses for good is replaced ({@link OutputRecords#replacement}: a dead letter without
 * its value, an outcome by its event's dead letter); one with nothing smaller left (a dead letter
 * without value) is held, its partition commits no further, and it is tried again with a growing
 * back-off (a dead letter's place in the DLQ does not matter). Every such failure is counted, logged
 * and reported to {@link SendHealth}. Offsets are committed asynchronously (one commit in flight at a
 * time) or synchronously on revoke/close.
 */
final class AtLeastOnceSink implements OutputSink {
    private static final Logger LOG = LoggerFactory.getLogger(AtLeastOnceSink.class);
    private static final long MAX_HELD_BACKOFF_MS = 30_000;

    private final Producer<byte[], byte[]> producer;
    private final org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer;
    private final Completions completions;
    private final PipelineMetrics metrics;
    private final OutputRecords records;
    private final SendHealth health;
    private final ProducerWatchdog watchdog;
    private final ScheduledExecutorService publisher;
    private volatile boolean closed;
    /** Set when the producer gave up or broke: the pipeline must recreate its clients. */
    private volatile FatalClientException broken;
    private boolean commitInFlight;
    /** Poll thread: outputs emitted and not yet acknowledged. */
    private int pending;

    AtLeastOnceSink(Producer<byte[], byte[]> producer, org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer,
                    Completions completions, PipelineMetrics metrics, OutputRecords records, SendHealth health) {
        this(producer, consumer, completions, metrics, records, health, new ProducerWatchdog(
                java.time.Clock.systemUTC(), List::of));
    }

    /** Every send is reported to {@code watchdog}, which the pipeline asks whether the producer still answers. */
    AtLeastOnceSink(Producer<byte[], byte[]> producer, org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer,
                    Completions completions, PipelineMetrics metrics, OutputRecords records, SendHealth health,
                    ProducerWatchdog watchdog) {
        this.watchdog = watchdog;
        this.producer = producer;
        this.consumer = consumer;
        this.completions = completions;
        this.metrics = metrics;
        this.records = records;
        this.health = health;
        this.publisher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "netfence-publisher");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void emit(PartitionOffsets partition, long offset, List<Output> outputs) {
        if (outputs.isEmpty()) {
            partition.done(offset);
            return;
        }
        AtomicInteger left = new AtomicInteger(outputs.size());
        pending += outputs.size();
        for (Output o : outputs) {
            execute(() -> send(o, partition, sent -> {
                pending--;
                sent.acked(metrics);
                if (left.decrementAndGet() == 0) {
                    partition.done(offset);
                }
            }, 0));
        }
    }

    /** Sends on the publisher thread; {@code onAck} runs on the poll thread with the output that made it. */
    private void send(Output o, PartitionOffsets partition, Consumer<Output> onAck, int heldAttempts) {
        if (closed || broken != null) {
            return;
        }
        long token = watchdog.sending(o.topic());
        try {
            producer.send(o.record(), (md, e) -> {
                watchdog.answered(token);
                if (e == null) {
                    health.succeeded(o.topic());
                    if (heldAttempts > 0) {
                        health.released();
                        LOG.info("held output to {} acknowledged after {} attempt(s)", o.topic(), heldAttempts + 1);
                    }
                    completions.post(() -> onAck.accept(o));
                } else {
                    failed(o, partition, onAck, e, heldAttempts);
                }
            });
            watchdog.sent(token);
        } catch (RuntimeException e) {
            watchdog.dropped(token);
            failed(o, partition, onAck, e, heldAttempts);
        }
    }

    private void failed(Output o, PartitionOffsets partition, Consumer<Output> onAck, Exception e, int heldAttempts) {
        if (closed || broken != null) {
            return;
        }
        if (SendErrors.producerClosed(e)) {
            // netfence closed the producer (stopping, or recreating its clients) before the broker answered: the
            // record is not committed, and the clients that come next do it again; nothing was refused
            broken = new FatalClientException("the producer was closed with an output to " + o.topic()
                    + " unacknowledged; it is done again from the last committed offsets", e);
            LOG.info(broken.getMessage());
            return;
        }
        SendErrors.Kind kind = SendErrors.classify(e);
        Throwable root = SendErrors.rootOf(e);
        if (kind == SendErrors.Kind.RETRIABLE || kind == SendErrors.Kind.FATAL) {
            metrics.sendFailed(o.topic(), kind == SendErrors.Kind.RETRIABLE ? "retriable" : "fatal", root);
            if (SendErrors.clockRefused(e)) {
                health.refused(o.topic(), e); // a streak that lasts makes /readyz say so, with the topic and the error
            }
            broken = new FatalClientException("sending to " + o.topic() + " failed (" + root + SendErrors.hint(e)
                    + "); recreating the clients and resuming from the last committed offsets, so no output is sent out"
                    + " of order", e);
            LOG.error(broken.getMessage());
            watchdog.closedOnPurpose(); // its I/O thread ends: no wedge, this failure is what commit reports
            producer.close(Duration.ZERO);
            return;
        }
        metrics.sendFailed(o.topic(), "terminal", root);
        health.refused(o.topic(), e);
        Optional<Output> replacement = records.replacement(o, e);
        if (replacement.isPresent()) {
            Output r = replacement.get();
            LOG.warn("{} refused an output ({}); sending a dead letter to {}{} instead", o.topic(), root, r.topic(),
                    r.record().value() == null ? " without the value" : "");
            if (o.outcome() != null) {
                metrics.outcomeDropped(o.outcome());
            }
            metrics.sendRetried(r.topic(), 1);
            execute(() -> send(r, partition, onAck, heldAttempts));
            return;
        }
        if (heldAttempts == 0) {
            health.hold(o.topic() + " refuses a dead letter with key "
                    + (o.record().key() == null ? "null" : new String(o.record().key(), java.nio.charset.StandardCharsets.UTF_8))
                    + ": " + root);
        }
        long backoff = Math.min(MAX_HELD_BACKOFF_MS, 1000L << Math.min(heldAttempts, 5));
        LOG.error("{} refuses a dead letter for good ({}) and nothing smaller is left to send: it is held (its"
                + " partition commits no further) and sent again in {} ms (attempt {})", o.topic(), root, backoff,
                heldAttempts + 1);
        try {
            publisher.schedule(() -> {
                if (closed) {
                    return; // close() released every hold already
                }
                if (partition.released()) {
                    // the partition went to another instance (or was lost), which redoes the record: held
                    // on here it would be retried for good and keep /readyz false for a partition not ours
                    completions.post(() -> pending--); // queued before the hold is seen released
                    health.released();
                    LOG.info("held output to {} dropped: its partition {} is no longer this instance's", o.topic(),
                            partition.partition());
                    return;
                }
                metrics.sendRetried(o.topic(), 1);
                send(o, partition, onAck, heldAttempts + 1);
            }, backoff, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closing) {
            // the sink is closing; the record was not committed and will be redone
        }
    }

    private void execute(Runnable r) {
        try {
            publisher.execute(r);
        } catch (RejectedExecutionException closing) {
            // the sink is closing; the record was not committed and will be redone
        }
    }

    @Override
    public int pending() {
        return pending;
    }

    @Override
    public void commit(Collection<PartitionOffsets> partitions, boolean sync) {
        if (broken != null) {
            throw broken;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        Map<TopicPartition, PartitionOffsets> owners = new HashMap<>();
        for (PartitionOffsets p : partitions) {
            long at = p.committable(null);
            if (at >= 0) {
                offsets.put(p.partition(), new OffsetAndMetadata(at));
                owners.put(p.partition(), p);
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        if (sync) {
            consumer.commitSync(offsets, ShutdownBudget.FINAL_COMMIT);
            offsets.forEach((tp, om) -> owners.get(tp).committed(om.offset()));
        } else if (!commitInFlight) {
            commitInFlight = true;
            // the callback runs inside poll(); posted, it also wakes that poll (PollWaker): a window
            // full of uncommitted records is paused, and would otherwise wait out the poll's timeout
            consumer.commitAsync(offsets, (done, e) -> completions.post(() -> {
                commitInFlight = false;
                if (e == null) {
                    offsets.forEach((tp, om) -> owners.get(tp).committed(om.offset()));
                } else {
                    metrics.commitFailed(e);
                    LOG.warn("offset commit failed (will retry): {}", e.toString());
                }
            }));
        }
    }

    @Override
    public void closing() {
        closed = true; // a send the closing producer fails (closed forcefully, or while it waited) is not replaced
    }

    @Override
    public void close() {
        closed = true;
        publisher.shutdownNow();
        health.releaseAll();
    }
}
