package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.policy.store.StoredPolicy;
import dev.netfence.policy.store.TopicPolicyStore;
import dev.netfence.testkit.KafkaLane;
import io.micrometer.core.instrument.Gauge;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * A scheduler's transaction left open on the events topic holds the partition's last stable
 * offset back: netfence ({@code read_committed}) reads nothing past it, the events of every other
 * producer included, while its lags read 0. The open transaction shows in
 * {@code netfence.partition.unstable.records}, and readiness turns false once it has stayed open
 * past the stall timeout, naming the partition and the offset; when its producer commits, the
 * events behind it are enforced and readiness comes back. The same for a transaction left open on
 * the policies topic, which hides every later policy change from the store.
 */
@KafkaLane
class OpenTransactionVisibilityTest {
    @Test
    void aTransactionLeftOpenOnTheEventsTopicTurnsReadinessFalseAndShowsInUnstableRecords() throws Exception {
        try (PipelineFixture f = new PipelineFixture(1);
                KafkaProducer<byte[], byte[]> scheduler = new KafkaProducer<>(Map.of(
                        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers(),
                        ProducerConfig.TRANSACTIONAL_ID_CONFIG, TestKafka.uniqueTopic("scheduler"),
                        ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 300_000), // the broker does not abort it meanwhile
                        new ByteArraySerializer(), new ByteArraySerializer())) {
            f.sendEvent("e-0", "n1", "task-1", "c-0");
            EventPipeline p = f.start(f.settings("n1").stallTimeout(Duration.ofSeconds(3)), new RecordingEnforcer(),
                    new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomeEventIds().contains("e-0") && p.ready());

            scheduler.initTransactions();
            scheduler.beginTransaction();
            scheduler.send(new ProducerRecord<>(f.events, "n1".getBytes(StandardCharsets.UTF_8),
                    PipelineFixture.event("e-open", "n1", "task-1", "c-open"))).get(30, TimeUnit.SECONDS);
            f.sendEvent("e-after", "n1", "task-1", "c-after"); // another producer's, behind the open transaction

            await("readiness turns false").atMost(Duration.ofSeconds(60)).until(() -> !p.ready());
            assertThat(p.notReadyReason()).get().asString().contains(f.events + "-0 has had an open transaction at"
                    + " offset 1").contains("2 record(s) behind it");
            Gauge unstable = f.registry.find("netfence.partition.unstable.records").tag("partition", "0").gauge();
            assertThat(unstable).isNotNull();
            assertThat(unstable.value()).isEqualTo(2.0);
            assertThat(f.outcomeEventIds()).as("nothing past the open transaction is read").containsExactly("e-0");

            scheduler.commitTransaction();

            await("ready again").atMost(Duration.ofSeconds(60)).until(p::ready);
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomeEventIds().containsAll(
                    java.util.List.of("e-open", "e-after")));
            await().atMost(Duration.ofSeconds(30)).until(() -> unstable.value() == 0.0);
        }
    }

    @Test
    void aTransactionLeftOpenOnThePoliciesTopicTurnsReadinessFalseNamingThePoliciesPartition() throws Exception {
        String policies = TestKafka.uniqueTopic("policies");
        TestKafka.createCompactedTopic(policies, 1);
        try (KafkaProducer<byte[], byte[]> plain = TestKafka.producer()) {
            plain.send(new ProducerRecord<>(policies, "task-1".getBytes(StandardCharsets.UTF_8), FakePolicies.OPEN_JSON))
                    .get(30, TimeUnit.SECONDS);
        }
        try (TopicPolicyStore store = TopicPolicyStore.start(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                        TestKafka.bootstrapServers()), policies, FakePolicies.DECODER);
                PipelineFixture f = new PipelineFixture(1);
                KafkaProducer<byte[], byte[]> operator = new KafkaProducer<>(Map.of(
                        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers(),
                        ProducerConfig.TRANSACTIONAL_ID_CONFIG, TestKafka.uniqueTopic("operator"),
                        ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 300_000), // the broker does not abort it meanwhile
                        new ByteArraySerializer(), new ByteArraySerializer())) {
            f.sendEvent("e-0", "n1", "task-1", "c-0");
            EventPipeline p = f.start(f.settings("n1").stallTimeout(Duration.ofSeconds(3)), new RecordingEnforcer(), store);
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomeEventIds().contains("e-0") && p.ready());

            operator.initTransactions();
            operator.beginTransaction();
            operator.send(new ProducerRecord<>(policies, "task-1".getBytes(StandardCharsets.UTF_8),
                    FakePolicies.CLOSED_JSON)).get(30, TimeUnit.SECONDS);
            try (KafkaProducer<byte[], byte[]> plain = TestKafka.producer()) { // another producer's, behind it
                plain.send(new ProducerRecord<>(policies, "task-2".getBytes(StandardCharsets.UTF_8),
                        FakePolicies.OPEN_JSON)).get(30, TimeUnit.SECONDS);
            }

            await("readiness turns false").atMost(Duration.ofSeconds(60)).until(() -> !p.ready());
            assertThat(p.notReadyReason()).get().asString().startsWith("policies partition " + policies
                    + "-0 has had an open transaction at offset 1").contains("2 record(s) behind it (policy changes");
            Gauge unstable = f.registry.find("netfence.partition.unstable.records").tag("topic", policies).gauge();
            assertThat(unstable).isNotNull();
            assertThat(unstable.value()).isEqualTo(2.0);
            assertThat(store.lookup("task-2")).as("nothing past the open transaction is read").isEmpty();

            operator.commitTransaction();

            await("ready again").atMost(Duration.ofSeconds(60)).until(p::ready);
            await().atMost(Duration.ofSeconds(30)).until(() -> store.lookup("task-2").isPresent());
            assertThat(store.lookup("task-1")).get().isInstanceOf(StoredPolicy.Valid.class)
                    .extracting(v -> ((StoredPolicy.Valid) v).policy()).isEqualTo(FakePolicies.CLOSED);
            await().atMost(Duration.ofSeconds(30)).until(() -> unstable.value() == 0.0);
        }
    }
}
