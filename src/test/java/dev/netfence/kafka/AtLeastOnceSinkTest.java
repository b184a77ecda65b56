package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.MeterNames;
import dev.netfence.event.OutcomeCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** At-least-once commits: a failed asynchronous commit moves no commit point, is counted, and the next round commits again. */
class AtLeastOnceSinkTest {
    private static final TopicPartition TP = new TopicPartition("events", 0);

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final Completions completions = new Completions();
    private boolean refuse = true;
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest") {
        @Override
        public synchronized void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback cb) {
            if (refuse) {
                cb.onComplete(offsets, new GroupAuthorizationException("Not authorized to access group: netfence-n1"));
            } else {
                cb.onComplete(offsets, null);
            }
        }
    };

    @Test
    void aFailedAsynchronousCommitIsCountedAndTheNextRoundCommitsAgain() {
        AtLeastOnceSink sink = new AtLeastOnceSink(new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()), consumer, completions, new PipelineMetrics(registry, Clock.systemUTC()),
                new OutputRecords(new OutcomeCodec(), "outcomes", "events.dlq", "n1/1", "n1"),
                new SendHealth(Clock.systemUTC(), Duration.ofSeconds(30)));
        PartitionOffsets po = new PartitionOffsets(TP);
        po.track(7);
        po.done(7);

        sink.commit(List.of(po), false);
        completions.runAll();

        assertThat(po.lastCommitted()).as("nothing committed").isNegative();
        assertThat(registry.get(MeterNames.COMMIT_FAILURES).tag("error", "GroupAuthorizationException").counter()
                .count()).isEqualTo(1.0);
        refuse = false;
        sink.commit(List.of(po), false);
        completions.runAll();
        assertThat(po.lastCommitted()).isEqualTo(8);
        sink.close();
    }

    @Test
    void aHeldOutputOfAPartitionNoLongerThisInstancesIsDroppedAndNoLongerKeepsItNotReady() {
        MockProducer<byte[], byte[]> refusing = refusingTooLarge(topic -> true);
        SendHealth health = new SendHealth(Clock.systemUTC(), Duration.ofSeconds(30));
        AtLeastOnceSink sink = new AtLeastOnceSink(refusing, consumer, completions,
                new PipelineMetrics(registry, Clock.systemUTC()),
                new OutputRecords(new OutcomeCodec(), "outcomes", "events.dlq", "n1/1", "n1"), health);
        PartitionBook book = new PartitionBook(Clock.systemUTC(), new PartitionMonitor(registry, Clock.systemUTC()));
        book.add(List.of(TP));
        PartitionOffsets po = book.of(List.of(TP)).get(0);
        po.track(3);
        sink.emit(po, 3, List.of(Output.deadLetter(new org.apache.kafka.clients.producer.ProducerRecord<>("events.dlq",
                "k".getBytes(java.nio.charset.StandardCharsets.UTF_8), "v".getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                "MALFORMED_EVENT")));
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> health.held() == 1);

        book.remove(List.of(TP)); // revoked: the new owner redoes the record

        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> health.held() == 0);
        assertThat(health.notReadyReason()).isEmpty();
        completions.runAll();
        assertThat(sink.pending()).isZero();
        sink.close();
    }

    @Test
    void anOutcomeTheTopicRefusesIsToldAsOutSoWhatWaitsBehindItInItsContainersOrderGoes() {
        MockProducer<byte[], byte[]> outcomesRefused = refusingTooLarge("outcomes"::equals);
        List<dev.netfence.event.Outcome> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtLeastOnceSink sink = new AtLeastOnceSink(outcomesRefused, consumer, completions,
                new PipelineMetrics(registry, Clock.systemUTC(), told::add), RECORDS,
                new SendHealth(Clock.systemUTC(), Duration.ofSeconds(30)));
        PartitionOffsets po = new PartitionOffsets(TP);
        po.track(5);
        dev.netfence.event.Outcome o = startOutcome();

        sink.emit(po, 5, List.of(outcomeAt(5, o)));
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
            completions.runAll();
            return !told.isEmpty();
        });

        assertThat(told).as("the refused outcome, told as out once its dead letter replaces it").containsExactly(o);
        sink.close();
    }

    @Test
    void anOutcomeUnacknowledgedWhenTheProducerIsClosedIsNeitherReplacedByADeadLetterNorToldAsOut() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(false, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        List<dev.netfence.event.Outcome> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtLeastOnceSink sink = new AtLeastOnceSink(producer, consumer, completions,
                new PipelineMetrics(registry, Clock.systemUTC(), told::add), RECORDS,
                new SendHealth(Clock.systemUTC(), Duration.ofSeconds(30)));
        PartitionOffsets po = new PartitionOffsets(TP);
        po.track(5);
        dev.netfence.event.Outcome o = startOutcome();
        sink.emit(po, 5, List.of(outcomeAt(5, o)));
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> producer.history().size() == 1);

        // what kafka-clients hands an unacknowledged batch's callbacks when closed with a timeout that ran out
        producer.errorNext(new org.apache.kafka.common.KafkaException("Producer is closed forcefully."));
        completions.runAll();

        assertThat(told).as("not told as out: it is done again by the next clients").isEmpty();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> sink.commit(List.of(po), false))
                .as("the sink is done: nothing more is committed through it").isInstanceOf(OutputSink.FatalClientException.class)
                .hasMessageContaining("unacknowledged");
        assertThat(po.lastCommitted()).isNegative();
        assertThat(registry.find("netfence.send.errors").counters()).as("no refusal counted").isEmpty();
        sink.close();
    }

    /**
     * Review 206 #1: a send failed for the node's clock; the sink closes its producer at once
     * ({@code close(ZERO)}), which ends the producer's I/O thread. The watchdog, asked first each round,
     * must not call that a wedge: the sink's commit reports the failure (the clients made again), and
     * {@code /readyz} is left to {@link SendHealth}'s reason; three such rounds do not take {@code /healthz}
     * down.
     */
    @Test
    void aProducerTheSinkClosedAfterAFailedSendIsNoWedgedProducerAndItsFailureIsTheSinksToReport() throws Exception {
        dev.netfence.testkit.MutableClock clock = new dev.netfence.testkit.MutableClock(java.time.Instant.now());
        ProducerWatchdog watchdog = new ProducerWatchdog(clock, List::of);
        SendHealth health = new SendHealth(clock, Duration.ZERO); // one refusal is a streak that counts
        for (int round = 0; round < ProducerWatchdog.GIVE_UP; round++) {
            java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
            Thread io = new Thread(() -> {
                try {
                    closed.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "kafka-producer-network-thread | netfence-n1");
            io.start();
            watchdog.watch(java.util.Optional.of(io), 16384, Duration.ofMinutes(2));
            AtLeastOnceSink sink = new AtLeastOnceSink(clockRefusing(closed), consumer, completions,
                    new PipelineMetrics(registry, Clock.systemUTC()), RECORDS, health, watchdog);
            PartitionOffsets po = new PartitionOffsets(TP);
            po.track(5);

            sink.emit(po, 5, List.of(outcomeAt(5, startOutcome())));
            org.awaitility.Awaitility.await("the sink closed the producer: its I/O thread ended")
                    .atMost(Duration.ofSeconds(10)).until(() -> !io.isAlive());
            clock.advance(ProducerWatchdog.CHECK_EVERY);

            watchdog.check();
            assertThat(watchdog.notReadyReason()).isEmpty();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> sink.commit(List.of(po), false))
                    .isInstanceOf(OutputSink.FatalClientException.class).hasMessageContaining("sending to outcomes failed");
            assertThat(health.notReadyReason()).get().asString().startsWith("topic outcomes has refused every output");
            sink.close();
        }
        assertThat(watchdog.deadReason()).isEmpty();
    }

    /** A producer that fails every send for its timestamp, and whose close (from the sink) opens {@code closed}. */
    private static MockProducer<byte[], byte[]> clockRefusing(java.util.concurrent.CountDownLatch closed) {
        return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer()) {
            @Override
            public synchronized java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
                    org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]> r,
                    org.apache.kafka.clients.producer.Callback callback) {
                RuntimeException e = new org.apache.kafka.common.errors.InvalidTimestampException("Timestamp "
                        + "1796581325279 of message with offset 0 is out of range. The timestamp should be within"
                        + " [1796574065278, 1796577665278]");
                callback.onCompletion(null, e);
                return java.util.concurrent.CompletableFuture.failedFuture(e);
            }

            @Override
            public void close(Duration timeout) {
                super.close(timeout);
                closed.countDown();
            }
        };
    }

    private static final OutputRecords RECORDS = new OutputRecords(new OutcomeCodec(), "outcomes", "events.dlq", "n1/1",
            "n1");

    /** The outcome of an applied start event of container c1. */
    private static dev.netfence.event.Outcome startOutcome() {
        dev.netfence.event.ContainerEvent ev = new dev.netfence.event.ContainerEvent(1,
                dev.netfence.event.ContainerEvent.CONTAINER_STARTED, "ev-5", java.time.Instant.now(), "n1", "task-1", "c1",
                null, 4242);
        return new dev.netfence.event.Outcomes(Clock.systemUTC(), "n1/1", "test").of(ev,
                dev.netfence.core.EnforcementResult.applied().build(), false);
    }

    /** Outcome {@code o} as the output of the events record at {@code offset}. */
    private static Output outcomeAt(long offset, dev.netfence.event.Outcome o) {
        org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> source = new org.apache.kafka.clients.consumer
                .ConsumerRecord<>("events", 0, offset, "n1".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return Output.outcome(RECORDS.outcome(o), o, source);
    }

    /** A producer that refuses every record to a topic {@code refused} accepts as too large, and sends the others. */
    private static MockProducer<byte[], byte[]> refusingTooLarge(java.util.function.Predicate<String> refused) {
        return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer()) {
            @Override
            public synchronized java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
                    org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]> r,
                    org.apache.kafka.clients.producer.Callback callback) {
                if (!refused.test(r.topic())) {
                    return super.send(r, callback);
                }
                RuntimeException e = new org.apache.kafka.common.errors.RecordTooLargeException("too large");
                callback.onCompletion(null, e);
                return java.util.concurrent.CompletableFuture.failedFuture(e);
            }
        };
    }
}
