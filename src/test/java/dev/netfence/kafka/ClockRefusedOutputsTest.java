package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;

/**
 * Outcomes the broker refuses for their timestamp, against the real broker: what a node whose
 * clock is more than an hour ahead of the broker's meets (Kafka 4's {@code
 * log.message.timestamp.after.max.ms} is one hour, and the producer stamps records with the node's
 * clock). The outcomes topic here refuses every record older than the broker's time ({@code
 * message.timestamp.before.max.ms} 0), the same {@code InvalidTimestampException} on this
 * machine's clock. Such a refusal is the node's, not the outcome's: the outcome must not be
 * replaced by its event's dead letter (which would leave the event without an outcome once the
 * clock is right), nothing may be committed past it, and every outcome must go through, in order,
 * once the broker takes the timestamps again. At-least-once mode only: in exactly-once mode the
 * broker here refuses the transaction's abort markers too (they are stamped before they are
 * appended), which a node's clock never makes it do, so the transaction could never end; that mode's
 * handling of the same refusal is {@code TransactionalSinkTest}'s.
 */
@KafkaLane
class ClockRefusedOutputsTest {
    @Test
    void anOutcomeRefusedForItsTimestampIsKeptAndGoesThroughOnceTheBrokerTakesTheTimestampsAgain() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            setTimestampBeforeMax(f.outcomesTopic, "0");
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            f.sendEvent("e-1", "n1", "task-1", "c-1");
            RecordMetadata last = f.sendEvent("e-2", "n1", "task-1", "c-2");
            f.start(f.settings("n1"), new RecordingEnforcer(), store);

            TopicPartition tp = new TopicPartition(f.events, 0);
            await("refusals happened").atMost(Duration.ofSeconds(30)).until(() ->
                    f.counter("netfence.send.errors", "topic", f.outcomesTopic) >= 1.0);
            await("nothing committed past a refused outcome, no dead letter instead of it")
                    .during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(10)).until(() ->
                            f.committed("n1", 1).getOrDefault(tp, -1L) <= 0 && f.deadLetters().isEmpty());
            assertThat(f.counter("netfence.dlq.records", "code", "OUTCOME_REJECTED")).isZero();

            setTimestampBeforeMax(f.outcomesTopic, null);
            long end = last.offset() + 1;
            await().atMost(Duration.ofSeconds(90)).until(() -> f.committed("n1", 1).getOrDefault(tp, -1L) == end);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(RefusedOutputsTest.committedOutcomes(f))
                    .containsOnlyKeys("e-1", "e-2"));
            assertThat(f.deadLetters()).isEmpty();
            assertThat(f.counter("netfence.dlq.records", "code", "OUTCOME_REJECTED")).isZero();
        }
    }

    /** Sets the topic's {@code message.timestamp.before.max.ms}, or removes the override ({@code null}). */
    private static void setTimestampBeforeMax(String topic, String ms) {
        try (Admin admin = TestKafka.admin()) {
            ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            AlterConfigOp op = ms == null
                    ? new AlterConfigOp(new ConfigEntry("message.timestamp.before.max.ms", ""), AlterConfigOp.OpType.DELETE)
                    : new AlterConfigOp(new ConfigEntry("message.timestamp.before.max.ms", ms), AlterConfigOp.OpType.SET);
            admin.incrementalAlterConfigs(Map.of(r, List.of(op))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot set message.timestamp.before.max.ms of " + topic, e);
        }
    }
}
