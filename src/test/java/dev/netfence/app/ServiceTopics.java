package dev.netfence.app;

import static org.awaitility.Awaitility.await;

import dev.netfence.cli.RunConfigs;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The Kafka side of a test that runs netfence's service against the test broker: a node id and
 * topics of its own (events, outcomes, the DLQ, policies compacted, the live-set journal), the
 * service's flags for them, a producer for policies and events (keyed by the node, as a scheduler
 * keys them), the outcomes read back, awaited up to 60 s, and the service started on them. Closing
 * closes the service last started and the producer.
 */
final class ServiceTopics implements AutoCloseable {
    final String node;
    final String events;
    final String outcomes;
    final String policies;
    final String enforcements;
    private final KafkaProducer<byte[], byte[]> producer;
    private final OutcomeCodec codec = new OutcomeCodec();
    private RunService service;

    /** Creates the topics, named after {@code prefix}. */
    ServiceTopics(String prefix) {
        node = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
        events = TestKafka.uniqueTopic(prefix + "-events");
        outcomes = events + ".outcomes";
        policies = TestKafka.uniqueTopic(prefix + "-policies");
        enforcements = TestKafka.uniqueTopic(prefix + "-enforcements");
        TestKafka.createTopics(1, events, outcomes, events + ".dlq");
        TestKafka.createCompactedTopic(policies, 1);
        producer = TestKafka.producer();
    }

    /** {@code netfence run}'s Kafka flags for these topics and this node; the caller may add more. */
    List<String> flags() {
        return new ArrayList<>(RunConfigs.kafkaFlags(node, events, outcomes, policies, enforcements));
    }

    /**
     * {@code netfence run} on these topics with {@code more} flags and {@code registry} for its meters,
     * once ready (up to 60 s); closed with this, or by the caller before it starts another.
     */
    RunService start(List<String> more, io.micrometer.core.instrument.MeterRegistry registry) throws Exception {
        List<String> flags = flags();
        flags.addAll(more);
        service = RunService.start(RunConfigs.of(flags), "test", registry, java.time.Clock.systemUTC());
        await().atMost(Duration.ofSeconds(60)).until(service::ready);
        return service;
    }

    /** Stores {@code json} as {@code task}'s policy. */
    void putPolicy(String task, String json) throws Exception {
        send(policies, task, json.getBytes(StandardCharsets.UTF_8));
    }

    /** Publishes an event document, keyed by this node. */
    void sendEvent(byte[] value) throws Exception {
        send(events, node, value);
    }

    void send(String topic, String key, byte[] value) throws Exception {
        producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get(30, TimeUnit.SECONDS);
    }

    /** Every outcome published so far, in topic order. */
    List<Outcome> outcomes() {
        return TestKafka.readAll(outcomes).stream().map(r -> codec.decode(r.value())).toList();
    }

    /** The first outcome {@code which} takes, waiting up to 60 s for it. */
    Outcome awaitOutcome(Predicate<Outcome> which) {
        return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(
                () -> outcomes().stream().filter(which).findFirst().orElse(null), o -> o != null);
    }

    @Override
    public void close() {
        if (service != null) {
            service.close();
        }
        producer.close(Duration.ofSeconds(5));
    }
}
