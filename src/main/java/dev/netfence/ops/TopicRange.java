package dev.netfence.ops;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * A slice of a topic fixed when it is computed: per partition, a start offset (the first record
 * at or after a time, or the beginning) and an end offset (the first record at or after an end
 * time, or the end as of now). Because the end is fixed up front, reading a range terminates
 * even while others keep writing, and records the reader itself re-publishes (replay) are never
 * read again. {@link #read} visits every record of the range in partition order and fails when
 * the broker stops delivering for longer than the stall timeout.
 */
public record TopicRange(String topic, Map<TopicPartition, Long> start, Map<TopicPartition, Long> end) {

    public TopicRange {
        Objects.requireNonNull(topic, "topic");
        start = Map.copyOf(start);
        end = Map.copyOf(end);
        if (!start.keySet().equals(end.keySet())) {
            throw new IllegalArgumentException("start and end must name the same partitions");
        }
    }

    /**
     * Computes the range [{@code from}, {@code to}) of {@code topic}; a null {@code from} means
     * the beginning, a null {@code to} the current end (for read_committed consumers, the last
     * stable offset).
     *
     * @throws IllegalArgumentException when the topic does not exist
     */
    public static TopicRange between(org.apache.kafka.clients.consumer.Consumer<?, ?> consumer, String topic,
                                     Instant from, Instant to, Duration timeout) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) {
            throw new IllegalArgumentException("topic " + topic + " does not exist");
        }
        List<TopicPartition> partitions = infos.stream()
                .map(p -> new TopicPartition(p.topic(), p.partition()))
                .sorted(java.util.Comparator.comparingInt(TopicPartition::partition))
                .toList();
        Map<TopicPartition, Long> beginning = consumer.beginningOffsets(partitions, timeout);
        Map<TopicPartition, Long> latest = consumer.endOffsets(partitions, timeout);
        Map<TopicPartition, Long> start = from == null ? beginning : offsetsAt(consumer, partitions, from, latest, timeout);
        Map<TopicPartition, Long> end = to == null ? latest : offsetsAt(consumer, partitions, to, latest, timeout);
        Map<TopicPartition, Long> clampedStart = new HashMap<>();
        for (TopicPartition tp : partitions) {
            clampedStart.put(tp, Math.min(Math.max(start.get(tp), beginning.get(tp)), end.get(tp)));
        }
        return new TopicRange(topic, clampedStart, end);
    }

    private static Map<TopicPartition, Long> offsetsAt(org.apache.kafka.clients.consumer.Consumer<?, ?> consumer,
                                                       List<TopicPartition> partitions, Instant time,
                                                       Map<TopicPartition, Long> latest, Duration timeout) {
        Map<TopicPartition, Long> query = new HashMap<>();
        partitions.forEach(tp -> query.put(tp, time.toEpochMilli()));
        Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query, timeout);
        Map<TopicPartition, Long> offsets = new HashMap<>();
        for (TopicPartition tp : partitions) {
            OffsetAndTimestamp at = found.get(tp);
            // no record at or after the time: the range starts (or ends) at the current end
            offsets.put(tp, at == null ? latest.get(tp) : Math.min(at.offset(), latest.get(tp)));
        }
        return offsets;
    }

    /** How many offsets the range spans (records plus transaction markers). */
    public long span() {
        return start.entrySet().stream().mapToLong(e -> end.get(e.getKey()) - e.getValue()).sum();
    }

    /**
     * Assigns the consumer to the partitions, seeks to the start offsets and hands every record
     * before the end offsets to {@code visitor}.
     *
     * @param stallTimeout how long polling may return nothing while records remain
     */
    public <K, V> void read(org.apache.kafka.clients.consumer.Consumer<K, V> consumer, Duration stallTimeout,
                            Consumer<ConsumerRecord<K, V>> visitor) {
        List<TopicPartition> pending = start.keySet().stream()
                .filter(tp -> start.get(tp) < end.get(tp))
                .sorted(java.util.Comparator.comparingInt(TopicPartition::partition))
                .toList();
        if (pending.isEmpty()) {
            return;
        }
        consumer.assign(pending);
        pending.forEach(tp -> consumer.seek(tp, start.get(tp)));
        java.util.Set<TopicPartition> open = new java.util.HashSet<>(pending);
        long lastProgress = System.nanoTime();
        while (!open.isEmpty()) {
            ConsumerRecords<K, V> records = consumer.poll(Duration.ofMillis(200));
            boolean progressed = false;
            for (TopicPartition tp : records.partitions()) {
                for (ConsumerRecord<K, V> record : records.records(tp)) {
                    if (record.offset() < end.get(tp)) {
                        visitor.accept(record);
                        progressed = true;
                    }
                }
            }
            for (TopicPartition tp : List.copyOf(open)) {
                if (consumer.position(tp) >= end.get(tp)) {
                    open.remove(tp);
                    consumer.pause(List.of(tp));
                    progressed = true;
                }
            }
            if (progressed) {
                lastProgress = System.nanoTime();
            } else if (System.nanoTime() - lastProgress > stallTimeout.toNanos()) {
                throw new IllegalStateException("no records from " + topic + " for " + stallTimeout.toSeconds()
                        + "s while " + open.size() + " partition(s) still had records to read");
            }
        }
    }
}
