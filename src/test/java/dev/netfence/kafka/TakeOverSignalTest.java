package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.reconcile.ContainerLifecycle;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The pipeline tells the reconciler when it takes partitions over, in both assignment modes, so
 * that the reconciler reads what another instance of the node journaled meanwhile
 * ({@code reconcile.TakeOver}); before, nothing told it, and the live set stayed as read at start.
 */
@KafkaLane
class TakeOverSignalTest {

    @ParameterizedTest
    @EnumSource(Assignment.class)
    void takingPartitionsOverIsToldToTheReconcilerBeforeTheirEventsAreHandled(Assignment assignment) {
        String node = "take-over-" + UUID.randomUUID().toString().substring(0, 8);
        AtomicInteger assigned = new AtomicInteger();
        AtomicInteger assignedWhenFirstEvent = new AtomicInteger(-1);
        ContainerLifecycle lifecycle = new ContainerLifecycle() {
            @Override
            public EnforcementResult started(ContainerEvent event, Enforcement enforcement) throws InterruptedException {
                assignedWhenFirstEvent.compareAndSet(-1, assigned.get());
                return enforcement.run();
            }

            @Override
            public Optional<String> stopped(ContainerEvent event) {
                return Optional.empty();
            }

            @Override
            public void partitionsAssigned() {
                assigned.incrementAndGet();
            }
        };
        try (PipelineFixture f = new PipelineFixture(2)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            EventPipeline p = f.start(f.settings(node).assignment(assignment), new RecordingEnforcer(), store, lifecycle);
            await().atMost(Duration.ofSeconds(60)).until(() -> !p.assignment().isEmpty());
            f.send(node, PipelineFixture.event("e-1", node, "task-1", "c-1"));
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomeEventIds().contains("e-1"));

            assertThat(assigned.get()).isGreaterThanOrEqualTo(1);
            assertThat(assignedWhenFirstEvent.get()).as("told before the first event was handled").isGreaterThanOrEqualTo(1);
        }
    }
}
