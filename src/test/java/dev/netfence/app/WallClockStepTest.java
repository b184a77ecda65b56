package dev.netfence.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.cli.RunConfigs;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.KafkaLane;
import dev.netfence.testkit.SteppingClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * A step of the wall clock does not time out the work in flight: {@code netfence run} (dry run,
 * so no namespace is touched) given a wall clock that jumps an hour forward at every read still
 * applies an event whose policy names a hostname (its resolution checks the deadline). The event's
 * deadline is set and checked on the process's steady clock; when it was set on the wall clock,
 * the check after the next read found it an hour past and the outcome was failed with TIMEOUT.
 */
@KafkaLane
class WallClockStepTest {
    private final OutcomeCodec codec = new OutcomeCodec();

    @Test
    void anEventIsAppliedThoughTheWallClockStepsAnHourForwardBetweenSettingItsDeadlineAndCheckingIt()
            throws Exception {
        String events = TestKafka.uniqueTopic("step-events");
        String outcomes = events + ".outcomes";
        String policies = events + ".policies";
        TestKafka.createTopics(1, events, outcomes, events + ".dlq");
        TestKafka.createCompactedTopic(policies, 1);
        List<String> flags = RunConfigs.kafkaFlags("step-node", events, outcomes, policies, events + ".enforcements");
        flags.addAll(List.of("--dry-run", "--shutdown-timeout", "5s"));
        SteppingClock wall = new SteppingClock();
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer();
             RunService service = RunService.start(RunConfigs.of(flags), "test", new SimpleMeterRegistry(), wall)) {
            send(producer, policies, "task-step", "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                    + "[\"localhost:443\"],\"dns\":false,\"outbound\":false,\"inbound\":false}");
            await().atMost(Duration.ofSeconds(60)).until(service::ready);
            wall.stepOnEveryRead(Duration.ofHours(1));

            send(producer, events, "step-node", "{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":"
                    + "\"e-step\",\"occurredAt\":\"" + Instant.now() + "\",\"nodeId\":\"step-node\",\"taskId\":"
                    + "\"task-step\",\"containerId\":\"c-step\",\"pid\":999999}");
            Outcome outcome = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(
                    () -> TestKafka.readAll(outcomes).stream().map(r -> codec.decode(r.value()))
                            .filter(o -> "e-step".equals(o.eventId())).findFirst(), java.util.Optional::isPresent)
                    .orElseThrow();

            assertThat(outcome.error()).as("%s", outcome).isNull();
            assertThat(outcome.status()).as("%s", outcome).isEqualTo("applied");
        }
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String topic, String key, String value)
            throws Exception {
        producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8),
                value.getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
    }
}
