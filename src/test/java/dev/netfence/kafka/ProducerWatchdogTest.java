package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.as;
import static org.assertj.core.api.InstanceOfAssertFactories.STRING;

import dev.netfence.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.internals.RecordAccumulator;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** {@link ProducerWatchdog}: what counts as a producer that stopped answering, and what it reports. */
class ProducerWatchdogTest {
    private static final Duration TWO_MINUTES = Duration.ofMinutes(2);
    private final MutableClock clock = new MutableClock(Instant.parse("2025-01-01T00:00:00Z"));
    private final ProducerWatchdog watchdog = new ProducerWatchdog(clock, () -> List.of(new OutputTopicLimits.Limit("dlq", 100), new OutputTopicLimits.Limit("outcomes", 300),
                    new OutputTopicLimits.Limit("big", 1_048_588)));

    @Test
    void aProducerWhoseIoThreadDiedIsMadeAgainAndReadinessNamesTheCauseAndEachTopicLimitBelowItsBatchSize()
            throws Exception {
        dieWatched(16384);

        assertThatThrownBy(watchdog::check).isInstanceOf(OutputSink.FatalClientException.class)
                .hasMessageContaining("the Kafka producer stopped answering (its I/O thread"
                        + " 'kafka-producer-network-thread | netfence-n1' died of java.lang.StackOverflowError)")
                .hasMessageContaining("topic dlq takes records of at most 100 bytes, topic outcomes takes records of"
                        + " at most 300 bytes (max.message.bytes), less than the producer's batch.size 16384")
                .hasMessageContaining("batch.size capped to 100")
                .hasMessageNotContaining("big");
        assertThat(watchdog.notReadyReason()).get(as(STRING))
                .startsWith("the Kafka producer stopped answering");
        watchdog.check(); // reported once: not again before the next producer is watched

        watchdog.watch(Optional.empty(), 100, TWO_MINUTES);
        assertThat(watchdog.notReadyReason()).as("until the new producer answers").isPresent();
        watchdog.answered(watchdog.sending("outcomes"));
        assertThat(watchdog.notReadyReason()).isEmpty();
    }

    @Test
    void aSendUnansweredForLongerThanTheDeliveryTimeoutPlusTheMarginIsReportedWithItsTopic() {
        watchdog.watch(Optional.empty(), 16384, TWO_MINUTES);
        long token = watchdog.sending("outcomes");
        clock.advance(Duration.ofSeconds(50)); // send() blocked on metadata: the delivery timeout starts when it returns
        watchdog.sent(token);
        clock.advance(Duration.ofSeconds(150));
        watchdog.check();

        clock.advance(Duration.ofSeconds(1));
        assertThatThrownBy(watchdog::check).isInstanceOf(OutputSink.FatalClientException.class)
                .hasMessageContaining("a send to outcomes has had no answer for 151 s, more than delivery.timeout.ms + 30 s");
    }

    /**
     * Review 206 #2: {@code kafka.max.block.ms} may be set above 150 s ({@code PipelineSettings} raises the
     * stall threshold to twice it), and a send to a topic missing from metadata waits that long inside
     * {@code send}. The watchdog does not time it (max.block.ms bounds it) and three such waits in a row do
     * not take {@code /healthz} down.
     */
    @Test
    void aSendStillInsideSendIsNotTimedHoweverLongItBlocks() {
        for (int i = 0; i < ProducerWatchdog.GIVE_UP; i++) {
            watchdog.watch(Optional.empty(), 16384, TWO_MINUTES);
            watchdog.sending("outcomes");
            clock.advance(Duration.ofMinutes(10)); // max.block.ms = 15 min, the topic not in metadata

            watchdog.check();
        }

        assertThat(watchdog.notReadyReason()).isEmpty();
        assertThat(watchdog.deadReason()).isEmpty();
    }

    @Test
    void aSendAnsweredOrRefusedBeforeTheProducerTookItIsNotAwaited() {
        watchdog.watch(Optional.empty(), 16384, TWO_MINUTES);
        watchdog.answered(watchdog.sending("outcomes"));
        watchdog.dropped(watchdog.sending("outcomes"));
        clock.advance(Duration.ofMinutes(10));

        watchdog.check();
        assertThat(watchdog.notReadyReason()).isEmpty();
    }

    @Test
    void threeWedgedProducersInARowTakeLivenessDownUntilAProducerAnswersASend() throws Exception {
        for (int i = 1; i <= ProducerWatchdog.GIVE_UP; i++) {
            assertThat(watchdog.deadReason()).isEmpty();
            dieWatched(16384);
            assertThatThrownBy(watchdog::check).isInstanceOf(OutputSink.FatalClientException.class);
        }
        assertThat(watchdog.deadReason()).get(as(STRING))
                .startsWith("3 Kafka producers in a row stopped answering").contains("StackOverflowError");

        watchdog.watch(Optional.empty(), 100, TWO_MINUTES);
        watchdog.answered(watchdog.sending("outcomes"));
        assertThat(watchdog.deadReason()).isEmpty();
    }

