package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 item 4: events waiting for a late policy ({@code --policy-wait}) park without holding
 * a worker thread. With 8 workers and 16 events parked for a policy that is not there, an event
 * whose policy exists still gets its outcome at once (today's main blocked it for the whole
 * wait); the parked ones are applied when their policy arrives, and a container's later event
 * still waits for its earlier, parked one.
 */
@KafkaLane
class PolicyWaitParkingTest {
    @Test
    void eventsWaitingForALatePolicyHoldNoWorkerAndKeepTheirContainersOrder() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-ok", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer();
            for (int i = 0; i < 16; i++) {
                f.sendEvent("e-late-" + i, "n1", "task-late", "c-late-" + i);
            }
            // the same container again, with a policy that exists: it must wait for its parked event
            f.sendEvent("e-after-late", "n1", "task-ok", "c-late-0");
            f.sendEvent("e-ready", "n1", "task-ok", "c-ready");
            f.start(f.settings("n1").concurrency(8).maxInFlight(1000)
                    .eventDeadline(Duration.ofSeconds(120)).policyWait(Duration.ofSeconds(90)).shutdownTimeout(Duration.ofSeconds(10)), enforcer, store);

            await("the event whose policy exists, behind 16 waiting ones").atMost(Duration.ofSeconds(30))
                    .until(() -> f.outcomeEventIds().contains("e-ready"));
            assertThat(f.outcomeEventIds()).as("nothing else has an outcome yet").containsExactly("e-ready");
            assertThat(enforcer.appliedTo("c-late-0")).as("the container's later event waits for its parked one").isEmpty();

            store.put("task-late", FakePolicies.CLOSED);
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 18);
            Map<String, Outcome> byId = f.outcomes().stream().collect(Collectors.toMap(Outcome::eventId, o -> o));
            assertThat(byId.values()).allSatisfy(o -> assertThat(o.status()).isEqualTo("applied"));
            assertThat(enforcer.appliedTo("c-late-0")).containsExactly(FakePolicies.CLOSED, FakePolicies.OPEN);
            List<String> order = f.outcomes().stream().map(Outcome::eventId)
                    .filter(id -> id.equals("e-late-0") || id.equals("e-after-late")).toList();
            assertThat(order).containsExactly("e-late-0", "e-after-late");
            assertThat(enforcer.overlaps()).isEmpty();
        }
    }
}
