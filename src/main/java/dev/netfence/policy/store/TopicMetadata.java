package dev.netfence.policy.store;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policies topic's partitions and their end offsets as the broker reports them, read through
 * the consumer of a {@link TopicPolicyStore} on its reader thread. Where the reader cannot go on
 * without them (the topic at its start, which may not exist yet; the end offsets of partitions to
 * be read before the store counts as caught up), they are waited for: retried until the broker
 * answers or the store closes, every failure counted in the store's {@link FailureStreak}, so that
 * readiness says why the store has not caught up yet. A class of its own so that the store keeps
 * to what it does with them.
 */
final class TopicMetadata {
    /** TopicPolicyStore's category, as before this class was split from it (operators' log settings name it). */
    private static final Logger LOG = LoggerFactory.getLogger(TopicPolicyStore.class);

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String topic;
    private final FailureStreak failures;
    private final BooleanSupplier closed;
    /** See {@link #missing()}; the reader thread's own. */
    private String missing;

    TopicMetadata(KafkaConsumer<byte[], byte[]> consumer, String topic, FailureStreak failures, BooleanSupplier closed) {
        this.consumer = consumer;
        this.topic = topic;
        this.failures = failures;
        this.closed = closed;
    }

    /**
     * The topic's partitions now, asked for within 5 s: empty when the metadata does not show the
     * topic (it does not exist, or is being deleted or created). Throws what the consumer throws.
     */
    List<TopicPartition> partitionsNow() {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
        if (infos == null || infos.isEmpty()) {
            return List.of();
        }
        return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
    }

    /**
     * {@link #partitionsNow()} for the store's periodic check, which also remembers whether the
     * topic was missing from the metadata (deleted): see {@link #missing()}.
     */
    List<TopicPartition> partitionsChecked(Duration failingNotReady) {
        List<TopicPartition> all = partitionsNow();
        if (all.isEmpty() && missing == null) {
            LOG.warn("policy topic {} is not in the broker's metadata any more (deleted?): the policies read before"
                    + " are kept, and readiness fails after {} s", topic, failingNotReady.toSeconds());
            missing = "the topic is not in the broker's metadata (deleted?)";
        } else if (!all.isEmpty() && missing != null) {
            LOG.info("policy topic {} is in the broker's metadata again", topic);
            missing = null;
        }
        return all;
    }

    /**
     * Why the last check found the topic gone, or null: the consumer's polls of a gone topic's
     * partitions return nothing without failing, which must not count as reading it.
     */
    String missing() {
        return missing;
    }

    /** The topic's partitions, waited for until it exists; empty once closed or interrupted. */
    List<TopicPartition> awaitPartitions() {
        boolean warned = false;
        while (!closed.getAsBoolean()) {
            try {
                List<TopicPartition> parts = partitionsNow();
                if (!parts.isEmpty()) {
                    return parts;
                }
                failures.failed("the topic does not exist (yet)");
                if (!warned) {
                    LOG.warn("policy topic {} does not exist yet; waiting for it", topic);
                    warned = true;
                }
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
                failures.failed("its metadata: " + e);
                LOG.warn("cannot read metadata of {} yet: {}", topic, e.toString());
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return List.of();
            }
        }
        return List.of();
    }

    /**
     * The end offsets of {@code parts} now (under {@code read_committed}, the last stable offsets):
     * what the store must have read before it counts as caught up. Retried until the broker answers;
     * null once closed.
     */
    Map<TopicPartition, Long> awaitEndOffsets(List<TopicPartition> parts) throws InterruptedException {
        while (!closed.getAsBoolean()) {
            try {
                return consumer.endOffsets(parts, Duration.ofSeconds(30));
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
                failures.failed("its end offsets: " + e);
                LOG.warn("cannot read the end offsets of {} yet, retrying: {}", topic, e.toString());
                Thread.sleep(1000);
            }
        }
        return null;
    }
}
