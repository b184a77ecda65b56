package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * Two exactly-once instances of one node in {@code group} mode (a rolling deploy), against the real
 * broker (issue 11 item 8). With one {@code transactional.id} per node they fenced each other in a
 * loop, each recreating its clients and re-joining the group; with one id per instance and zombie
 * fencing through the group generation (KIP-447) they share the partitions, both keep them, and
 * every event gets exactly one committed outcome.
 */
@KafkaLane
class ExactlyOnceInstancesTest {
    @Test
    void twoExactlyOnceInstancesOfOneNodeShareThePartitionsWithoutFencingEachOther() throws Exception {
        String node = "twin-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        try (PipelineFixture f = new PipelineFixture(2)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            // instances meant to run side by side, each with its own static membership id
            EventPipeline a = f.start(f.settings(node).exactlyOnce(true).instance(node + "/a")
                    .kafka(f.kafka(Map.of("group.instance.id", node + "-a"))), new RecordingEnforcer(), store);
            await().atMost(Duration.ofSeconds(60)).until(() -> a.assignment().size() == 2);
            EventPipeline b = f.start(f.settings(node).exactlyOnce(true).instance(node + "/b")
                    .kafka(f.kafka(Map.of("group.instance.id", node + "-b"))), new RecordingEnforcer(), store);
            await().atMost(Duration.ofSeconds(60)).until(() -> a.assignment().size() == 1 && b.assignment().size() == 1);

            List<String> ids = new ArrayList<>();
            List<String> lostAssignment = new ArrayList<>();
            for (int round = 0; round < 20; round++) {
                for (int p = 0; p < 2; p++) {
                    String id = "ev-" + round + "-" + p;
                    f.send(node, PipelineFixture.event(id, node, "task-1", "c-" + round + "-" + p), p);
                    ids.add(id);
                }
                Thread.sleep(400);
                if (a.assignment().isEmpty() || b.assignment().isEmpty()) {
                    lostAssignment.add("round " + round + ": a=" + a.assignment() + " b=" + b.assignment());
                }
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> RefusedOutputsTest.committedOutcomes(f).keySet()
                    .containsAll(ids));
            Map<String, Long> perEvent = RefusedOutputsTest.committedOutcomes(f);
            assertThat(perEvent).hasSize(ids.size()).allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1L));
            assertThat(lostAssignment).as("an instance fenced and re-joining loses its partitions").isEmpty();
            Set<TopicPartition> both = new java.util.HashSet<>(a.assignment());
            both.addAll(b.assignment());
            assertThat(both).hasSize(2);
            assertThat(f.registry.find("netfence.transactions.aborted").counters().stream()
                    .collect(Collectors.summingDouble(c -> c.count()))).isZero();
        }
    }
}
