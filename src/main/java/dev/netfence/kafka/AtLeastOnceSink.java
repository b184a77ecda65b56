package dev.netfence.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At-least-once output: outcomes and dead letters are sent by one publisher thread (so the poll
 * thread never blocks on the producer, not even when the broker is away), a record is done once
 * all its outputs are acknowledged, and a failed send is retried after a back-off on that same
 * thread, forever, so nothing is committed past a record whose outcome is not on the broker. A
 * dead letter the broker refuses as too large is re-sent without its value. Offsets are
 * committed asynchronously (one commit in flight at a time) or synchronously on revoke/close.
 */
final class AtLeastOnceSink implements OutputSink {
    private static final Logger LOG = LoggerFactory.getLogger(AtLeastOnceSink.class);
    private static final long RETRY_BACKOFF_MS = 1000;

    private final Producer<byte[], byte[]> producer;
    private final Consumer<byte[], byte[]> consumer;
    private final Completions completions;
    private final PipelineMetrics metrics;
    private final ScheduledExecutorService publisher;
    private volatile boolean closed;
    private boolean commitInFlight;

    AtLeastOnceSink(Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> consumer, Completions completions,
                    PipelineMetrics metrics) {
        this.producer = producer;
        this.consumer = consumer;
        this.completions = completions;
        this.metrics = metrics;
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
        for (Output o : outputs) {
            publisher.execute(() -> send(o, () -> {
                o.acked(metrics);
                if (left.decrementAndGet() == 0) {
                    partition.done(offset);
                }
            }));
        }
    }

    /** Sends on the publisher thread; {@code onAck} runs on the poll thread. */
    private void send(Output o, Runnable onAck) {
        if (closed) {
            return;
        }
        try {
            producer.send(o.record(), (md, e) -> {
                if (e == null) {
                    completions.post(onAck);
                } else {
                    failed(o, onAck, e);
                }
            });
        } catch (RuntimeException e) {
            failed(o, onAck, e);
        }
    }

    private void failed(Output o, Runnable onAck, Exception e) {
        if (closed) {
            return;
        }
        if (e instanceof RecordTooLargeException && o.deadLetterCode() != null && o.record().value() != null) {
            LOG.warn("dead letter for {} too large for {}; re-sending it without its value", o.record().key(),
                    o.record().topic());
            publisher.execute(() -> send(o.withRecord(OutputRecords.withoutValue(o.record())), onAck));
            return;
        }
        LOG.warn("sending to {} failed, retrying in {} ms: {}", o.record().topic(), RETRY_BACKOFF_MS, e.toString());
        publisher.schedule(() -> send(o, onAck), RETRY_BACKOFF_MS, TimeUnit.MILLISECONDS);
    }

    @Override
    public void commit(Collection<PartitionOffsets> partitions, boolean sync) {
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
            consumer.commitSync(offsets, Duration.ofSeconds(10));
            offsets.forEach((tp, om) -> owners.get(tp).committed(om.offset()));
        } else if (!commitInFlight) {
            commitInFlight = true;
            consumer.commitAsync(offsets, (done, e) -> {
                commitInFlight = false;
                if (e == null) {
                    offsets.forEach((tp, om) -> owners.get(tp).committed(om.offset()));
                } else {
                    LOG.warn("offset commit failed (will retry): {}", e.toString());
                }
            });
        }
    }

    @Override
    public void close() {
        closed = true;
        publisher.shutdownNow();
    }
}
