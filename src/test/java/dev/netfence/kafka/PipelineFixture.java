package dev.netfence.kafka;

import dev.netfence.enforce.Enforcer;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.PolicyStore;
import dev.netfence.reconcile.ContainerLifecycle;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * One pipeline test's Kafka world: fresh events/outcomes/DLQ topics on the test broker, settings
 * tuned for quick tests, pipelines that are closed afterwards, and helpers to publish events
 * and read back outcomes and dead letters.
 */
final class PipelineFixture implements AutoCloseable {
    final String events = TestKafka.uniqueTopic("events");
    final String outcomesTopic = events + ".outcomes";
    final String dlq = events + ".dlq";
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final List<EventPipeline> started = new ArrayList<>();
    private final KafkaProducer<byte[], byte[]> producer = TestKafka.producer();
    private final OutcomeCodec codec = new OutcomeCodec();

    PipelineFixture(int partitions) {
        TestKafka.createLargeRecordTopic(events, partitions);
        TestKafka.createTopics(1, outcomesTopic, dlq);
    }

    PipelineSettings.Builder settings(String nodeId) {
        return PipelineSettings.custom().kafka(kafka(Map.of())).nodeId(nodeId).eventsTopic(events)
                .outcomesTopic(outcomesTopic).eventDeadline(Duration.ofSeconds(30)).policyWait(Duration.ofSeconds(5))
                .shutdownTimeout(Duration.ofSeconds(15));
    }

    /** The test clients' settings plus {@code extra}. */
    Map<String, Object> kafka(Map<String, Object> extra) {
        Map<String, Object> kafka = new HashMap<>();
        kafka.put("bootstrap.servers", TestKafka.bootstrapServers());
        kafka.put("session.timeout.ms", 6000);
        kafka.put("heartbeat.interval.ms", 500);
        kafka.put("metadata.max.age.ms", 2000);
        kafka.put("max.partition.fetch.bytes", 4 * 1024 * 1024);
        kafka.putAll(extra);
        return kafka;
    }

    EventPipeline start(PipelineSettings.Builder s, Enforcer enforcer, PolicyStore store) {
        return start(s.build(), enforcer, store);
    }

    EventPipeline start(PipelineSettings s, Enforcer enforcer, PolicyStore store) {
        return start(s, enforcer, store, registry);
    }

    /** A pipeline with its own meters (two nodes in one test). */
    EventPipeline start(PipelineSettings.Builder s, Enforcer enforcer, PolicyStore store, MeterRegistry meters) {
        return start(s.build(), enforcer, store, meters);
    }

    private EventPipeline start(PipelineSettings s, Enforcer enforcer, PolicyStore store, MeterRegistry meters) {
        return started(new EventPipeline(s, enforcer, store, meters, Clock.systemUTC()));
    }

    /** A pipeline whose events also go through {@code lifecycle} (the reconciler's part). */
    EventPipeline start(PipelineSettings.Builder s, Enforcer enforcer, PolicyStore store, ContainerLifecycle lifecycle) {
        return started(new EventPipeline(s.build(), enforcer, PolicyFailureHandler.REPORT_ONLY, store, registry,
                Clock.systemUTC(), lifecycle));
    }

    private EventPipeline started(EventPipeline p) {
        started.add(p);
        p.start();
        return p;
    }

    RecordMetadata send(String key, byte[] value) {
        return send(key, value, null);
    }

    RecordMetadata send(String key, byte[] value, Integer partition) {
        try {
            return producer.send(new ProducerRecord<>(events, partition,
                    key == null ? null : key.getBytes(StandardCharsets.UTF_8), value)).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    RecordMetadata sendEvent(String eventId, String node, String task, String container) {
        return send(node, event(eventId, node, task, container));
    }

    static byte[] event(String eventId, String node, String task, String container) {
        return ("{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"" + eventId
                + "\",\"occurredAt\":\"" + Instant.now() + "\",\"nodeId\":\"" + node + "\",\"taskId\":\"" + task
                + "\",\"containerId\":\"" + container + "\",\"pid\":4242}").getBytes(StandardCharsets.UTF_8);
    }

    List<Outcome> outcomes() {
        return TestKafka.readAll(outcomesTopic).stream().map(r -> codec.decode(r.value())).toList();
    }

    List<ConsumerRecord<byte[], byte[]>> outcomeRecords() {
        return TestKafka.readAll(outcomesTopic);
    }

    List<ConsumerRecord<byte[], byte[]>> deadLetters() {
        return TestKafka.readAll(dlq);
    }

    Set<String> outcomeEventIds() {
        return outcomes().stream().map(Outcome::eventId).collect(Collectors.toSet());
    }

    /** The committed offset of each events partition for {@code node}'s group (absent = none). */
    Map<TopicPartition, Long> committed(String node, int partitions) {
        Set<TopicPartition> tps = new java.util.HashSet<>();
        for (int i = 0; i < partitions; i++) {
            tps.add(new TopicPartition(events, i));
        }
        return TestKafka.committed(new NodeRouting(node).groupId(), tps);
    }

    double counter(String name, String... tags) {
        var c = registry.find(name).tags(tags).counter();
        return c == null ? 0 : c.count();
    }

    @Override
    public void close() {
        started.forEach(EventPipeline::close);
        producer.close(Duration.ofSeconds(5));
    }
}
