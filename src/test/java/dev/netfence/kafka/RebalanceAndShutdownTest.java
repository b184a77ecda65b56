package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

@KafkaLane
class RebalanceAndShutdownTest {
    @Test
    void aSecondInstanceJoiningMidStreamLosesNoEvent() {
        int partitions = 4;
        try (PipelineFixture f = new PipelineFixture(partitions)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            Set<String> ids = new HashSet<>();
            for (int i = 0; i < 300; i++) {
                f.send("n1", PipelineFixture.event("e-" + i, "n1", "task-1", "c-" + (i % 40)), i % partitions);
                ids.add("e-" + i);
            }
            RecordingEnforcer first = new RecordingEnforcer().delay(15);
            RecordingEnforcer second = new RecordingEnforcer().delay(15);
            // two instances of one node sharing its partitions on purpose: each has its own static membership id
            EventPipeline a = f.start(f.settings("n1").concurrency(4).maxInFlight(100)
                    .kafka(f.kafka(Map.of("group.instance.id", "n1-a"))), first, store);
            await().atMost(Duration.ofSeconds(60)).until(() -> first.calls() >= 40);
            EventPipeline b = f.start(f.settings("n1").concurrency(4).maxInFlight(100)
                    .kafka(f.kafka(Map.of("group.instance.id", "n1-b"))), second, store);
            await().atMost(Duration.ofSeconds(60)).until(() -> !b.assignment().isEmpty());
            // More events after the split, on every partition: some land on b's partitions, so b must
            // work even if a finished the first batch before b joined.
            for (int i = 300; i < 400; i++) {
                f.send("n1", PipelineFixture.event("e-" + i, "n1", "task-1", "c-" + (i % 40)), i % partitions);
                ids.add("e-" + i);
            }

            await().atMost(Duration.ofSeconds(120)).until(() -> f.outcomeEventIds().containsAll(ids));
            assertThat(second.calls()).isPositive();
            assertThat(a.assignment()).doesNotContainAnyElementsOf(b.assignment());
            await().atMost(Duration.ofSeconds(30)).until(() -> f.committed("n1", partitions).values().stream()
                    .mapToLong(Long::longValue).sum() == 400);
        }
    }

    @Test
    void closingDrainsInFlightWorkCommitsAndLeavesNothingCommittedWithoutAnOutcome() throws Exception {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer().delay(30);
            for (int i = 0; i < 200; i++) {
                f.sendEvent("e-" + i, "n1", "task-1", "c-" + (i % 3));
            }
            EventPipeline p = f.start(f.settings("n1").concurrency(3).maxInFlight(1000), enforcer, store);
            await().atMost(Duration.ofSeconds(60)).until(() -> enforcer.calls() >= 20);
            p.close();
            assertThat(p.awaitTermination(Duration.ofSeconds(30))).isTrue();
            assertThat(p.ready()).isFalse();

            long committed = f.committed("n1", 1).getOrDefault(new TopicPartition(f.events, 0), 0L);
            assertThat(committed).isPositive();
            Map<Long, String> eventIdAt = TestEvents.eventIdsByOffset(f);
            Set<String> withOutcome = f.outcomes().stream().map(Outcome::eventId).collect(Collectors.toSet());
            for (long o = 0; o < committed; o++) {
                assertThat(withOutcome).contains(eventIdAt.get(o));
            }
            // everything that was started got finished and published before close returned
            assertThat(withOutcome).hasSize(enforcer.calls());
        }
    }

    /** Reads the events topic back to map offsets to eventIds. */
    static final class TestEvents {
        static Map<Long, String> eventIdsByOffset(PipelineFixture f) {
            List<ConsumerRecord<byte[], byte[]>> all = dev.netfence.kafka.testkit.TestKafka.readAll(f.events);
            return all.stream().collect(Collectors.toMap(ConsumerRecord::offset, r -> {
                String s = new String(r.value(), java.nio.charset.StandardCharsets.UTF_8);
                int i = s.indexOf("\"eventId\":\"") + 11;
                return s.substring(i, s.indexOf('"', i));
            }));
        }
    }
}