    /**
     * Review 206 #3: with {@code kafka.request.timeout.ms=200000} and {@code delivery.timeout.ms} not set,
     * the producer raises its delivery timeout to {@code linger.ms + request.timeout.ms}, and may take that
     * long to answer a send; the watchdog's bound is that plus the margin, not Kafka's default plus it.
     */
    @Test
    void aSendIsAwaitedForTheDeliveryTimeoutTheProducerRaisedToLingerPlusRequestTimeoutPlusTheMargin() {
        Map<String, Object> producer = KafkaClients.producerConfig(PipelineSettings.custom().nodeId("n1")
                .kafka(Map.of("bootstrap.servers", "127.0.0.1:1", "request.timeout.ms", "200000")).build(), "tx",
                Optional.empty());
        watchdog.watch(Optional.empty(), 16384, ProducerWatchdog.deliveryTimeout(producer));
        watchdog.sent(watchdog.sending("outcomes"));

        clock.advance(Duration.ofSeconds(230)); // 200 s + linger.ms 1 ms + 30 s
        watchdog.check();
        assertThat(watchdog.notReadyReason()).isEmpty();

        clock.advance(Duration.ofSeconds(1));
        assertThatThrownBy(watchdog::check).isInstanceOf(OutputSink.FatalClientException.class)
                .hasMessageContaining("a send to outcomes has had no answer for 231 s");
    }

    /** Held to what kafka-clients does: the delivery timeout its producer uses, read from a producer made with the settings. */
    @Test
    void theDeliveryTimeoutIsTheOneAProducerMadeWithTheSettingsUses() throws Exception {
        List<Map<String, Object>> cases = List.of(Map.of(), Map.of("delivery.timeout.ms", "300000"),
                Map.of("request.timeout.ms", "200000"), Map.of("request.timeout.ms", 100_000, "linger.ms", 100_000),
                Map.of("request.timeout.ms", "200000", "delivery.timeout.ms", "250000"),
                Map.of("request.timeout.ms", Integer.MAX_VALUE, "linger.ms", 5));
        for (Map<String, Object> kafka : cases) {
            Map<String, Object> settings = new java.util.HashMap<>(kafka);
            settings.put("bootstrap.servers", "127.0.0.1:1");
            settings.put("client.id", "netfence-watchdog-test");
            Map<String, Object> p = KafkaClients.producerConfig(PipelineSettings.custom().nodeId("n1").kafka(settings)
                    .build(), "tx", Optional.empty());
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                java.lang.reflect.Field accumulator = KafkaProducer.class.getDeclaredField("accumulator");
                accumulator.setAccessible(true);
                long uses = ((RecordAccumulator) accumulator.get(producer)).getDeliveryTimeoutMs();
                assertThat(ProducerWatchdog.deliveryTimeout(p)).as("%s", kafka).isEqualTo(Duration.ofMillis(uses));
                producer.close(Duration.ZERO);
            }
        }
        assertThat(ProducerWatchdog.deliveryTimeout(Map.of("request.timeout.ms", "200000", "linger.ms", "1")))
                .isEqualTo(Duration.ofMillis(200_001));
    }

    @Test
    void aProducerFoundWedgedIsClosedAtOnceAndItsSuccessorGracefully() {
        watchdog.watch(Optional.empty(), 16384, TWO_MINUTES);
        assertThat(watchdog.closeWithin(Duration.ofSeconds(5))).hasSeconds(5);
        watchdog.sent(watchdog.sending("outcomes"));
        clock.advance(Duration.ofMinutes(3));
        assertThatThrownBy(watchdog::check).isInstanceOf(OutputSink.FatalClientException.class);

        assertThat(watchdog.closeWithin(Duration.ofSeconds(5))).isZero();
        watchdog.watch(Optional.empty(), 16384, TWO_MINUTES);
        assertThat(watchdog.closeWithin(Duration.ofSeconds(5))).hasSeconds(5);
    }

    @Test
    void aProducerNetfenceClosedItselfIsNoWedgeUnlessItsIoThreadDiedOfAnError() throws Exception {
        Thread closed = new Thread(() -> { }, "kafka-producer-network-thread | netfence-n1");
        watchdog.watch(Optional.of(closed), 16384, TWO_MINUTES);
        watchdog.sent(watchdog.sending("outcomes"));
        closed.start();
        closed.join();
        watchdog.closedOnPurpose();
        clock.advance(Duration.ofMinutes(10));

        watchdog.check();
        assertThat(watchdog.notReadyReason()).isEmpty();

        dieWatched(16384);
        watchdog.closedOnPurpose();
        assertThatThrownBy(watchdog::check).isInstanceOf(OutputSink.FatalClientException.class)
                .hasMessageContaining("died of java.lang.StackOverflowError");
    }

    /** An I/O thread, watched, that dies as kafka-clients' did. */
    private void dieWatched(int batchSize) throws InterruptedException {
        Thread t = new Thread(() -> {
            throw new StackOverflowError();
        }, "kafka-producer-network-thread | netfence-n1");
        t.setUncaughtExceptionHandler((thread, e) -> { }); // kafka-clients logs it; quiet here
        watchdog.watch(Optional.of(t), batchSize, TWO_MINUTES);
        t.start();
        t.join();
    }
}
