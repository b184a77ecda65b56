package dev.netfence.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * How many records the poll thread may take before it stops: {@code --max-in-flight} records
 * outstanding (read and not committed), not counting those skipped as they were taken (another
 * node's, decided from the key: done at once, no work held); or, those included,
 * {@link #UNCOMMITTED_PER_IN_FLIGHT} times as many. Before, skipped records counted fully, so in
 * {@code --assignment group} the partition paused (and the consumer sought back, dropping what it
 * had fetched) every {@code --max-in-flight} skipped records until the commit's round trip freed
 * the window. Takes a poll's records up to the window (seeking back to the first one not taken)
 * and pauses or resumes the assignment after each loop. Poll thread only. Split from
 * {@link EventPipeline}.
 */
final class FlowWindow {
    /** Outstanding records, skipped ones included, may reach this many times {@code --max-in-flight}. */
    static final int UNCOMMITTED_PER_IN_FLIGHT = 8;

    private final int maxInFlight;
    private final PartitionBook partitions;
    private final PipelineMetrics metrics;

    FlowWindow(int maxInFlight, PartitionBook partitions, PipelineMetrics metrics) {
        this.maxInFlight = maxInFlight;
        this.partitions = partitions;
        this.metrics = metrics;
    }

    /** Dispatches {@code polled}'s records of held partitions while the window has room; the rest are read again. */
    void take(KafkaConsumer<byte[], byte[]> consumer, ConsumerRecords<byte[], byte[]> polled,
            RecordDispatcher dispatcher) {
        int uncommitted = partitions.outstanding();
        for (TopicPartition tp : polled.partitions()) {
            PartitionOffsets po = partitions.get(tp);
            if (po == null) {
                continue;
            }
            for (ConsumerRecord<byte[], byte[]> r : polled.records(tp)) {
                if (full(partitions.inFlight(), uncommitted)) {
                    consumer.seek(tp, r.offset());
                    break;
                }
                dispatcher.dispatch(po, r);
                uncommitted++;
            }
        }
    }

    /**
     * Pauses the assignment while the window is full, resumes it once it is not; {@code hold}: paused
     * whatever the window, for an events topic missing from the metadata (fetching a partition that
     * does not exist returns at once with an error, thousands of times a second, each a warning of
     * the Kafka client).
     */
    void apply(KafkaConsumer<byte[], byte[]> consumer, boolean hold) {
        int inFlight = partitions.inFlight();
        metrics.inflight(inFlight);
        if (hold || full(inFlight, partitions.outstanding())) {
            consumer.pause(consumer.assignment());
        } else if (!consumer.paused().isEmpty()) {
            consumer.resume(consumer.paused());
        }
        metrics.paused(consumer.paused().size());
    }

    private boolean full(int inFlight, int uncommitted) {
        return inFlight >= maxInFlight || uncommitted >= (long) maxInFlight * UNCOMMITTED_PER_IN_FLIGHT;
    }
}
