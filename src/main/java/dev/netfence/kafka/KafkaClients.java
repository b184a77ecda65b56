package dev.netfence.kafka;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client settings of the pipeline: user settings first (bootstrap, TLS, SASL, tuning from
 * {@code kafka.*} config keys), then the settings correctness depends on, which always win:
 * manual commits, {@code read_committed}, idempotent {@code acks=all} producers, the group id
 * {@code netfence-<nodeId>} and, in exactly-once mode, the {@link #transactionalId}.
 * Group mode adds static membership ({@link StaticMembership}); consumers refresh metadata every
 * 30 s unless configured, so a grown events topic is noticed within that.
 */
public final class KafkaClients {
    /** The settings netfence sets over the user's ({@link #consumerGuarantees}, {@link #producerGuarantees} and its own ids). */
    private static final Set<String> PROTECTED = Set.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, ConsumerConfig.GROUP_ID_CONFIG,
            ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, ProducerConfig.ACKS_CONFIG,
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, ProducerConfig.TRANSACTIONAL_ID_CONFIG);
    private static final Logger LOG = LoggerFactory.getLogger(KafkaClients.class);

    private KafkaClients() {}

    /**
     * What every netfence producer (the service's and the ops commands') needs for no loss and no
     * duplicates per send: {@code acks=all} and idempotence. Applied last, over user settings.
     */
    public static Map<String, Object> producerGuarantees() {
        return Map.of(ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    }

    /**
     * What every netfence consumer needs: offsets committed only by netfence itself, only
     * committed transactional records read, and a partition without a committed offset read from
     * its beginning ({@code latest} would skip the events written before a node's first
     * assignment, or before it followed a grown events topic to a new partition; {@code none} would
     * stop the pipeline there). Applied last, over user settings.
     */
    public static Map<String, Object> consumerGuarantees() {
        return Map.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false, ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    }

    static KafkaConsumer<byte[], byte[]> consumer(PipelineSettings s, NodeRouting routing) {
        return new KafkaConsumer<>(consumerConfig(s, routing), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** The pipeline consumer's settings: the user's {@code kafka.} settings under netfence's guarantees. */
    static Map<String, Object> consumerConfig(PipelineSettings s, NodeRouting routing) {
        Map<String, Object> c = new HashMap<>(s.kafka());
        c.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Math.min(500, s.maxInFlight()));
        c.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "netfence-" + s.instance().replace('/', '-'));
        c.put(ConsumerConfig.GROUP_ID_CONFIG, routing.groupId());
        c.putAll(consumerGuarantees());
        // netfence makes its topics at start (TopicSetup); its consumer making the events topic again the moment an
        // operator deleted it would give it the broker's defaults (helper 189 #1)
        c.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        c.putIfAbsent(ConsumerConfig.METADATA_MAX_AGE_CONFIG, 30_000);
        StaticMembership.apply(s, c);
        return c;
    }

    /**
     * The pipeline's producer. {@code batch.size} is capped at the smallest {@code max.message.bytes}
     * of the output topics ({@link OutputTopicLimits}), read anew each time the clients are made, so a
     * refused record fails instead of being split and retried forever by the producer; should a topic's
     * limit be lowered while the producer runs, the {@link ProducerWatchdog} finds it wedged and the
     * clients are made again. {@code delivery.timeout.ms} (Kafka's default, 120 s, or {@code linger.ms +
     * request.timeout.ms} when that is more and it is not set) bounds the producer's own in-order retries. {@code linger.ms} 1 (Kafka 4's default is 5): an outcome is on a scheduler's
     * latency path, and under load the producer batches anyway while its in-flight requests are outstanding.
     */
    static Producing producer(PipelineSettings s, NodeRouting routing, String transactionalId) {
        Optional<OutputTopicLimits.Limit> limit = OutputTopicLimits.smallest(adminSettings(s),
                List.of(s.outcomesTopic(), s.dlqTopic()));
        Map<String, Object> p = producerConfig(s, transactionalId, limit);
        String clientId = p.get(ProducerConfig.CLIENT_ID_CONFIG).toString();
        int batchSize = ProducerWatchdog.batchSize(p); // read before the producer is made: nothing after it can throw
        java.time.Duration deliveryTimeout = ProducerWatchdog.deliveryTimeout(p);
        Set<Thread> before = ProducerWatchdog.ioThreads(clientId);
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        return new Producing(producer, ProducerWatchdog.newIoThread(clientId, before), batchSize, deliveryTimeout);
    }

    /** The pipeline producer's settings, its {@code batch.size} capped to {@code limit} when it is smaller. */
    static Map<String, Object> producerConfig(PipelineSettings s, String transactionalId,
            Optional<OutputTopicLimits.Limit> limit) {
        Map<String, Object> p = new HashMap<>(s.kafka());
        p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 1);
        Integer batch = intOrNull(p.getOrDefault(ProducerConfig.BATCH_SIZE_CONFIG, 16384));
        if (batch != null && limit.isPresent() && limit.get().bytes() < batch) {
            LOG.warn("output topic {} accepts records of at most {} bytes (max.message.bytes), less than the"
                    + " producer's batch.size {}: batch.size capped to {} so refused records fail (KAFKA-8350)",
                    limit.get().topic(), limit.get().bytes(), batch, limit.get().bytes());
            batch = Math.max(1, limit.get().bytes());
        }
        if (batch != null) { // else not a number: left for the client to refuse by its key, as any other setting
            p.put(ProducerConfig.BATCH_SIZE_CONFIG, batch);
        }
        p.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2 * 1024 * 1024);
        p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "netfence-" + s.instance().replace('/', '-'));
        p.putAll(producerGuarantees());
        if (s.exactlyOnce()) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
            // a crashed instance's open transaction blocks read_committed readers and its successor's
            // offset fetch until it times out; netfence's transactions last milliseconds
            p.putIfAbsent(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 10_000);
        } else {
            p.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        }
        return p;
    }

    private static Integer intOrNull(Object value) {
        try {
            return Integer.valueOf(value.toString().trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * A producer just made, its I/O thread (when it could be told from others), its {@code batch.size} and
     * the {@code delivery.timeout.ms} it uses ({@link ProducerWatchdog#deliveryTimeout}).
     */
    record Producing(KafkaProducer<byte[], byte[]> producer, Optional<Thread> ioThread, int batchSize,
            java.time.Duration deliveryTimeout) {}

    /** The pipeline's consumer and producer. */
    record Pair(KafkaConsumer<byte[], byte[]> consumer, Producing producing) {
        KafkaProducer<byte[], byte[]> producer() {
            return producing.producer();
        }
    }

    /**
     * {@link #consumer} and {@link #producer}, made together: when the producer cannot be made (its
     * bootstrap names not resolvable for a moment, a bad setting), the consumer made first is closed
     * before the failure is thrown, so that the pipeline's next attempt, a second later, does not
     * leave one more consumer's sockets and metrics behind.
     */
    static Pair both(PipelineSettings s, NodeRouting routing, String transactionalId) {
        KafkaConsumer<byte[], byte[]> c = consumer(s, routing);
        try {
            return new Pair(c, producer(s, routing, transactionalId));
        } catch (RuntimeException | Error e) {
            try {
                c.close(java.time.Duration.ZERO);
            } catch (RuntimeException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    /**
     * The exactly-once {@code transactional.id}. With {@code --assignment group} it is unique per
     * instance ({@code netfence-<nodeId>-<instance uuid>}): since KIP-447 a zombie (an instance that
     * lost its partitions and does not know it yet) is fenced by the group generation its offsets are
     * sent with ({@code sendOffsetsToTransaction(consumer.groupMetadata())}), so two instances of one
     * node, say during a rolling deploy, share the partitions instead of fencing each other. With
     * {@code node-partition} the consumer is assigned its partition by hand and has no generation;
     * the only fence left is the transactional id itself, so it stays per node ({@code netfence-<nodeId>}):
     * a newer instance fences the older, which stands by (see EventPipeline).
     */
    static String transactionalId(PipelineSettings s, NodeRouting routing, String instanceUuid) {
        return s.assignment() == Assignment.NODE_PARTITION ? "netfence-" + routing.nodeId()
                : "netfence-" + routing.nodeId() + "-" + instanceUuid;
    }

    /** A {@code kafka.*} setting the clients would refuse: its key (without the prefix; null when unknown) and why. */
    public record BadSetting(String key, String message) {}

    private static final java.util.regex.Pattern INVALID_VALUE =
            java.util.regex.Pattern.compile("^Invalid value (.*) for configuration (\\S+?)(?:: (.*))?$");

    /**
     * The first of the user's {@code kafka.*} {@code settings} the pipeline's clients would refuse, checked
     * at start by building their configurations (as {@link ProducerConfig}, {@link ConsumerConfig} and
     * {@code AdminClientConfig} check types, ranges and the idempotent producer's limits) plus the
     * producer's own rule on {@code delivery.timeout.ms}; empty when all would be taken. Without this a
     * bad value was accepted, and the clients failed to be made at every attempt, forever.
     */
    public static Optional<BadSetting> badSetting(Map<String, String> settings, String bootstrapServers,
            String nodeId, boolean exactlyOnce) {
        Map<String, Object> kafka = new HashMap<>(settings);
        kafka.put("bootstrap.servers", bootstrapServers);
        try {
            PipelineSettings s = PipelineSettings.custom().kafka(kafka).nodeId(nodeId).exactlyOnce(exactlyOnce).build();
            Map<String, Object> c = consumerConfig(s, new NodeRouting(nodeId));
            c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
            c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
            new ConsumerConfig(c);
            Map<String, Object> p = producerConfig(s, "netfence-" + nodeId, Optional.empty());
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
            ProducerConfig producer = new ProducerConfig(p);
            new org.apache.kafka.clients.admin.AdminClientConfig(adminSettings(s));
            return deliveryTimeout(settings, producer);
        } catch (org.apache.kafka.common.config.ConfigException | IllegalArgumentException e) {
            java.util.regex.Matcher m = INVALID_VALUE.matcher(String.valueOf(e.getMessage()));
            BadSetting bad = m.matches() ? new BadSetting(m.group(2), (m.group(3) == null ? "invalid" : m.group(3))
                    + ", was: " + m.group(1)) : new BadSetting(null, String.valueOf(e.getMessage()));
            // only the file's kafka.* keys are judged here; a refused option value is the option's to report
            return bad.key() == null ? settings.isEmpty() ? Optional.empty() : Optional.of(bad)
                    : Optional.of(bad).filter(b -> settings.containsKey(b.key()));
        }
    }

    /**
     * The file's {@code kafka.*} settings netfence replaces with its own (offsets committed by
     * netfence alone, only committed records read, a partition without an offset read from its
     * beginning, {@code acks=all} with idempotence, no topic made by a client, its own group and
     * transactional id): one line each, naming the key, the value given and the one used, or that
     * it is dropped; empty when none is. Said at start, so that a setting an operator relies on is
     * not dropped without a word (review 200). Call after {@link #badSetting} found nothing.
     */
    public static List<String> replaced(Map<String, String> settings, String bootstrapServers, String nodeId,
            boolean exactlyOnce) {
        Map<String, Object> kafka = new HashMap<>(settings);
        kafka.put("bootstrap.servers", bootstrapServers);
        PipelineSettings s = PipelineSettings.custom().kafka(kafka).nodeId(nodeId).exactlyOnce(exactlyOnce).build();
        Map<String, Object> consumer = consumerConfig(s, new NodeRouting(nodeId));
        Map<String, Object> producer = producerConfig(s, "netfence-" + nodeId, Optional.empty());
        List<String> replaced = new java.util.ArrayList<>();
        for (String key : new java.util.TreeSet<>(settings.keySet())) {
            if (!PROTECTED.contains(key)) {
                continue;
            }
            boolean consumers = ConsumerConfig.configNames().contains(key) && !ProducerConfig.configNames().contains(key);
            Object used = consumers ? consumer.get(key) : producer.get(key);
            String given = settings.get(key);
            if (ProducerConfig.TRANSACTIONAL_ID_CONFIG.equals(key)) {
                replaced.add("kafka." + key + "=" + given + " is " + (exactlyOnce ? "replaced by netfence's own"
                        + " transactional id (see kafka-pipeline.md)" : "dropped: netfence sends without transactions"
                        + " unless --exactly-once"));
            } else if (ProducerConfig.ACKS_CONFIG.equals(key) && "-1".equals(String.valueOf(given).strip())) {
                continue; // -1 is all
            } else if (used == null) {
                replaced.add("kafka." + key + "=" + given + " is dropped: netfence sets " + key + " itself");
            } else if (!String.valueOf(used).equalsIgnoreCase(String.valueOf(given).strip())) {
                replaced.add("kafka." + key + "=" + given + " is replaced by " + key + "=" + used
                        + ": netfence's own, which its guarantees need");
            }
        }
        return replaced;
    }

    /** KafkaProducer's rule, checked only when it is made: a set delivery.timeout.ms covers linger.ms + request.timeout.ms. */
    private static Optional<BadSetting> deliveryTimeout(Map<String, String> settings, ProducerConfig producer) {
        long delivery = ((Number) producer.values().get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG)).longValue();
        long linger = ((Number) producer.values().get(ProducerConfig.LINGER_MS_CONFIG)).longValue();
        long request = ((Number) producer.values().get(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG)).longValue();
        if (settings.containsKey(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG) && delivery < linger + request) {
            return Optional.of(new BadSetting(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "must be at least linger.ms"
                    + " + request.timeout.ms (" + linger + " + " + request + " ms), was: " + delivery));
        }
        return Optional.empty();
    }

    /** Strips consumer-only and producer-only keys the other client would warn about. */
    static Map<String, Object> adminSettings(PipelineSettings s) {
        Map<String, Object> a = new HashMap<>(s.kafka());
        a.keySet().removeIf(k -> !org.apache.kafka.clients.admin.AdminClientConfig.configNames().contains(k));
        a.put("request.timeout.ms", 3000);
        a.put("default.api.timeout.ms", 3000);
        return a;
    }
}
