package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 item 3: in {@code node-partition} mode the events topic grows from 2 to 4 partitions
 * under a running instance. The node's next event lands on the partition its key maps to now
 * (today's main never read it: no outcome, no metric, ready); a producer with stale metadata
 * still writes to the old one, which is kept until drained.
 */
@KafkaLane
class NodePartitionGrowthTest {
    @Test
    void whenTheEventsTopicGrowsTheNodeReadsItsNewPartitionAndDrainsTheOldOne() throws Exception {
        String node = IntStream.range(0, 1000).mapToObj(i -> "grow-" + i)
                .filter(n -> NodeRouting.partitionFor(n, 2) != NodeRouting.partitionFor(n, 4)).findFirst().orElseThrow();
        int before = NodeRouting.partitionFor(node, 2);
        int after = NodeRouting.partitionFor(node, 4);
        try (PipelineFixture f = new PipelineFixture(2)) {
            EventPipeline p = f.start(f.settings(node).assignment(Assignment.NODE_PARTITION), new RecordingEnforcer(),
                    new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            assertThat(f.sendEvent("e-before", node, "task-1", "c-1").partition()).isEqualTo(before);
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomeEventIds().contains("e-before"));

            try (Admin admin = TestKafka.admin()) {
                admin.createPartitions(Map.of(f.events, NewPartitions.increaseTo(4))).all().get(30, TimeUnit.SECONDS);
            }
            // a producer that has seen the new partition count, and one that has not yet
            f.send(node, PipelineFixture.event("e-after", node, "task-1", "c-2"), after);
            f.send(node, PipelineFixture.event("e-stale", node, "task-1", "c-3"), before);

            await("the events of both partitions get outcomes").atMost(Duration.ofSeconds(60))
                    .until(() -> f.outcomeEventIds().containsAll(java.util.List.of("e-after", "e-stale")));
            assertThat(p.assignment()).containsExactlyInAnyOrder(new TopicPartition(f.events, before),
                    new TopicPartition(f.events, after));
            await().atMost(Duration.ofSeconds(30)).until(() -> f.committed(node, 4).getOrDefault(
                    new TopicPartition(f.events, after), 0L) == 1L);
            await().atMost(Duration.ofSeconds(30)).until(p::ready);
        }
    }

    @Test
    void anInstanceStartedSoonAfterTheTopicGrewStillReadsTheDrainedOldPartitionForTheGrace() throws Exception {
        String node = IntStream.range(0, 1000).mapToObj(i -> "regrow-" + i)
                .filter(n -> NodeRouting.partitionFor(n, 2) != NodeRouting.partitionFor(n, 4)).findFirst().orElseThrow();
        int before = NodeRouting.partitionFor(node, 2);
        try (PipelineFixture f = new PipelineFixture(2)) {
            EventPipeline first = f.start(f.settings(node).assignment(Assignment.NODE_PARTITION), new RecordingEnforcer(),
                    new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            f.sendEvent("e-before", node, "task-1", "c-1");
            await().atMost(Duration.ofSeconds(60)).until(() -> f.committed(node, 2).getOrDefault(
                    new TopicPartition(f.events, before), 0L) == 1L);
            first.close();
            try (Admin admin = TestKafka.admin()) {
                admin.createPartitions(Map.of(f.events, NewPartitions.increaseTo(4))).all().get(30, TimeUnit.SECONDS);
            }

            // restarted (or its clients made again) with the old partition drained and committed: a
            // producer with stale metadata still writes there for minutes
            EventPipeline second = f.start(f.settings(node).assignment(Assignment.NODE_PARTITION), new RecordingEnforcer(),
                    new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            await().atMost(Duration.ofSeconds(30)).until(second::ready);
            f.send(node, PipelineFixture.event("e-stale", node, "task-1", "c-3"), before);

            await("the stale producer's event gets its outcome").atMost(Duration.ofSeconds(60))
                    .until(() -> f.outcomeEventIds().contains("e-stale"));
            assertThat(second.assignment()).contains(new TopicPartition(f.events, before));
        }
    }
}
