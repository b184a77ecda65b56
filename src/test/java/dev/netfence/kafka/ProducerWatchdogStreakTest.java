package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.event.OutcomeCodec;
import dev.netfence.testkit.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Review 211: a send the at-least-once publisher hands to the wedged producer after check() cleared
 * the pending sends (emitted just before check(), or during limitNote()'s admin call) is failed by the
 * producer's forced close (forceClose aborts incomplete batches while its I/O thread is alive); its
 * callback called answered(), which erased /readyz's reason and reset the streak: /healthz never went down.
 * No send handed to a producer found wedged counts now.
 */
class ProducerWatchdogStreakTest {
    private static final TopicPartition TP = new TopicPartition("events", 0);

    private static Output dead(String key) {
        return Output.deadLetter(new ProducerRecord<>("events.dlq", key.getBytes(StandardCharsets.UTF_8),
                "v".getBytes(StandardCharsets.UTF_8)), "MALFORMED_EVENT");
    }

    @Test
    void threeWedgedProducersInARowTakeHealthDownThoughTheForcedCloseFailsASendTakenAfterTheCheck() {
        MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        ProducerWatchdog watchdog = new ProducerWatchdog(clock, List::of);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Completions completions = new Completions();
        for (int round = 1; round <= ProducerWatchdog.GIVE_UP; round++) {
            MockProducer<byte[], byte[]> wedged = new MockProducer<>(false, null, new ByteArraySerializer(),
                    new ByteArraySerializer());
            watchdog.watch(Optional.empty(), 16384, Duration.ofMinutes(2));
            AtLeastOnceSink sink = new AtLeastOnceSink(wedged, new MockConsumer<>("earliest"), completions,
                    new PipelineMetrics(registry, Clock.systemUTC()),
                    new OutputRecords(new OutcomeCodec(), "outcomes", "events.dlq", "n1/1", "n1"),
                    new SendHealth(clock, Duration.ofSeconds(30)), watchdog);
            PartitionOffsets po = new PartitionOffsets(TP);
            po.track(1);
            po.track(2);
            sink.emit(po, 1, List.of(dead("a")));
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> wedged.history().size() == 1);
            clock.advance(Duration.ofMinutes(3));
            assertThatThrownBy(watchdog::check).isInstanceOf(OutputSink.FatalClientException.class);
            assertThat(watchdog.notReadyReason()).isPresent();

            // the publisher, still running until sink.closing(), hands one more output to the wedged producer
            sink.emit(po, 2, List.of(dead("b")));
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> wedged.history().size() == 2);
            sink.closing();
            // p.close(ZERO) with the I/O thread alive: forceClose aborts what the producer holds
            while (wedged.errorNext(new KafkaException("Producer is closed forcefully."))) { }
            assertThat(watchdog.notReadyReason()).as("round " + round + ": the wedge still named").isPresent();
            sink.close();
        }
        assertThat(watchdog.deadReason()).as("three wedges in a row: /healthz down").isPresent();
    }
}
