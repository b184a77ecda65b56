package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

@KafkaLane
class OrderingTest {
    @Test
    void fiftyEventsForOneContainerAreEnforcedInOrderAndEndWithTheLastPolicy() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore()
                    .put("task-open", FakePolicies.OPEN).put("task-closed", FakePolicies.CLOSED);
            RecordingEnforcer enforcer = new RecordingEnforcer();
            List<NetworkPolicy> expected = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                boolean open = i % 2 == 0;
                f.sendEvent("e-" + i, "n1", open ? "task-open" : "task-closed", "c-one");
                expected.add(open ? FakePolicies.OPEN : FakePolicies.CLOSED);
                // other containers in between, so the workers are busy with more than one key
                f.sendEvent("x-" + i, "n1", "task-open", "c-other-" + i);
            }
            f.start(f.settings("n1"), enforcer, store);

            await().atMost(Duration.ofSeconds(60)).until(() -> enforcer.appliedTo("c-one").size() == 50);
            assertThat(enforcer.appliedTo("c-one")).containsExactlyElementsOf(expected);
            assertThat(enforcer.appliedTo("c-one").get(49)).isEqualTo(FakePolicies.CLOSED);
            assertThat(enforcer.overlaps()).isEmpty();
            await().atMost(Duration.ofSeconds(30)).until(() -> f.outcomes().size() == 100);
            List<String> published = f.outcomes().stream().filter(o -> o.containerId().equals("c-one"))
                    .map(o -> o.eventId()).toList();
            List<String> inOrder = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                inOrder.add("e-" + i);
            }
            assertThat(published).containsExactlyElementsOf(inOrder);
        }
    }

    @Test
    void twoHundredContainersProceedConcurrently() {
        try (PipelineFixture f = new PipelineFixture(2)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer().delay(20);
            for (int i = 0; i < 200; i++) {
                f.sendEvent("e-" + i, "n1", "task-1", "c-" + i);
            }
            f.start(f.settings("n1").concurrency(8).maxInFlight(1000), enforcer, store);

            await().atMost(Duration.ofSeconds(90)).until(() -> f.outcomes().size() == 200);
            assertThat(enforcer.containers()).hasSize(200);
            assertThat(enforcer.maxConcurrent()).isGreaterThan(1).isLessThanOrEqualTo(8);
            assertThat(enforcer.overlaps()).isEmpty();
        }
    }
}
