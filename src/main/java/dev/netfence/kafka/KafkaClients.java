package dev.netfence.kafka;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The client settings of the pipeline: user settings first (bootstrap, TLS, SASL, tuning from
 * {@code kafka.*} config keys), then the settings correctness depends on, which always win:
 * manual commits, {@code read_committed}, idempotent {@code acks=all} producers, the group id
 * {@code netfence-<nodeId>} and, in exactly-once mode, {@code transactional.id netfence-<nodeId>}.
 */
public final class KafkaClients {
    private KafkaClients() {}

    /**
     * What every netfence producer (the service's and the ops commands') needs for no loss and no
     * duplicates per send: {@code acks=all} and idempotence. Applied last, over user settings.
     */
    public static Map<String, Object> producerGuarantees() {
        return Map.of(ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    }

    /**
     * What every netfence consumer needs: offsets committed only by netfence itself and only
     * committed transactional records read. Applied last, over user settings.
     */
    public static Map<String, Object> consumerGuarantees() {
        return Map.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false, ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed");
    }

    static KafkaConsumer<byte[], byte[]> consumer(PipelineSettings s, NodeRouting routing) {
        Map<String, Object> c = new HashMap<>(s.kafka());
        c.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Math.min(500, s.maxInFlight()));
        c.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "netfence-" + s.instance().replace('/', '-'));
        c.put(ConsumerConfig.GROUP_ID_CONFIG, routing.groupId());
        c.putAll(consumerGuarantees());
        return new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    static KafkaProducer<byte[], byte[]> producer(PipelineSettings s, NodeRouting routing) {
        Map<String, Object> p = new HashMap<>(s.kafka());
        p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2 * 1024 * 1024);
        p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "netfence-" + s.instance().replace('/', '-'));
        p.putAll(producerGuarantees());
        if (s.exactlyOnce()) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "netfence-" + routing.nodeId());
        } else {
            p.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        }
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
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
