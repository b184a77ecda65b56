package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcomes;
import dev.netfence.event.Trigger;
import dev.netfence.testkit.HeldProducer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class KafkaOutcomePublisherTest {
    private final Outcomes outcomes = new Outcomes(Clock.systemUTC(), "node-1/1", "test");
    private final io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
            new io.micrometer.core.instrument.simple.SimpleMeterRegistry();

    @Test
    void aCallerNeverWaitsForASendThatBlocksOnTheBrokersMetadataAndOutcomesKeepTheirOrder() throws Exception {
        HeldProducer producer = new HeldProducer();
        KafkaOutcomePublisher publisher = new KafkaOutcomePublisher(producer, "outcomes", "node-1/1", "node-1", registry);
        try {
            publisher.publish(outcomes.released("c1", "t1", "node-1", Trigger.DRIFT));
            assertThat(producer.awaitHeld()).isTrue(); // the sender is held in c1's send
            publisher.publish(outcomes.released("c2", "t1", "node-1", Trigger.DRIFT)); // returns at once
            publisher.publish(outcomes.released("c3", "t1", "node-1", Trigger.STOP));
            assertThat(publisher.queued()).isEqualTo(2);
            assertThat(producer.history()).isEmpty();

            producer.release();
            await().atMost(Duration.ofSeconds(10)).until(() -> producer.history().size() == 3);
            assertThat(producer.history()).extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
                    .containsExactly("c1", "c2", "c3");
        } finally {
            producer.release();
            publisher.close();
        }
        assertThat(producer.closed()).isTrue();
    }

    @Test
    void aTrackedOutcomeSettlesWhenTheBrokerAcknowledgesItOrRefusesIt() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(false, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        KafkaOutcomePublisher publisher = new KafkaOutcomePublisher(producer, "outcomes", "node-1/1", "node-1", registry);
        try {
            var acked = publisher.publishTracked(outcomes.released("c1", "t1", "node-1", Trigger.DRIFT));
            var refused = publisher.publishTracked(outcomes.released("c2", "t1", "node-1", Trigger.DRIFT));
            await().atMost(Duration.ofSeconds(10)).until(() -> producer.history().size() == 2);
            assertThat(acked).isNotDone();

            producer.completeNext();
            assertThat(acked).isDone();
            assertThat(refused).isNotDone();
            producer.errorNext(new org.apache.kafka.common.errors.TopicAuthorizationException("outcomes"));
            assertThat(refused).as("settled, counted as unpublished").isDone();
        } finally {
            publisher.close();
        }
    }

    @Test
    void closingHandsOverWhatIsQueuedBeforeTheProducerCloses() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        KafkaOutcomePublisher publisher = new KafkaOutcomePublisher(producer, "outcomes", "node-1/1", "node-1", registry);
        for (int i = 0; i < 50; i++) {
            publisher.publish(outcomes.released("c" + i, "t1", "node-1", Trigger.DRIFT));
        }

        publisher.close();

        assertThat(producer.history()).hasSize(50);
        assertThat(producer.closed()).isTrue();
    }

    @Test
    void anOutcomeTheTopicRefusesOrThatComesWhileStoppingIsCountedAsUnpublished() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(false, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        KafkaOutcomePublisher publisher = new KafkaOutcomePublisher(producer, "outcomes", "node-1/1", "node-1", registry);
        publisher.publish(outcomes.released("c1", "t1", "node-1", Trigger.DRIFT));
        await().atMost(Duration.ofSeconds(10)).until(() -> producer.history().size() == 1);

        producer.errorNext(new org.apache.kafka.common.errors.TopicAuthorizationException("outcomes"));
        publisher.close();
        publisher.publish(outcomes.released("c2", "t1", "node-1", Trigger.DRIFT));

        assertThat(registry.get(dev.netfence.core.MeterNames.OUTCOMES_UNPUBLISHED).tag("reason", "send-failed")
                .counter().count()).isEqualTo(1.0);
        assertThat(registry.get(dev.netfence.core.MeterNames.OUTCOMES_UNPUBLISHED).tag("reason", "stopping")
                .counter().count()).isEqualTo(1.0);
    }
}
