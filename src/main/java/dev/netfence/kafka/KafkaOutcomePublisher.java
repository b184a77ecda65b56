package dev.netfence.kafka;

import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.reconcile.OutcomePublisher;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the reconciler's outcomes (policy updates, drift repairs, re-resolves, releases) to
 * the outcomes topic with the records and headers of event outcomes, through its own idempotent
 * producer: these outcomes answer no consumed record, so they are not part of the pipeline's
 * offset bookkeeping or its transactions. Kafka's producer retries retriable errors itself; a
 * terminal failure is logged. Thread-safe.
 */
public final class KafkaOutcomePublisher implements OutcomePublisher, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaOutcomePublisher.class);

    private final KafkaProducer<byte[], byte[]> producer;
    private final OutputRecords records;

    /** @param kafka client settings (bootstrap.servers, TLS/SASL) */
    public KafkaOutcomePublisher(Map<String, Object> kafka, String outcomesTopic, String instance, String nodeId) {
        Map<String, Object> conf = new HashMap<>(kafka);
        conf.keySet().removeIf(k -> !ProducerConfig.configNames().contains(k));
        conf.put(ProducerConfig.ACKS_CONFIG, "all");
        conf.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        conf.put(ProducerConfig.CLIENT_ID_CONFIG, "netfence-reconciler");
        this.producer = new KafkaProducer<>(conf, new ByteArraySerializer(), new ByteArraySerializer());
        this.records = new OutputRecords(new OutcomeCodec(), outcomesTopic, outcomesTopic + ".unused", instance, nodeId);
    }

    @Override
    public void publish(Outcome outcome) {
        producer.send(records.outcome(outcome), (md, e) -> {
            if (e != null) {
                LOG.error("the {} outcome of container {} was not published: {}", outcome.trigger(),
                        outcome.containerId(), e.toString());
            }
        });
    }

    /**
     * Waits up to 10 s for the outcomes sent so far to be acknowledged, then closes; the producer
     * fails what is left, and each of those is logged as not published.
     */
    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
    }
}
