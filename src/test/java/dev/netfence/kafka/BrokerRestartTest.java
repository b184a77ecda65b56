package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.kafka.testkit.KraftBroker;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.RunsAlone;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

@RunsAlone
class BrokerRestartTest {
    @Test
    void thePipelineReportsNotReadyWhileTheBrokerIsDownAndResumesOnItsOwnAfterwards() {
        KraftBroker broker = TestKafka.embeddedFor("this test restarts the broker");
        try (PipelineFixture f = new PipelineFixture(1)) {
            RecordingEnforcer enforcer = new RecordingEnforcer();
            EventPipeline p = f.start(f.settings("n1"), enforcer, new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            Set<String> ids = new HashSet<>();
            for (int i = 0; i < 10; i++) {
                f.sendEvent("before-" + i, "n1", "task-1", "c-" + i);
                ids.add("before-" + i);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomeEventIds().containsAll(ids));
            await().atMost(Duration.ofSeconds(30)).until(p::ready);

            broker.stop();
            await().atMost(Duration.ofSeconds(30)).until(() -> !p.ready());
            broker.restart();

            for (int i = 0; i < 10; i++) {
                f.sendEvent("after-" + i, "n1", "task-1", "c-" + i);
                ids.add("after-" + i);
            }
            await().atMost(Duration.ofSeconds(120)).until(() -> f.outcomeEventIds().containsAll(ids));
            await().atMost(Duration.ofSeconds(60)).until(p::ready);
            assertThat(enforcer.overlaps()).isEmpty();
        } finally {
            if (!broker.isRunning()) {
                broker.restart();
            }
        }
    }
}
