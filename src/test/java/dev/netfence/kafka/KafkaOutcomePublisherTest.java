package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcomes;
import dev.netfence.event.Trigger;
import dev.netfence.testkit.HeldProducer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
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
            assertThat(acked).isCompleted();
            assertThat(refused).isNotDone();
            producer.errorNext(new org.apache.kafka.common.errors.TopicAuthorizationException("outcomes"));
            assertThat(refused).as("settled as not published, counted").isCompletedExceptionally();
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

    @Test
    void aTrackedOutcomeQueuedWhileThePublisherClosesFailsInsteadOfNeverCompleting() throws Exception {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        HeldOffers queue = new HeldOffers();
        KafkaOutcomePublisher publisher = new KafkaOutcomePublisher(producer, "outcomes", "node-1/1", "node-1", registry,
                Clock.systemUTC(), queue);
        CompletableFuture<CompletableFuture<Void>> publishing = CompletableFuture.supplyAsync(
                () -> publisher.publishTracked(outcomes.released("c1", "t1", "node-1", Trigger.DRIFT)));
        assertThat(queue.awaitOffer()).as("it found the publisher open and is about to queue").isTrue();

        publisher.close(); // the sender stops and the last sweep finds the queue empty
        queue.release();

        CompletableFuture<Void> tracked = publishing.get(10, TimeUnit.SECONDS);
        assertThat(tracked).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
                .withMessageContaining("not published").withMessageContaining("stopping");
        assertThat(producer.history()).isEmpty();
        assertThat(queue).isEmpty();
        assertThat(registry.get(dev.netfence.core.MeterNames.OUTCOMES_UNPUBLISHED).tag("reason", "stopping")
                .counter().count()).isEqualTo(1.0);
    }

    /** The publisher's queue whose offers wait for the test: the publisher checked it is open and is queueing. */
    private static final class HeldOffers extends LinkedBlockingQueue<KafkaOutcomePublisher.Pending> {
        private final CountDownLatch offered = new CountDownLatch(1);
        private final CountDownLatch released = new CountDownLatch(1);

        HeldOffers() {
            super(KafkaOutcomePublisher.QUEUE);
        }

        @Override
        public boolean offer(KafkaOutcomePublisher.Pending p) {
            offered.countDown();
            try {
                released.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return super.offer(p);
        }

        boolean awaitOffer() throws InterruptedException {
            return offered.await(10, TimeUnit.SECONDS);
        }

        void release() {
            released.countDown();
        }
    }

    @Test
    void anOutcomeThatWaitedInTheQueuePastItsBoundIsGivenUpWithoutASendAndCounted() throws Exception {
        HeldProducer producer = new HeldProducer();
        dev.netfence.testkit.MutableClock steady = new dev.netfence.testkit.MutableClock(
                java.time.Instant.parse("2026-12-01T03:00:00Z"));
        KafkaOutcomePublisher publisher = new KafkaOutcomePublisher(producer, "outcomes", "node-1/1", "node-1", registry,
                steady);
        try {
            publisher.publish(outcomes.released("c1", "t1", "node-1", Trigger.DRIFT));
            assertThat(producer.awaitHeld()).isTrue(); // the broker does not know the topic: c1's send waits
            var late = publisher.publishTracked(outcomes.released("c2", "t1", "node-1", Trigger.DRIFT));
            var alsoLate = publisher.publishTracked(outcomes.released("c3", "t1", "node-1", Trigger.DRIFT));
            steady.advance(KafkaOutcomePublisher.QUEUE_WAIT.plus(Duration.ofSeconds(1)));
            var later = publisher.publishTracked(outcomes.released("c4", "t1", "node-1", Trigger.DRIFT));

            producer.release();
            await().atMost(Duration.ofSeconds(10)).until(() -> late.isDone() && alsoLate.isDone() && later.isDone());
            assertThat(producer.history()).extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
                    .as("what waited past the bound is never sent: it would land after what followed it")
                    .containsExactly("c1", "c4");
            assertThat(late).isCompletedExceptionally();
            assertThat(alsoLate).isCompletedExceptionally();
            assertThat(later).isCompleted();
            assertThat(registry.get(dev.netfence.core.MeterNames.OUTCOMES_UNPUBLISHED).tag("reason", "send-failed")
                    .counter().count()).isEqualTo(2.0);
        } finally {
            producer.release();
            publisher.close();
        }
    }

    @Test
    void theReconcilerProducerReportsEveryRecordWithinItsBoundWhateverTheConfigurationSays() {
        java.util.Map<String, Object> conf = KafkaOutcomePublisher.producerConfig(java.util.Map.of(
                "bootstrap.servers", "127.0.0.1:1", "delivery.timeout.ms", "600000", "max.block.ms", "600000",
                "request.timeout.ms", "90000", "linger.ms", 70_000, "group.id", "not-a-producer-setting"));

        assertThat(conf).containsEntry("delivery.timeout.ms", 20_000).containsEntry("max.block.ms", 5_000)
                .containsEntry("request.timeout.ms", 15_000).containsEntry("linger.ms", 5_000)
                .containsEntry("bootstrap.servers", "127.0.0.1:1").doesNotContainKey("group.id");
        assertThat(KafkaOutcomePublisher.producerConfig(java.util.Map.of("request.timeout.ms", 5000)))
                .containsEntry("request.timeout.ms", 5000).containsEntry("linger.ms", 5);
        // Kafka's own check: delivery.timeout.ms >= linger.ms + request.timeout.ms, whatever was configured
        new org.apache.kafka.clients.producer.KafkaProducer<>(conf, new ByteArraySerializer(), new ByteArraySerializer())
                .close(Duration.ZERO);
        try (KafkaOutcomePublisher publisher = new KafkaOutcomePublisher(new MockProducer<>(true, null,
                new ByteArraySerializer(), new ByteArraySerializer()), "outcomes", "node-1/1", "node-1", registry)) {
            assertThat(publisher.settlesWithin()).as("within the outcome order's hold of an event's outcome")
                    .isEqualTo(Duration.ofSeconds(30));
        }
    }
}
