package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

@KafkaLane
class NodeRoutingPipelineTest {
    private static final String[] NODES = {"n1", "n2", "n3", "n4", "worker-7", "worker-8"};

    private static void publish(PipelineFixture f) {
        for (String node : NODES) {
            for (int i = 0; i < 5; i++) {
                f.sendEvent(node + "-e" + i, node, "task-1", node + "-c" + i);
            }
        }
    }

    @Test
    void inGroupModeANodeAppliesOnlyItsOwnEventsAndSkipsTheRest() {
        try (PipelineFixture f = new PipelineFixture(3)) {
            RecordingEnforcer enforcer = new RecordingEnforcer();
            publish(f);
            f.start(f.settings("worker-7"), enforcer, new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));

            await().atMost(Duration.ofSeconds(60))
                    .until(() -> f.counter("netfence.events.skipped", "reason", "other-node") == 25);
            await().atMost(Duration.ofSeconds(30)).until(() -> f.outcomes().size() == 5);
            assertThat(f.outcomes()).allSatisfy(o -> assertThat(o.nodeId()).isEqualTo("worker-7"));
            assertThat(enforcer.containers()).allSatisfy(c -> assertThat(c).startsWith("worker-7-"));
            assertThat(enforcer.calls()).isEqualTo(5);
        }
    }

    @Test
    void inNodePartitionModeANodeIsAssignedOnlyThePartitionItsKeyMapsTo() {
        int partitions = 4;
        try (PipelineFixture f = new PipelineFixture(partitions)) {
            RecordingEnforcer enforcer = new RecordingEnforcer();
            publish(f);
            RecordMetadata keyed = f.sendEvent("probe", "n3", "task-1", "n3-probe");
            int mine = NodeRouting.partitionFor("n3", partitions);
            assertThat(keyed.partition()).isEqualTo(mine);

            EventPipeline p = f.start(f.settings("n3").assignment(Assignment.NODE_PARTITION), enforcer,
                    new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 6);
            assertThat(p.assignment()).containsExactly(new TopicPartition(f.events, mine));
            Set<String> nodes = f.outcomes().stream().map(Outcome::nodeId).collect(Collectors.toSet());
            assertThat(nodes).containsExactly("n3");
            assertThat(enforcer.calls()).isEqualTo(6);
            await().atMost(Duration.ofSeconds(30)).until(p::ready);
        }
    }

    @Test
    void theStarNodeHandlesEveryNodesEvents() {
        try (PipelineFixture f = new PipelineFixture(2)) {
            RecordingEnforcer enforcer = new RecordingEnforcer();
            publish(f);
            f.start(f.settings("*"), enforcer, new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 30);
            assertThat(enforcer.calls()).isEqualTo(30);
        }
    }
}
