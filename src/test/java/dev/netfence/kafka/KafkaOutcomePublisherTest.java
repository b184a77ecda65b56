package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcomes;
import dev.netfence.event.Trigger;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class KafkaOutcomePublisherTest {
    private final Outcomes outcomes = new Outcomes(Clock.systemUTC(), "node-1/1", "test");

    @Test
    void aCallerNeverWaitsForASendThatBlocksOnTheBrokersMetadataAndOutcomesKeepTheirOrder() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()) {
            @Override
            public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> r, Callback callback) {
                entered.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS); // as KafkaProducer waits up to max.block.ms
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return super.send(r, callback);
            }
        };
        KafkaOutcomePublisher publisher = new KafkaOutcomePublisher(producer, "outcomes", "node-1/1", "node-1");
        try {
            publisher.publish(outcomes.released("c1", "t1", "node-1", Trigger.DRIFT));
            assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue(); // the sender is held in c1's send
            publisher.publish(outcomes.released("c2", "t1", "node-1", Trigger.DRIFT)); // returns at once
            publisher.publish(outcomes.released("c3", "t1", "node-1", Trigger.STOP));
            assertThat(publisher.queued()).isEqualTo(2);
            assertThat(producer.history()).isEmpty();

            release.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> producer.history().size() == 3);
            assertThat(producer.history()).extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
                    .containsExactly("c1", "c2", "c3");
        } finally {
            release.countDown();
            publisher.close();
        }
        assertThat(producer.closed()).isTrue();
    }

    @Test
    void closingHandsOverWhatIsQueuedBeforeTheProducerCloses() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        KafkaOutcomePublisher publisher = new KafkaOutcomePublisher(producer, "outcomes", "node-1/1", "node-1");
        for (int i = 0; i < 50; i++) {
            publisher.publish(outcomes.released("c" + i, "t1", "node-1", Trigger.DRIFT));
        }

        publisher.close();

        assertThat(producer.history()).hasSize(50);
        assertThat(producer.closed()).isTrue();
    }
}
