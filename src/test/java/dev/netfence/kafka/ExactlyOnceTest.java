package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

@KafkaLane
class ExactlyOnceTest {
    private static List<ConsumerRecord<byte[], byte[]>> readCommitted(String topic) {
        try (KafkaConsumer<byte[], byte[]> c = TestKafka.reader(true)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            List<ConsumerRecord<byte[], byte[]>> out = new java.util.ArrayList<>();
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (c.position(tp) < end && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            return out;
        }
    }

    @Test
    void inExactlyOnceModeEachEventHasExactlyOneCommittedOutcomeAndOffsetsMoveWithThem() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer();
            for (int i = 0; i < 60; i++) {
                f.sendEvent("e-" + i, "n1", "task-1", "c-" + (i % 7));
                if (i % 20 == 0) {
                    f.send("n1", "garbage".getBytes(StandardCharsets.UTF_8));
                }
            }
            EventPipeline p = f.start(f.settings("n1").exactlyOnce(true), enforcer, store);
            OutcomeCodec codec = new OutcomeCodec();
            await().atMost(Duration.ofSeconds(60)).until(() -> readCommitted(f.outcomesTopic).size() >= 60);
            Map<String, Long> perEvent = readCommitted(f.outcomesTopic).stream()
                    .map(r -> codec.decode(r.value())).collect(Collectors.groupingBy(Outcome::eventId, Collectors.counting()));
            assertThat(perEvent).hasSize(60).allSatisfy((id, n) -> assertThat(n).isEqualTo(1L));
            assertThat(readCommitted(f.dlq)).hasSize(3);
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    f.committed("n1", 1).getOrDefault(new TopicPartition(f.events, 0), 0L) == 63L);
            p.close();
            assertThat(f.counter("netfence.dlq.records", "code", "MALFORMED_EVENT")).isEqualTo(3.0);
        }
    }
}
