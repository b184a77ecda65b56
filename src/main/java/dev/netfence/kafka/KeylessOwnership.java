package dev.netfence.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides which instance dead-letters a record that names no node (no key, and no readable
 * nodeId in its value). In {@code group} mode each node's group reads every partition, so every
 * node in the fleet would dead-letter such a record. Instead the instances of all nodes also join
 * one shared consumer group, {@code netfence-keyless-<events topic>} ({@link #groupOf}: one per
 * events topic, so fleets that share a cluster but not a topic never rebalance each other), on the
 * events topic; it never fetches (its partitions
 * stay paused) and only answers "who owns partition p?": the instance it assigns the record's
 * partition to dead-letters the record, the others skip it
 * ({@code netfence.events.skipped{reason=keyless-other-owner}}). While this instance's share is
 * unknown (before its first assignment, during a rebalance) it dead-letters: a rare duplicate.
 * Each instance judges by its share when it reads the record, at its own position in the
 * partition, so a rebalance between two instances' readings can leave the record dead-lettered by
 * none (docs/kafka-pipeline.md; it names no node, so no enforcement depends on it). Not used with {@code node-partition} assignment or {@code --node-id '*'} (every
 * reader of the partition dead-letters, as before). Poll thread only, except {@link #owns}.
 */
final class KeylessOwnership implements AutoCloseable {
    private static final String GROUP = "netfence-keyless";
    private static final Logger LOG = LoggerFactory.getLogger(KeylessOwnership.class);
    private static final long POLL_EVERY_NANOS = 100_000_000L;

    private final Map<String, Object> settings;
    private final String topic;
    private final boolean enabled;
    private final Set<Integer> owned = ConcurrentHashMap.newKeySet();
    private volatile boolean known;
    /** The share was cleared by a failure of the shared group, not by a rebalance (poll thread only). */
    private boolean clearedByFailure;
    private final java.util.function.Function<Map<String, Object>, org.apache.kafka.clients.consumer.Consumer<byte[], byte[]>>
            consumers;
    private org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer;
    private long nextPoll = System.nanoTime();
    /** When the last failure of the shared group was logged (one warning per {@link #FAILURE_LOG_NANOS}). */
    private long lastFailureLog = System.nanoTime() - FAILURE_LOG_NANOS;
    private final long failureBackoffNanos;
    private static final long FAILURE_LOG_NANOS = 600_000_000_000L;

    KeylessOwnership(PipelineSettings s, NodeRouting routing) {
        this(s, routing, settings -> new KafkaConsumer<>(settings, new ByteArrayDeserializer(), new ByteArrayDeserializer()),
                Duration.ofSeconds(30));
    }

    /** With the shared group's consumer made by {@code consumers} from its settings, tried again {@code failureBackoff} after a failure (tests). */
    KeylessOwnership(PipelineSettings s, NodeRouting routing,
            java.util.function.Function<Map<String, Object>, org.apache.kafka.clients.consumer.Consumer<byte[], byte[]>> consumers,
            Duration failureBackoff) {
        this.consumers = consumers;
        this.failureBackoffNanos = failureBackoff.toNanos();
        this.enabled = s.assignment() == Assignment.GROUP && !routing.everyNode();
        this.topic = s.eventsTopic();
        Map<String, Object> c = new HashMap<>(s.kafka());
        c.keySet().removeIf(k -> !ConsumerConfig.configNames().contains(k));
        c.put(ConsumerConfig.GROUP_ID_CONFIG, groupOf(topic));
        c.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, "netfence-keyless-" + s.instance().replace('/', '-'));
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // like the pipeline's consumer (KafkaClients): an events topic an operator deleted must not be made again
        // at once with the broker's defaults by this consumer's next metadata request (found by EventsTopicRecreateTest)
        c.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        this.settings = Map.copyOf(c);
    }

    /** The shared group of the fleet that reads {@code eventsTopic}. */
    static String groupOf(String eventsTopic) {
        return GROUP + "-" + eventsTopic;
    }

    /** Joins the shared group (with each new set of pipeline clients). */
    void start() {
        if (!enabled || consumer != null) {
            return;
        }
        consumer = consumers.apply(settings);
        consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> tps) {
                known = false;
                tps.forEach(tp -> owned.remove(tp.partition()));
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> tps) {
                consumer.pause(tps);
                tps.forEach(tp -> owned.add(tp.partition()));
                known = true;
                LOG.info("dead-letters records without a node of partitions {} of {}", owned, topic);
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> tps) {
                onPartitionsRevoked(tps);
            }
        });
    }

    /**
     * Poll thread, every round: keeps the membership alive (at most every 100 ms). A failure of the
     * shared group (its ACL not granted: GroupAuthorizationException, a coordinator error) never
     * fails the pipeline, which does not need it to enforce: this instance then dead-letters every
     * record without a node it reads (as while its share is unknown), logs it once per 10 minutes,
     * and tries the group again after 30 s.
     */
    void poll() {
        if (consumer == null || System.nanoTime() - nextPoll < 0) {
            return;
        }
        nextPoll = System.nanoTime() + POLL_EVERY_NANOS;
        try {
            consumer.pause(consumer.assignment());
            consumer.poll(Duration.ZERO);
            if (clearedByFailure) {
                // a failure cleared the share while the membership, and its assignment, stayed: no callback comes
                clearedByFailure = false;
                if (!known && !consumer.assignment().isEmpty()) {
                    consumer.assignment().forEach(tp -> owned.add(tp.partition()));
                    known = true;
                }
            }
        } catch (org.apache.kafka.common.errors.InterruptException e) {
            throw e;
        } catch (KafkaException e) {
            known = false;
            owned.clear();
            clearedByFailure = true;
            nextPoll = System.nanoTime() + failureBackoffNanos;
            if (System.nanoTime() - lastFailureLog >= FAILURE_LOG_NANOS) {
                lastFailureLog = System.nanoTime();
                LOG.warn("the shared group {} on {} failed ({}); this instance dead-letters every record without a"
                        + " node it reads, and tries the group again every 30 s (grant the group's READ ACL; this"
                        + " warning is repeated at most every 10 minutes)", groupOf(topic), topic, e.toString());
            }
        }
    }

    /** Whether this instance dead-letters a record of {@code partition} that names no node. */
    boolean owns(int partition) {
        return !enabled || !known || owned.contains(partition);
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    /** Leaves the shared group, waiting at most {@code timeout} (a stop's share of {@link ShutdownBudget#CLIENT_CLOSE}). */
    void close(Duration timeout) {
        org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> c = consumer;
        consumer = null;
        known = false;
        owned.clear();
        if (c != null) {
            try {
                c.close(timeout);
            } catch (RuntimeException e) {
                LOG.warn("closing the {} consumer failed: {}", groupOf(topic), e.toString());
            }
        }
    }
}
