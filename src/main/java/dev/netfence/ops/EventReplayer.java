package dev.netfence.ops;

import dev.netfence.event.ContainerEvent;
import dev.netfence.event.DecodeResult;
import dev.netfence.event.EventDecoder;
import dev.netfence.event.ReplayHeaders;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Re-drives container events of a {@link TopicRange} through the running pipeline: every event
 * that decodes as a valid container event ({@code container.started} or {@code container.stopped};
 * a stop of an earlier instance than the one enforced releases nothing) and matches the node/task filter is
 * re-published to the events topic with its original key, value and headers plus
 * the {@link ReplayHeaders} mark (the pipeline marks the outcome {@code replay: true}) and the
 * name of the original record. Records that are themselves replays are
 * skipped, so replaying the same window twice does not multiply events; invalid and malformed
 * records are counted, not re-sent (they would only fail again). A dry run only lists.
 */
public final class EventReplayer {

    private static final int PROGRESS_EVERY = 500;

    /**
     * Which events to replay; a null field matches everything. {@code unsettled}, when given, says
     * whether an event of the right node and task still needs replaying
     * ({@link LatestOutcomes#failedOrMissing}).
     */
    public record Filter(String nodeId, String taskId, java.util.function.Predicate<ContainerEvent> unsettled) {
        public Filter(String nodeId, String taskId) {
            this(nodeId, taskId, null);
        }

        boolean matches(ContainerEvent event) {
            return (nodeId == null || nodeId.equals(event.nodeId())) && (taskId == null || taskId.equals(event.taskId()));
        }

        boolean unsettled(ContainerEvent event) {
            return unsettled == null || unsettled.test(event);
        }
    }

    /**
     * Counts of one replay; {@code replayed} is 0 for a dry run; {@code settled}: events of the
     * node and task left out because their newest outcome did not fail.
     */
    public record Summary(long scanned, long matched, long replayed, long filteredOut, long earlierReplays,
                          long notReplayable, long failed, long settled) {
    }

    /** Told about each matching event and about progress, for the command to print. */
    public interface Listener {
        void matched(ConsumerRecord<byte[], byte[]> record, ContainerEvent event);

        void progress(long scanned, long span, long matched);
    }

    private final Consumer<byte[], byte[]> consumer;
    private final Producer<byte[], byte[]> producer;
    private final EventDecoder decoder;
    private final Duration stallTimeout;

    /** @param producer null for a dry run */
    public EventReplayer(Consumer<byte[], byte[]> consumer, Producer<byte[], byte[]> producer, EventDecoder decoder,
                         Duration stallTimeout) {
        this.consumer = Objects.requireNonNull(consumer, "consumer");
        this.producer = producer;
        this.decoder = Objects.requireNonNull(decoder, "decoder");
        this.stallTimeout = Objects.requireNonNull(stallTimeout, "stallTimeout");
    }

    public Summary replay(TopicRange range, Filter filter, Listener listener) {
        long[] n = new long[6]; // scanned, matched, filteredOut, earlierReplays, notReplayable, settled
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        long span = range.span();
        range.read(consumer, stallTimeout, record -> {
            n[0]++;
            if (ReplayHeaders.isReplay(record.headers())) {
                n[3]++;
            } else if (decoder.decode(record.value()) instanceof DecodeResult.Decoded decoded) {
                if (!filter.matches(decoded.event())) {
                    n[2]++;
                } else if (!filter.unsettled(decoded.event())) {
                    n[5]++;
                } else {
                    n[1]++;
                    listener.matched(record, decoded.event());
                    if (producer != null) {
                        sent.add(producer.send(replayOf(record)));
                    }
                }
            } else {
                n[4]++;
            }
            if (n[0] % PROGRESS_EVERY == 0) {
                listener.progress(n[0], span, n[1]);
            }
        });
        long failed = 0;
        if (producer != null) {
            producer.flush();
            for (Future<RecordMetadata> future : sent) {
                try {
                    future.get();
                } catch (ExecutionException e) {
                    failed++;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for replayed events to be acknowledged");
                }
            }
        }
        listener.progress(n[0], span, n[1]);
        return new Summary(n[0], n[1], producer == null ? 0 : sent.size() - failed, n[2], n[3], n[4], failed, n[5]);
    }

    static ProducerRecord<byte[], byte[]> replayOf(ConsumerRecord<byte[], byte[]> record) {
        Headers headers = new RecordHeaders(record.headers().toArray());
        ReplayHeaders.mark(headers, record.topic(), record.partition(), record.offset());
        return new ProducerRecord<>(record.topic(), null, record.key(), record.value(), headers);
    }
}
