package dev.netfence.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the committed offset of a partition that gets no events from expiring. The broker drops a
 * group's committed offset {@code offsets.retention.minutes} (7 days by default) after its last
 * commit once the group has no members, and in {@code node-partition} mode netfence's group never
 * has any (it assigns its partitions itself): a node whose partition was quiet for a week lost its
 * offset while it ran, and its next start (or the next recreation of its Kafka clients) read the
 * partition from its beginning ({@code earliest}), enforcing every retained event again. So a
 * partition's committed offset is committed again, unchanged, once its last commit is {@link #EVERY}
 * old and no record of it is in flight ({@link PartitionOffsets#committable}); for a partition
 * netfence has not committed since it was assigned, {@link #seed} first asks the broker for the
 * group's offset, once per {@link #EVERY} (nothing to keep where the group has none, and none that
 * is ahead of where the consumer reads: after an out-of-range reset, a topic created again or
 * truncated, netfence's own commits replace it). Runs on the poll thread, before a commit round.
 */
final class CommitRefresh {
    private static final Logger LOG = LoggerFactory.getLogger(CommitRefresh.class);
    /** How old a partition's last commit may get before it is committed again. */
    static final Duration EVERY = Duration.ofHours(1);
    /** How long the look for the group's offsets may block the poll thread. */
    static final Duration LOOK = Duration.ofSeconds(5);

    private CommitRefresh() {}

    /**
     * Gives each partition of {@code partitions} that knows no commit and whose refresh is due the
     * group's committed offset ({@link PartitionOffsets#knownCommitted}), in one request; a failed
     * request is tried again after {@link #EVERY}.
     */
    static void seed(Consumer<?, ?> consumer, Collection<PartitionOffsets> partitions) {
        Map<TopicPartition, PartitionOffsets> unknown = new HashMap<>();
        for (PartitionOffsets p : partitions) {
            if (p.lastCommitted() < 0 && p.refreshDue()) {
                unknown.put(p.partition(), p);
            }
        }
        if (unknown.isEmpty()) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> committed;
        try {
            committed = consumer.committed(unknown.keySet(), LOOK);
        } catch (KafkaException e) {
            LOG.info("could not read the committed offsets of {} to keep them from expiring ({}); tried again in {}",
                    unknown.keySet(), e.toString(), EVERY);
            unknown.values().forEach(p -> p.knownCommitted(-1));
            return;
        }
        unknown.forEach((tp, p) -> {
            OffsetAndMetadata o = committed == null ? null : committed.get(tp);
            p.knownCommitted(o == null || o.offset() > position(consumer, tp) ? -1 : o.offset());
        });
    }

    /** Where {@code consumer} reads {@code tp} now, without waiting; -1 when it does not know yet. */
    private static long position(Consumer<?, ?> consumer, TopicPartition tp) {
        try {
            return consumer.position(tp, Duration.ZERO);
        } catch (KafkaException | IllegalStateException e) {
            return -1;
        }
    }
}
