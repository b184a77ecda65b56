package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.TimeGauge;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 item 10: a record that is read but never acknowledged (here an enforcement that does
 * not return) stalls its partition's commits while the client's fetch lag shows 0. The committed
 * lag per partition and the age of the oldest unacknowledged record show it, and readiness turns
 * false once that age passes the stall timeout (today's main stayed ready); when the record
 * finishes, readiness comes back and the lag drains. In the Kafka lane: its group is node
 * {@code n1}'s, as the lane's classes' are, and a static member of that group in another class
 * running beside it fenced this one ("another instance joined group netfence-n1"), which then
 * reported that instead of the stall.
 */
@KafkaLane
class StallVisibilityTest {
    @Test
    void aRecordUnacknowledgedPastTheStallTimeoutTurnsReadinessFalseAndShowsInCommittedLag() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            RecordingEnforcer enforcer = new RecordingEnforcer();
            enforcer.hold("c-stuck");
            f.sendEvent("e-stuck", "n1", "task-1", "c-stuck");
            for (int i = 0; i < 20; i++) {
                f.sendEvent("e-" + i, "n1", "task-1", "c-" + i);
            }
            EventPipeline p = f.start(f.settings("n1").stallTimeout(Duration.ofSeconds(3)), enforcer,
                    new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 20);

            await("readiness turns false").atMost(Duration.ofSeconds(30)).until(() -> !p.ready());
            assertThat(p.notReadyReason()).get().asString()
                    .contains("oldest unacknowledged record").contains(f.events + "-0 offset 0");
            Gauge lag = f.registry.find("netfence.partition.committed.lag").tag("partition", "0").gauge();
            assertThat(lag).isNotNull();
            await().atMost(Duration.ofSeconds(10)).until(() -> lag.value() == 21);
            TimeGauge age = f.registry.find("netfence.oldest.unacknowledged.age").timeGauge();
            assertThat(age.value(TimeUnit.SECONDS)).isGreaterThan(3);

            enforcer.release("c-stuck");
            await("ready again").atMost(Duration.ofSeconds(30)).until(p::ready);
            await().atMost(Duration.ofSeconds(10)).until(() -> lag.value() == 0);
            assertThat(age.value(TimeUnit.SECONDS)).isLessThan(3);
        }
    }
}
