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
import org.junit.jupiter.api.Test;

/** {@link ProducerWatchdog}: what counts as a producer that stopped answering, and what it reports. */
class ProducerWatchdogTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2025-01-01T00:00:00Z"));
    private final ProducerWatchdog watchdog = new ProducerWatchdog(clock, Duration.ofSeconds(120),
            () -> List.of(new OutputTopicLimits.Limit("dlq", 100), new OutputTopicLimits.Limit("outcomes", 300),
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

        watchdog.watch(Optional.empty(), 100);
        assertThat(watchdog.notReadyReason()).as("until the new producer answers").isPresent();
        watchdog.answered(watchdog.sending("outcomes"));
        assertThat(watchdog.notReadyReason()).isEmpty();
    }

    @Test
    void aSendUnansweredForLongerThanTheDeliveryTimeoutPlusTheMarginIsReportedWithItsTopic() {
        watchdog.watch(Optional.empty(), 16384);
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
            watchdog.watch(Optional.empty(), 16384);
            watchdog.sending("outcomes");
            clock.advance(Duration.ofMinutes(10)); // max.block.ms = 15 min, the topic not in metadata

            watchdog.check();
        }

        assertThat(watchdog.notReadyReason()).isEmpty();
        assertThat(watchdog.deadReason()).isEmpty();
    }

    @Test
    void aSendAnsweredOrRefusedBeforeTheProducerTookItIsNotAwaited() {
        watchdog.watch(Optional.empty(), 16384);
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

        watchdog.watch(Optional.empty(), 100);
        watchdog.answered(watchdog.sending("outcomes"));
        assertThat(watchdog.deadReason()).isEmpty();
    }

    @Test
    void theDeliveryTimeoutIsTheConfiguredOneElseKafkasDefault() {
        assertThat(ProducerWatchdog.deliveryTimeout(Map.of("delivery.timeout.ms", "5000"))).hasSeconds(5);
        assertThat(ProducerWatchdog.deliveryTimeout(Map.of())).hasSeconds(120);
    }

    /** An I/O thread, watched, that dies as kafka-clients' did. */
    private void dieWatched(int batchSize) throws InterruptedException {
        Thread t = new Thread(() -> {
            throw new StackOverflowError();
        }, "kafka-producer-network-thread | netfence-n1");
        t.setUncaughtExceptionHandler((thread, e) -> { }); // kafka-clients logs it; quiet here
        watchdog.watch(Optional.of(t), batchSize);
        t.start();
        t.join();
    }
}
