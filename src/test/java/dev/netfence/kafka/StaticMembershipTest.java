package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.MeterNames;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 item 7, the unsafe case of static membership, against the real broker: a second
 * instance of one node starting with the same default {@code group.instance.id} (a rolling update
 * with surge) fences the first. The fenced one stands by like an instance fenced out of its
 * {@code transactional.id} ({@link FencedStandby}): alive, not ready with the reason and when it
 * joins again on {@code /readyz}, the standby gauge at 1; every event still gets its outcome. Once
 * the other instance is gone, the fenced one takes over by itself: before, it stayed down for
 * good, and a node whose newer instance went away enforced nothing until someone restarted it.
 */
@KafkaLane
class StaticMembershipTest {
    @Test
    void anInstanceFencedOutOfItsStaticMembershipStandsByAndTakesOverOnceTheOtherIsGone() {
        String node = "surge-" + UUID.randomUUID().toString().substring(0, 8);
        try (PipelineFixture f = new PipelineFixture(2)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer olderEnforcer = new RecordingEnforcer();
            StandbyLifecycle olderLifecycle = new StandbyLifecycle();
            EventPipeline older = f.start(f.settings(node), olderEnforcer, store, olderLifecycle);
            await().atMost(Duration.ofSeconds(60)).until(() -> older.assignment().size() == 2);
            EventPipeline newer = f.start(f.settings(node), new RecordingEnforcer(), store);

            await("the older instance is fenced and stands by").atMost(Duration.ofSeconds(60))
                    .until(() -> older.notReadyReason().orElse("").startsWith("fenced"));
            assertThat(older.notReadyReason()).get().asString()
                    .contains("group.instance.id netfence-" + node).contains("standing by, joining again in");
            assertThat(older.alive()).as("liveness stays up: a restart would only fence the newer one").isTrue();
            await("the reconciler told: no resync while standing by").atMost(Duration.ofSeconds(10))
                    .until(() -> olderLifecycle.standingBy);
            int assignedBefore = olderLifecycle.assigned.get();
            assertThat(f.counter(MeterNames.FENCED, "by", "group.instance.id")).isGreaterThanOrEqualTo(1.0);
            assertThat(f.registry.find(MeterNames.FENCED_STANDBY).gauge()).isNotNull();

            Set<String> ids = new HashSet<>();
            for (int i = 0; i < 10; i++) {
                f.send(node, PipelineFixture.event("e-" + i, node, "task-1", "c-" + i), i % 2);
                ids.add("e-" + i);
            }
            await("every event has an outcome while the two take turns").atMost(Duration.ofSeconds(90))
                    .until(() -> f.outcomeEventIds().containsAll(ids));

            try (BrokerProbe probe = new BrokerProbe(KafkaClients.adminSettings(f.settings(node).build()),
                    new EventsTopicWatch(f.events, false))) {
                String group = new NodeRouting(node).groupId();
                assertThat(probe.hasStaticMember(group, "netfence-" + node)).as("what the standby asks the broker")
                        .contains(true);
                assertThat(probe.hasStaticMember(group, "netfence-elsewhere")).contains(false);
            }
            newer.close();
            await("the fenced instance takes over once the other is gone").atMost(Duration.ofSeconds(90))
                    .until(() -> older.ready() && older.assignment().size() == 2);
            assertThat(f.registry.find(MeterNames.FENCED_STANDBY).gauge().value()).isZero();
            assertThat(olderLifecycle.standingBy).as("and told it joined again").isFalse();
            assertThat(olderLifecycle.assigned.get()).as("taking over is told, so the journal is read again")
                    .isGreaterThan(assignedBefore);
            Set<String> after = new HashSet<>();
            for (int i = 10; i < 16; i++) {
                f.send(node, PipelineFixture.event("e-" + i, node, "task-1", "c-" + i), i % 2);
                after.add("e-" + i);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomeEventIds().containsAll(after));
            for (int i = 10; i < 16; i++) {
                assertThat(olderEnforcer.appliedTo("c-" + i)).as("c-%d enforced by the instance that took over", i)
                        .isNotEmpty();
            }
        }
    }

    /** What the pipeline tells the reconciler about standing by and taking partitions over. */
    private static final class StandbyLifecycle implements dev.netfence.reconcile.ContainerLifecycle {
        volatile boolean standingBy;
        final java.util.concurrent.atomic.AtomicInteger assigned = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public dev.netfence.core.EnforcementResult started(dev.netfence.event.ContainerEvent event,
                Enforcement enforcement) throws InterruptedException {
            return enforcement.run();
        }

        @Override
        public java.util.Optional<String> stopped(dev.netfence.event.ContainerEvent event) {
            return java.util.Optional.empty();
        }

        @Override
        public void standingBy(boolean on) {
            standingBy = on;
        }

        @Override
        public void partitionsAssigned() {
            assigned.incrementAndGet();
        }
    }
}
