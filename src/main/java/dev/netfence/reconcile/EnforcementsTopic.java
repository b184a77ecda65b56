package dev.netfence.reconcile;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The live set's journal on Kafka: the compacted topic {@code sandbox.enforcements} (key
 * containerId, value {@code schemas/enforcement.v1.json}, null = released). Written with an
 * idempotent producer (ordered per key); read once at start by {@link #load}, which reads every
 * partition from the beginning to the end offsets it saw and keeps the last value of each key
 * whose {@code nodeId} this node owns. Compaction keeps the topic at one record per live
 * container (plus tombstones until {@code delete.retention.ms}), so a restart reads the live set,
 * never the history of events. A failed write is logged and written again at the next resync
 * ({@link JournalWrites}); what is still unwritten when netfence stops is logged by container.
 */
public final class EnforcementsTopic implements LiveSetJournal {
    public static final String DEFAULT_TOPIC = "sandbox.enforcements";

    /** How long closing waits for the journal's writes to be acknowledged. */
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

    /** How long one journal write waits for the topic's metadata (the producer's {@code max.block.ms}). */
    static final Duration METADATA_WAIT = Duration.ofSeconds(5);

    private final JournalWrites writes;
    private final LiveContainerCodec codec = new LiveContainerCodec();

    /** @param kafka client settings (bootstrap.servers, TLS/SASL) */
    public EnforcementsTopic(Map<String, Object> kafka, String topic) {
        Map<String, Object> conf = new HashMap<>(kafka);
        conf.keySet().removeIf(k -> !ProducerConfig.configNames().contains(k));
        conf.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        conf.put(ProducerConfig.ACKS_CONFIG, "all");
        conf.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        // a send waits this long for the topic's metadata (deleted, unavailable) before it fails and is
        // written again at the next resync; the events that wait for their entry hold their places meanwhile
        conf.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) METADATA_WAIT.toMillis());
        conf.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "netfence-enforcements");
        this.writes = new JournalWrites(new KafkaProducer<>(conf, new ByteArraySerializer(), new ByteArraySerializer()),
                topic);
    }

    /** Over a given producer (tests). */
    EnforcementsTopic(Producer<byte[], byte[]> producer, String topic) {
        this.writes = new JournalWrites(producer, topic);
    }

    @Override
    public void record(LiveContainer container) {
        writes.write(container.containerId(), codec.encode(container));
    }

    @Override
    public void remove(String containerId) {
        writes.write(containerId, null);
    }

    @Override
    public CompletableFuture<Void> settled(String containerId) {
        return writes.settled(containerId);
    }

    @Override
    public int retryFailed() {
        return writes.retryFailed();
    }

    /** Waits until every write so far is handed over and acknowledged or failed (the memory bench). */
    public void flush() throws InterruptedException {
        writes.flush();
    }

    @Override
    public int unwrittenCount() {
        return writes.unwrittenCount();
    }

    /** The containers whose entry's last write failed or is not acknowledged yet. */
    public List<String> unwritten() {
        return writes.unwritten();
    }

    /**
     * Waits up to {@link #CLOSE_TIMEOUT} for every write to be acknowledged, then closes; the
     * containers whose entry is still unwritten (failed, or not acknowledged in time) are logged.
     */
    @Override
    public void close() {
        writes.close(CLOSE_TIMEOUT);
    }

    /**
     * Reads the whole topic once and returns the entries of the containers this node owns
     * ({@code ownsNode} on their nodeId); an absent topic is an empty live set. Blocks until all of
     * it is read, trying again while the broker is away ({@link LiveSetLoader}); {@code timeout}
     * bounds each metadata request and spaces the progress logs.
     */
    public static List<LiveContainer> load(Map<String, Object> kafka, String topic, Predicate<String> ownsNode,
            Duration timeout) throws InterruptedException {
        return load(kafka, topic, ownsNode, timeout, null);
    }

    /**
     * As {@link #load(Map, String, Predicate, Duration)}, but no attempt starts after {@code budget}
     * (null: none) has passed; the last failure is thrown then.
     */
    public static List<LiveContainer> load(Map<String, Object> kafka, String topic, Predicate<String> ownsNode,
            Duration timeout, Duration budget) throws InterruptedException {
        Map<String, Object> conf = new HashMap<>(kafka);
        conf.keySet().removeIf(k -> !ConsumerConfig.configNames().contains(k));
        conf.remove(ConsumerConfig.GROUP_ID_CONFIG);
        conf.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        conf.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        conf.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        conf.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        conf.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "netfence-enforcements-loader");
        return new LiveSetLoader(() -> new KafkaConsumer<>(conf, new ByteArrayDeserializer(), new ByteArrayDeserializer()),
                topic, String.valueOf(kafka.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG)), timeout, Duration.ofSeconds(1))
                .load(ownsNode, budget);
    }
}
