package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * Helper 189 #1: in {@code node-partition} mode an operator deletes the events topic (a poison
 * backlog) and it is made again with fewer partitions. Before, the instance kept reading a
 * partition the new topic does not have, every later event of its node went to one it never read
 * (no outcome, {@code /readyz} 200), and its own consumer could make the topic again with the
 * broker's defaults the moment it was deleted. Now {@code /readyz} says so, while the topic is
 * missing and once it has fewer partitions (not acted on: a broker's lagging metadata gives the
 * same answer, review 191 #3), and the restart it asks for reads the node's partition of the new
 * topic.
 */
@KafkaLane
class NodePartitionRecreateTest {
    @Test
    void anEventsTopicDeletedAndMadeAgainWithFewerPartitionsIsReportedAndARestartReadsIt() throws Exception {
        String node = IntStream.range(0, 1000).mapToObj(i -> "remade-" + i)
                .filter(n -> NodeRouting.partitionFor(n, 3) != 0).findFirst().orElseThrow();
        try (PipelineFixture f = new PipelineFixture(3)) {
            EventPipeline first = f.start(f.settings(node).assignment(Assignment.NODE_PARTITION), new RecordingEnforcer(),
                    new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            f.sendEvent("e-before", node, "task-1", "c-1");
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomeEventIds().contains("e-before"));

            try (Admin admin = TestKafka.admin()) {
                admin.deleteTopics(List.of(f.events)).all().get(30, TimeUnit.SECONDS);
                await("the topic gone").atMost(Duration.ofSeconds(30))
                        .until(() -> !admin.listTopics().names().get(10, TimeUnit.SECONDS).contains(f.events));
                await("readiness says so").atMost(Duration.ofSeconds(60))
                        .until(() -> first.notReadyReason().orElse("").contains("missing from the broker's metadata"));
                assertThat(admin.listTopics().names().get(10, TimeUnit.SECONDS)).as("not made again by netfence")
                        .doesNotContain(f.events);
            }
            TestKafka.createLargeRecordTopic(f.events, 1);
            await("readiness says what is not followed").atMost(Duration.ofSeconds(60)).until(() -> first
                    .notReadyReason().orElse("").contains("has 1 partition(s), fewer than the 3 this instance reads by"));
            f.send(node, PipelineFixture.event("e-after", node, "task-1", "c-2"), 0); // where the node maps to now

            first.close(); // the restart the reason asks for
            EventPipeline second = f.start(f.settings(node).assignment(Assignment.NODE_PARTITION),
                    new RecordingEnforcer(), new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            await("the node's event in the new topic gets its outcome").atMost(Duration.ofSeconds(60))
                    .until(() -> f.outcomeEventIds().contains("e-after"));
            assertThat(second.assignment()).containsExactly(new TopicPartition(f.events, 0));
            await().atMost(Duration.ofSeconds(30)).until(second::ready);
        }
    }
}
