package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import org.junit.jupiter.api.Test;

@KafkaLane
class FlowControlTest {
    @Test
    void whenMaxInFlightIsReachedPartitionsArePausedAndResumeOnceWorkFinishes() throws Exception {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer();
            enforcer.hold("c-0");
            for (int i = 0; i < 40; i++) {
                f.sendEvent("e-" + i, "n1", "task-1", "c-" + (i % 4));
            }
            f.start(f.settings("n1").concurrency(4).maxInFlight(5), enforcer, store);

            await().atMost(Duration.ofSeconds(60))
                    .until(() -> f.registry.get("netfence.partitions.paused").gauge().value() == 1.0);
            assertThat(f.registry.get("netfence.inflight").gauge().value()).isLessThanOrEqualTo(5.0);
            assertThat(f.counter("netfence.events.consumed", "type", "container.started")).isLessThanOrEqualTo(5.0);
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
                    .until(() -> f.counter("netfence.events.consumed", "type", "container.started") <= 5.0);

            enforcer.release("c-0");
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 40);
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> f.registry.get("netfence.partitions.paused").gauge().value() == 0.0);
        }
    }

    @Test
    void recordsSkippedByTheirKeyDoNotFillTheWindowWhileAnEarlierEventOfThisNodeIsStillWorkedOn() throws Exception {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer();
            enforcer.hold("c-0");
            f.sendEvent("e-0", "n1", "task-1", "c-0");
            for (int i = 0; i < 30; i++) {
                f.sendEvent("e-n2-" + i, "n2", "task-1", "c-n2-" + i);
            }
            f.start(f.settings("n1").concurrency(4).maxInFlight(5), enforcer, store);

            // offset 0 holds the commit back; another node's records behind it hold no work
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> f.counter("netfence.events.skipped", "reason", "other-node") == 30.0);
            assertThat(f.registry.get("netfence.partitions.paused").gauge().value()).isZero();
            assertThat(f.registry.get("netfence.inflight").gauge().value()).isEqualTo(1.0);

            enforcer.release("c-0");
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 1);
        }
    }

    @Test
    void skippedRecordsStillStopBeingTakenAtEightTimesTheWindowUncommitted() throws Exception {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer();
            enforcer.hold("c-0");
            f.sendEvent("e-0", "n1", "task-1", "c-0");
            for (int i = 0; i < 60; i++) {
                f.sendEvent("e-n2-" + i, "n2", "task-1", "c-n2-" + i);
            }
            f.start(f.settings("n1").concurrency(4).maxInFlight(5), enforcer, store);

            await().atMost(Duration.ofSeconds(60))
                    .until(() -> f.registry.get("netfence.partitions.paused").gauge().value() == 1.0);
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
                    .until(() -> f.counter("netfence.events.skipped", "reason", "other-node") == 39.0);

            enforcer.release("c-0");
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> f.counter("netfence.events.skipped", "reason", "other-node") == 60.0);
            assertThat(f.outcomes()).hasSize(1);
        }
    }

    @Test
    void aBacklogOfRecordsStillBeingWorkedOnDoesNotMakeEveryCompletionCommit() throws Exception {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer().delay(10);
            for (int i = 0; i < 400; i++) {
                f.sendEvent("e-" + i, "n1", "task-1", "c-" + (i % 40));
            }
            f.start(f.settings("n1").concurrency(4).maxInFlight(100).commitInterval(Duration.ofSeconds(30)),
                    enforcer, store);

            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 400);
            // 400 records, an early commit per 50 done (half the window), the timed one 30 s away:
            // about eight, however slow the machine; committing whenever 50 were outstanding, done
            // or not, sent one per completion that found no commit in flight (44 in a run here)
            assertThat(commits(f)).isBetween(1.0, 20.0);
        }
    }

    private static double commits(PipelineFixture f) {
        var c = f.registry.find("kafka.consumer.coordinator.commit.total").functionCounter();
        assertThat(c).as("the consumer's commit-total meter").isNotNull();
        return c.count();
    }
}
