package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * Review 191 #4 and #5 on a real broker: an events topic deleted while netfence reads it in
 * {@code group} mode left {@code /readyz} at 200 (the group's empty assignment looks like an
 * instance with nothing to do), and one made again with as many partitions in either mode was not
 * told apart, though the positions kept from the old topic can skip the new one's first records.
 * Now {@code /readyz} names the missing topic, and the one made again (by its topic id) until a
 * restart.
 */
@KafkaLane
class EventsTopicRecreateTest {
    @Test
    void inGroupModeADeletedEventsTopicAndTheOneMadeAgainAreReported() throws Exception {
        try (PipelineFixture f = new PipelineFixture(2)) {
            EventPipeline pipeline = f.start(f.settings("grp-node").assignment(Assignment.GROUP), new RecordingEnforcer(),
                    new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            sendAndClose(f.events, "grp-node", PipelineFixture.event("e-before", "grp-node", "task-1", "c-1"));
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomeEventIds().contains("e-before"));
            await().atMost(Duration.ofSeconds(30)).until(pipeline::ready);

            deleteAndAwaitGone(f.events);
            await("readiness names the missing topic").atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(pipeline
                    .notReadyReason()).hasValueSatisfying(r -> assertThat(r).contains("events topic " + f.events + " is missing from the broker")));

            TestKafka.createLargeRecordTopic(f.events, 2);
            await("readiness names the topic made again").atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(pipeline
                    .notReadyReason()).hasValueSatisfying(r -> assertThat(r).contains("events topic " + f.events + " was deleted and made again")));
        }
    }

    @Test
    void inNodePartitionModeATopicMadeAgainWithAsManyPartitionsIsReported() throws Exception {
        try (PipelineFixture f = new PipelineFixture(3)) {
            EventPipeline pipeline = f.start(f.settings("np-node").assignment(Assignment.NODE_PARTITION),
                    new RecordingEnforcer(), new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            sendAndClose(f.events, "np-node", PipelineFixture.event("e-before", "np-node", "task-1", "c-1"));
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomeEventIds().contains("e-before"));
            await().atMost(Duration.ofSeconds(30)).until(pipeline::ready);

            deleteAndAwaitGone(f.events);
            TestKafka.createLargeRecordTopic(f.events, 3);
            await("readiness names the topic made again").atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(pipeline
                    .notReadyReason()).hasValueSatisfying(r -> assertThat(r).contains("events topic " + f.events + " was deleted and made again")));
        }
    }

    /**
     * One event, by a producer closed right after: the fixture's producer, which keeps the topic in
     * its metadata, would make the deleted topic again at its next refresh (the broker's
     * auto.create.topics.enable), as a scheduler's producer can; that is reported as made again.
     */
    private static void sendAndClose(String topic, String node, byte[] event) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            producer.send(new ProducerRecord<>(topic, node.getBytes(StandardCharsets.UTF_8), event)).get(30, TimeUnit.SECONDS);
        }
    }

    private static void deleteAndAwaitGone(String topic) throws Exception {
        try (Admin admin = TestKafka.admin()) {
            admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            await("the topic gone").atMost(Duration.ofSeconds(30))
                    .until(() -> !admin.listTopics().names().get(10, TimeUnit.SECONDS).contains(topic));
        }
    }
}
