package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

@KafkaLane
class PoisonRecordsTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    @Test
    void everyPoisonRecordLandsWhereItShouldAndEveryGoodEventStillGetsItsOutcome() throws Exception {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer();
            byte[] badUtf8 = PipelineFixture.event("bad-utf8", "n1", "task-1", "c-x");
            badUtf8[30] = (byte) 0xFF;
            String big = new String(PipelineFixture.event("big", "n1", "task-1", "c-big"), StandardCharsets.UTF_8)
                    .replace("}", ",\"pad\":\"" + "p".repeat(1024 * 1024) + "\"}");

            f.sendEvent("good-1", "n1", "task-1", "c-1");
            RecordMetadata notJson = f.send("n1", utf8("this is not json"));
            f.sendEvent("good-2", "n1", "task-1", "c-2");
            RecordMetadata wrongTypes = f.send("n1", utf8("{\"schemaVersion\":1,\"type\":\"container.started\","
                    + "\"eventId\":\"wt\",\"occurredAt\":\"2026-11-28T15:00:00Z\",\"nodeId\":\"n1\",\"taskId\":\"t\","
                    + "\"containerId\":\"c-wt\",\"pid\":\"4242\"}"));
            RecordMetadata tooBig = f.send("n1", utf8(big));
            // a number beyond a double's range: its type check threw on the poll thread, every round, forever
            RecordMetadata outOfRange = f.send("n1", utf8(new String(PipelineFixture.event("oor", "n1", "task-1", "c-oor"),
                    StandardCharsets.UTF_8).replace("\"pid\":4242", "\"pid\":1e400")));
            RecordMetadata utf = f.send("n1", badUtf8);
            RecordMetadata invalidWithId = f.send("n1", utf8(new String(
                    PipelineFixture.event("inv-1", "n1", "task-1", "c-inv"), StandardCharsets.UTF_8)
                    .replace("\"pid\":4242", "\"pid\":1")));
            RecordMetadata invalidWithoutId = f.send("n1", utf8("{\"schemaVersion\":1,\"type\":\"container.started\","
                    + "\"eventId\":\"inv-2\",\"occurredAt\":\"2026-11-28T15:00:00Z\",\"nodeId\":\"n1\",\"taskId\":\"t\"}"));
            f.send("n1", utf8("{\"schemaVersion\":1,\"type\":\"container.paused\",\"nodeId\":\"n1\"}"));
            f.sendEvent("other-node", "n2", "task-1", "c-other");
            RecordMetadata last = f.sendEvent("good-3", "n1", "task-1", "c-3");

            f.start(f.settings("n1"), enforcer, store);

            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() >= 4 && f.deadLetters().size() >= 7);
            List<Outcome> outcomes = f.outcomes();
            assertThat(outcomes).extracting(Outcome::eventId).containsExactlyInAnyOrder("good-1", "good-2", "good-3", "inv-1");
            Outcome invalid = outcomes.stream().filter(o -> o.eventId().equals("inv-1")).findFirst().orElseThrow();
            assertThat(invalid.status()).isEqualTo("failed");
            assertThat(invalid.containerId()).isEqualTo("c-inv");
            assertThat(invalid.errorCode()).isEqualTo("INVALID_EVENT");
            assertThat(outcomes.stream().filter(o -> o.eventId().startsWith("good")))
                    .allSatisfy(o -> assertThat(o.status()).isEqualTo("applied"));
            assertThat(enforcer.containers()).containsExactlyInAnyOrder("c-1", "c-2", "c-3");

            Map<Long, ConsumerRecord<byte[], byte[]>> dead = f.deadLetters().stream().collect(Collectors.toMap(
                    r -> Long.parseLong(header(r, "netfence.original.offset")), r -> r));
            assertThat(dead.keySet()).containsExactlyInAnyOrder(notJson.offset(), wrongTypes.offset(), tooBig.offset(),
                    outOfRange.offset(), utf.offset(), invalidWithId.offset(), invalidWithoutId.offset());
            assertThat(header(dead.get(outOfRange.offset()), "netfence.error.code")).isEqualTo("MALFORMED_EVENT");
            assertThat(header(dead.get(outOfRange.offset()), "netfence.error.message")).contains("pid");
            assertThat(header(dead.get(notJson.offset()), "netfence.error.code")).isEqualTo("MALFORMED_EVENT");
            assertThat(header(dead.get(wrongTypes.offset()), "netfence.error.code")).isEqualTo("MALFORMED_EVENT");
            assertThat(header(dead.get(tooBig.offset()), "netfence.error.code")).isEqualTo("MALFORMED_EVENT");
            assertThat(header(dead.get(utf.offset()), "netfence.error.code")).isEqualTo("MALFORMED_EVENT");
            assertThat(header(dead.get(invalidWithId.offset()), "netfence.error.code")).isEqualTo("INVALID_EVENT");
            assertThat(header(dead.get(invalidWithoutId.offset()), "netfence.error.code")).isEqualTo("INVALID_EVENT");
            ConsumerRecord<byte[], byte[]> d = dead.get(notJson.offset());
            assertThat(d.value()).isEqualTo(utf8("this is not json"));
            assertThat(new String(d.key(), StandardCharsets.UTF_8)).isEqualTo("n1");
            assertThat(header(d, "netfence.original.topic")).isEqualTo(f.events);
            assertThat(header(d, "netfence.original.partition")).isEqualTo("0");
            assertThat(header(d, "netfence.original.timestamp")).isEqualTo(Long.toString(notJson.timestamp()));
            assertThat(header(d, "netfence.error.message")).startsWith("value is not JSON");
            assertThat(header(d, "netfence.error.class")).isNotBlank();
            assertThat(header(d, "netfence.instance")).isEqualTo(f.settings("n1").build().instance());
            assertThat(header(dead.get(tooBig.offset()), "netfence.original.size")).isEqualTo(
                    Integer.toString(utf8(big).length));
            assertThat(dead.get(tooBig.offset()).value()).isNull();
            assertThat(header(dead.get(utf.offset()), "netfence.error.message")).contains("UTF-8");
            assertThat(header(dead.get(wrongTypes.offset()), "netfence.error.message")).contains("pid");

            ConsumerRecord<byte[], byte[]> good = f.outcomeRecords().stream()
                    .filter(r -> "good-1".equals(header(r, "eventId"))).findFirst().orElseThrow();
            assertThat(header(good, "status")).isEqualTo("applied");
            assertThat(header(good, "nodeId")).isEqualTo("n1");
            assertThat(new String(good.key(), StandardCharsets.UTF_8)).isEqualTo("c-1");

            await().atMost(Duration.ofSeconds(30)).until(() ->
                    f.committed("n1", 1).getOrDefault(new TopicPartition(f.events, 0), -1L) == last.offset() + 1);
            assertThat(f.counter("netfence.events.skipped", "reason", "unknown-type")).isEqualTo(1.0);
            assertThat(f.counter("netfence.events.skipped", "reason", "other-node")).isEqualTo(1.0);
            assertThat(f.counter("netfence.dlq.records", "code", "MALFORMED_EVENT")).isEqualTo(5.0);
            assertThat(f.counter("netfence.dlq.records", "code", "INVALID_EVENT")).isEqualTo(2.0);
            assertThat(f.counter("netfence.outcomes", "status", "applied", "code", "none")).isEqualTo(3.0);
            assertThat(f.counter("netfence.events.consumed", "type", "malformed")).isEqualTo(5.0);
            assertThat(f.registry.find("netfence.event.latency").timer().count()).isEqualTo(3);
        }
    }

    @Test
    void noOffsetIsCommittedPastAnEventWhoseOutcomeIsNotYetAcknowledged() throws Exception {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer();
            enforcer.hold("c-slow");
            f.sendEvent("e-0", "n1", "task-1", "c-0");
            RecordMetadata slow = f.sendEvent("e-slow", "n1", "task-1", "c-slow");
            f.send("n1", utf8("not json either"));
            for (int i = 1; i <= 20; i++) {
                f.sendEvent("e-" + i, "n1", "task-1", "c-" + i);
            }
            RecordMetadata last = f.sendEvent("e-last", "n1", "task-1", "c-last");
            f.start(f.settings("n1"), enforcer, store);

            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 22);
            TopicPartition tp = new TopicPartition(f.events, 0);
            await().atMost(Duration.ofSeconds(30)).until(() -> f.committed("n1", 1).getOrDefault(tp, -1L) == slow.offset());
            for (int check = 0; check < 5; check++) {
                Thread.sleep(200);
                assertThat(f.committed("n1", 1).get(tp)).isEqualTo(slow.offset());
            }
            assertThat(f.outcomeEventIds()).doesNotContain("e-slow");

            enforcer.release("c-slow");
            await().atMost(Duration.ofSeconds(30)).until(() -> f.committed("n1", 1).getOrDefault(tp, -1L) == last.offset() + 1);
            assertThat(f.outcomeEventIds()).contains("e-slow");
        }
    }
}
