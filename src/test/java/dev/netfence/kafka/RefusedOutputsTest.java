package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/**
 * Outputs the broker refuses for good (issue 11 items 1 and 5), against the real broker: a dead
 * letter too large for the DLQ topic in exactly-once mode, an outcomes topic whose
 * {@code max.message.bytes} is too small for any outcome, and a DLQ topic that refuses even a dead
 * letter without its value. None of them may stall the node silently or loop: replaced outputs
 * go through, an output with nothing smaller left is held with readiness down, the records before
 * it are committed, and it goes through once the topic is fixed.
 */
@KafkaLane
class RefusedOutputsTest {
    private static final OutcomeCodec CODEC = new OutcomeCodec();

    @Test
    void inExactlyOnceModeADeadLetterTooLargeForTheDlqGoesWithoutItsValueAndEveryOtherEventIsCommitted() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            f.sendEvent("before", "n1", "task-1", "c-1");
            byte[] huge = new byte[1_048_300];
            Arrays.fill(huge, (byte) 'x');
            RecordMetadata bad = f.send("n1", huge);
            RecordMetadata last = f.sendEvent("after", "n1", "task-1", "c-2");

            f.start(f.settings("n1").exactlyOnce(true), new RecordingEnforcer(), store);

            TopicPartition tp = new TopicPartition(f.events, 0);
            await().atMost(Duration.ofSeconds(60)).until(() ->
                    f.committed("n1", 1).getOrDefault(tp, -1L) == last.offset() + 1);
            // the transaction's markers reach the outcomes partition and the offsets partition independently
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(committedOutcomes(f)).containsOnly(Map.entry("before", 1L), Map.entry("after", 1L)));
            await().atMost(Duration.ofSeconds(30)).until(() -> DeliveryLedger.read(f.dlq, true).size() == 1);
            List<ConsumerRecord<byte[], byte[]>> dead = DeliveryLedger.read(f.dlq, true);
            assertThat(dead).hasSize(1);
            assertThat(dead.get(0).value()).isNull();
            assertThat(header(dead.get(0), "netfence.original.size")).isEqualTo("1048300");
            assertThat(header(dead.get(0), "netfence.original.offset")).isEqualTo(Long.toString(bad.offset()));
            assertThat(header(dead.get(0), "netfence.error.code")).isEqualTo("MALFORMED_EVENT");
            assertThat(f.counter("netfence.send.errors", "kind", "terminal", "error", "RecordTooLargeException"))
                    .isGreaterThanOrEqualTo(1.0);
        }
    }

    @Test
    void inExactlyOnceModeAnOutputNothingCanShrinkIsIsolatedTheRecordsBeforeItCommitAndItGoesThroughOnceTheTopicIsFixed() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            setMaxMessageBytes(f.dlq, 200);
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            for (int i = 1; i <= 3; i++) {
                f.sendEvent("e-" + i, "n1", "task-1", "c-" + i);
            }
            RecordMetadata garbage = f.send("n1", "garbage".getBytes(StandardCharsets.UTF_8));
            RecordMetadata last = null;
            for (int i = 4; i <= 6; i++) {
                last = f.sendEvent("e-" + i, "n1", "task-1", "c-" + i);
            }
            EventPipeline p = f.start(f.settings("n1").exactlyOnce(true), new RecordingEnforcer(), store);

            TopicPartition tp = new TopicPartition(f.events, 0);
            await().atMost(Duration.ofSeconds(60)).until(() ->
                    f.committed("n1", 1).getOrDefault(tp, -1L) == garbage.offset());
            // the transaction's markers reach the outcomes partition and the offsets partition independently
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(committedOutcomes(f)).containsOnlyKeys("e-1", "e-2", "e-3"));
            await().atMost(Duration.ofSeconds(10)).until(() -> p.notReadyReason().isPresent());
            assertThat(p.notReadyReason().orElseThrow()).contains("held").contains(f.dlq);
            double abortsWhileHeld = f.counter("netfence.transactions.aborted", "error", "RecordTooLargeException");
            assertThat(abortsWhileHeld).as("aborts are counted and bounded by the back-off").isBetween(1.0, 12.0);

            setMaxMessageBytes(f.dlq, 1_048_588);
            long end = last.offset() + 1;
            await().atMost(Duration.ofSeconds(90)).until(() -> f.committed("n1", 1).getOrDefault(tp, -1L) == end);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(committedOutcomes(f)).hasSize(6)
                    .allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1L)));
            await().atMost(Duration.ofSeconds(30)).until(() -> DeliveryLedger.read(f.dlq, true).size() == 1);
            List<ConsumerRecord<byte[], byte[]>> dead = DeliveryLedger.read(f.dlq, true);
            assertThat(dead).hasSize(1);
            assertThat(header(dead.get(0), "netfence.original.offset")).isEqualTo(Long.toString(garbage.offset()));
            await().atMost(Duration.ofSeconds(10)).until(() -> p.notReadyReason().isEmpty());
        }
    }

    @Test
    void anOutcomeTheOutcomesTopicRefusesIsReportedOnceAndItsEventDeadLetteredInsteadOfResentForever() throws Exception {
        try (PipelineFixture f = new PipelineFixture(1)) {
            setMaxMessageBytes(f.outcomesTopic, 100);
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordMetadata last = null;
            for (int i = 1; i <= 4; i++) {
                last = f.sendEvent("e-" + i, "n1", "task-1", "c-" + i);
            }
            f.start(f.settings("n1"), new RecordingEnforcer(), store);

            TopicPartition tp = new TopicPartition(f.events, 0);
            long end = last.offset() + 1;
            await().atMost(Duration.ofSeconds(60)).until(() -> f.committed("n1", 1).getOrDefault(tp, -1L) == end);
            List<ConsumerRecord<byte[], byte[]>> dead = f.deadLetters();
            assertThat(dead).hasSize(4).allSatisfy(r -> {
                assertThat(header(r, "netfence.error.code")).isEqualTo("OUTCOME_REJECTED");
                assertThat(header(r, "netfence.error.class")).isEqualTo("org.apache.kafka.common.errors.RecordTooLargeException");
                assertThat(header(r, "netfence.error.message")).contains("applied outcome").contains(f.outcomesTopic);
                assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo("n1");
                assertThat(new String(r.value(), StandardCharsets.UTF_8)).contains("\"eventId\":\"e-");
            });
            assertThat(f.outcomes()).isEmpty();
            await("one report per refused outcome, no re-send loop").during(Duration.ofSeconds(3))
                    .atMost(Duration.ofSeconds(10)).until(() ->
                            f.counter("netfence.send.errors", "topic", f.outcomesTopic, "kind", "terminal") == 4.0);
            assertThat(f.counter("netfence.dlq.records", "code", "OUTCOME_REJECTED")).isEqualTo(4.0);
            assertThat(f.counter("netfence.outcomes", "status", "applied", "code", "none")).isZero();
        }
    }

    @Test
    void inAtLeastOnceModeADeadLetterNothingCanShrinkIsHeldWithReadinessDownUntilTheTopicTakesIt() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            setMaxMessageBytes(f.dlq, 200);
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            f.sendEvent("e-1", "n1", "task-1", "c-1");
            RecordMetadata garbage = f.send("n1", "garbage".getBytes(StandardCharsets.UTF_8));
            RecordMetadata last = f.sendEvent("e-2", "n1", "task-1", "c-2");
            EventPipeline p = f.start(f.settings("n1"), new RecordingEnforcer(), store);

            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 2);
            TopicPartition tp = new TopicPartition(f.events, 0);
            await().atMost(Duration.ofSeconds(30)).until(() -> f.committed("n1", 1).getOrDefault(tp, -1L) == garbage.offset());
            await().atMost(Duration.ofSeconds(10)).until(() -> p.notReadyReason().isPresent());
            assertThat(p.notReadyReason().orElseThrow()).contains("held").contains(f.dlq);

            setMaxMessageBytes(f.dlq, 1_048_588);
            await().atMost(Duration.ofSeconds(60)).until(() ->
                    f.committed("n1", 1).getOrDefault(tp, -1L) == last.offset() + 1);
            assertThat(f.deadLetters()).hasSize(1);
            assertThat(f.deadLetters().get(0).value()).as("the last attempt was the smallest form").isNull();
            await().atMost(Duration.ofSeconds(10)).until(() -> p.notReadyReason().isEmpty());
        }
    }

    static Map<String, Long> committedOutcomes(PipelineFixture f) {
        return DeliveryLedger.read(f.outcomesTopic, true).stream().map(r -> CODEC.decode(r.value()))
                .collect(Collectors.groupingBy(Outcome::eventId, Collectors.counting()));
    }

    static void setMaxMessageBytes(String topic, int bytes) {
        try (Admin admin = TestKafka.admin()) {
            ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            admin.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(
                    new ConfigEntry("max.message.bytes", Integer.toString(bytes)), AlterConfigOp.OpType.SET))))
                    .all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot set max.message.bytes of " + topic, e);
        }
    }

    static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
