package dev.netfence.policy.store;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Policies materialized from the compacted {@code sandbox.policies} topic (key taskId, value
 * policy JSON, null value = delete). One daemon thread owns a group-less consumer that is
 * assigned every partition and reads from the beginning, forever; the store counts as caught up
 * once it has read up to the end offsets it saw at start, so a restarted service never reports
 * ready before it knows every policy that existed (the pipeline reads no event before that, as
 * Kafka Streams fills its global tables before processing). Until the topic exists the store
 * waits for it and is not caught up. Partitions added to the topic later are picked up from their
 * beginning: the partition count is re-read from the consumer's metadata (refreshed every
 * {@code metadata.max.age.ms}, 30 s unless configured) every {@link #PARTITION_CHECK}; one found
 * before the store caught up is read to its end offset too before the store counts as caught up.
 */
public final class TopicPolicyStore implements PolicyStore {
    private static final Logger LOG = LoggerFactory.getLogger(TopicPolicyStore.class);
    private static final Duration POLL = Duration.ofMillis(200);
    static final Duration PARTITION_CHECK = Duration.ofSeconds(5);

    private final String topic;
    private final PolicyDecoder decoder;
    private final PolicyTable table = new PolicyTable();
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread thread;
    private volatile boolean caughtUp;
    private volatile boolean closed;

    private TopicPolicyStore(Map<String, Object> kafka, String topic, PolicyDecoder decoder) {
        this.topic = topic;
        this.decoder = decoder;
        Map<String, Object> conf = new HashMap<>(kafka);
        conf.remove(ConsumerConfig.GROUP_ID_CONFIG);
        conf.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        conf.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        conf.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        conf.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        conf.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        conf.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "netfence-policies");
        conf.putIfAbsent(ConsumerConfig.METADATA_MAX_AGE_CONFIG, 30_000);
        this.consumer = new KafkaConsumer<>(conf, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.thread = new Thread(this::run, "netfence-policy-store");
        this.thread.setDaemon(true);
    }

    /** Starts reading {@code topic} with the given client settings (bootstrap servers, TLS...). */
    public static TopicPolicyStore start(Map<String, Object> kafka, String topic, PolicyDecoder decoder) {
        TopicPolicyStore store = new TopicPolicyStore(kafka, topic, decoder);
        store.thread.start();
        return store;
    }

    @Override
    public Optional<StoredPolicy> lookup(String taskId) {
        return table.get(taskId);
    }

    @Override
    public Optional<StoredPolicy> await(String taskId, Duration timeout) throws InterruptedException {
        return table.await(taskId, timeout);
    }

    @Override
    public CompletableFuture<Optional<StoredPolicy>> whenAvailable(String taskId, Duration timeout) {
        return table.whenAvailable(taskId, timeout);
    }

    @Override
    public void onChange(Consumer<String> listener) {
        table.onChange(listener);
    }

    @Override
    public boolean isCaughtUp() {
        return caughtUp;
    }

    /** How many tasks currently have a policy. */
    public int size() {
        return table.size();
    }

    private void run() {
        try {
            List<TopicPartition> parts = awaitPartitions();
            if (parts.isEmpty()) {
                return;
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> start = awaitEndOffsets(parts);
            if (start == null) {
                return;
            }
            Map<TopicPartition, Long> target = new HashMap<>(start);
            LOG.info("reading policies from {} up to {}", topic, target);
            long nextCheck = System.nanoTime() + PARTITION_CHECK.toNanos();
            while (!closed) {
                if (System.nanoTime() - nextCheck >= 0) {
                    List<TopicPartition> all = addedPartitions(parts);
                    if (!caughtUp && all.size() > parts.size()) {
                        // found before the store caught up (the topic grew, or the first metadata
                        // lacked them): read to their end too before counting as caught up
                        List<TopicPartition> known = parts;
                        Map<TopicPartition, Long> more = awaitEndOffsets(all.stream().filter(tp -> !known.contains(tp)).toList());
                        if (more == null) {
                            return;
                        }
                        target.putAll(more);
                        LOG.info("reading policies from {} up to {}", topic, target);
                    }
                    parts = all;
                    nextCheck = System.nanoTime() + PARTITION_CHECK.toNanos();
                }
                try {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                        apply(r);
                    }
                    // position() asks the broker while a partition's start offset is not known yet,
                    // and times out like poll() when the broker does not answer: retried the same way
                    if (!caughtUp && target.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue())) {
                        caughtUp = true;
                        LOG.info("policy store caught up: {} policies from {}", table.size(), topic);
                    }
                } catch (WakeupException e) {
                    throw e;
                } catch (RuntimeException e) {
                    LOG.warn("reading policies from {} failed, retrying: {}", topic, e.toString());
                    Thread.sleep(1000);
                }
            }
        } catch (WakeupException e) {
            if (!closed) {
                LOG.error("policy store woken up unexpectedly", e);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("policy store reader of {} stopped", topic, e);
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /**
     * Assigns partitions that appeared since the last check, read from their beginning; returns
     * the full list. A metadata error leaves the assignment as it is until the next check.
     */
    private List<TopicPartition> addedPartitions(List<TopicPartition> parts) {
        List<PartitionInfo> infos;
        try {
            infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
        } catch (WakeupException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.warn("cannot re-read the partitions of {}: {}", topic, e.toString());
            return parts;
        }
        if (infos == null || infos.size() <= parts.size()) {
            return parts;
        }
        List<TopicPartition> all = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
        List<TopicPartition> added = all.stream().filter(tp -> !parts.contains(tp)).toList();
        consumer.assign(all);
        consumer.seekToBeginning(added);
        LOG.info("policy topic {} grew to {} partitions; reading {} from the beginning", topic, all.size(), added);
        return all;
    }

    /**
     * The end offsets of {@code parts} now (under {@code read_committed}, the last stable offsets):
     * what the store must have read before it counts as caught up. Retried until the broker answers;
     * null once closed.
     */
    private Map<TopicPartition, Long> awaitEndOffsets(List<TopicPartition> parts) throws InterruptedException {
        while (!closed) {
            try {
                return consumer.endOffsets(parts, Duration.ofSeconds(30));
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
                LOG.warn("cannot read the end offsets of {} yet, retrying: {}", topic, e.toString());
                Thread.sleep(1000);
            }
        }
        return null;
    }

    private List<TopicPartition> awaitPartitions() {
        boolean warned = false;
        while (!closed) {
            try {
                List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
                if (infos != null && !infos.isEmpty()) {
                    return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
                }
                if (!warned) {
                    LOG.warn("policy topic {} does not exist yet; waiting for it", topic);
                    warned = true;
                }
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
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

    private void apply(ConsumerRecord<byte[], byte[]> r) {
        if (r.key() == null) {
            LOG.warn("ignoring policy record without a key at {}-{}@{}", r.topic(), r.partition(), r.offset());
            return;
        }
        String taskId = new String(r.key(), StandardCharsets.UTF_8);
        if (r.value() == null) {
            table.remove(taskId);
            return;
        }
        StoredPolicy p;
        try {
            p = decoder.decode(r.value());
        } catch (RuntimeException e) {
            p = new StoredPolicy.Invalid(List.of("policy could not be read: " + e.getMessage()));
        }
        if (p instanceof StoredPolicy.Invalid inv) {
            LOG.warn("stored policy of task {} is invalid: {}", taskId, inv.reasons());
        }
        table.put(taskId, p);
    }

    @Override
    public void close() {
        closed = true;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
