package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 item 7, the unsafe case of static membership: a second instance of one node starting
 * with the same default {@code group.instance.id} (a rolling update with surge) fences the first.
 * The first stops consuming for good, stays alive and reports why it is not ready (restarting or
 * re-joining would fence the second in turn, in a loop); the second takes every partition and
 * every event gets its outcome.
 */
class StaticMembershipTest {
    @Test
    void aSecondInstanceWithTheSameStaticIdFencesTheFirstWhichStaysDownInsteadOfFightingBack() {
        String node = "surge-" + UUID.randomUUID().toString().substring(0, 8);
        try (PipelineFixture f = new PipelineFixture(2)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            EventPipeline older = f.start(f.settings(node), new RecordingEnforcer(), store);
            await().atMost(Duration.ofSeconds(60)).until(() -> older.assignment().size() == 2);
            RecordingEnforcer newerEnforcer = new RecordingEnforcer();
            EventPipeline newer = f.start(f.settings(node), newerEnforcer, store);

            await("the older instance is fenced").atMost(Duration.ofSeconds(60))
                    .until(() -> older.notReadyReason().orElse("").startsWith("fenced"));
            assertThat(older.notReadyReason()).get().asString().contains("group.instance.id netfence-" + node);
            assertThat(older.alive()).as("liveness stays up: a restart would fence the newer one").isTrue();
            await().atMost(Duration.ofSeconds(60)).until(() -> newer.assignment().size() == 2);

            Set<String> ids = new HashSet<>();
            for (int i = 0; i < 10; i++) {
                f.send(node, PipelineFixture.event("e-" + i, node, "task-1", "c-" + i), i % 2);
                ids.add("e-" + i);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomeEventIds().containsAll(ids));
            assertThat(newerEnforcer.calls()).isEqualTo(10);
            assertThat(older.assignment()).isEmpty();
            assertThat(newer.assignment()).hasSize(2);
            assertThat(older.notReadyReason()).get().asString().startsWith("fenced");
        }
    }
}
