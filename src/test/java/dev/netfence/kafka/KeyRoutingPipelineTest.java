package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/**
 * In {@code --assignment group} every node reads every node's events, and the record key (the
 * contract: key = nodeId) decides first: a record keyed for another node is skipped without its
 * value being parsed, unless its bytes hold this node's id as a JSON string and its nodeId is this
 * node's (then this node enforces it: a key that names no node lost the event on every node); a
 * record keyed for this node that names another node is left to the node it names in group mode
 * and dead-lettered once, by the key's owner, in node-partition mode; a record without a key is
 * routed by the nodeId its value names.
 */
@KafkaLane
class KeyRoutingPipelineTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static double count(SimpleMeterRegistry registry, String name, String... tags) {
        Counter c = registry.find(name).tags(tags).counter();
        return c == null ? 0 : c.count();
    }

    private static void awaitCommitted(PipelineFixture f, String node, RecordMetadata last) {
        await().atMost(Duration.ofSeconds(60)).until(() -> f.committed(node, 1)
                .getOrDefault(new TopicPartition(f.events, 0), -1L) == last.offset() + 1);
    }

    @Test
    void aRecordKeyedForAnotherNodeIsSkippedWithoutItsValueBeingParsedUnlessItNamesThisNodeAndAKeylessOneByItsValue() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            RecordingEnforcer enforcer = new RecordingEnforcer();
            f.send("n2", utf8("not json, and not n1's to judge"));
            f.sendEvent("e-n2", "n2", "task-1", "c-n2");
            f.send("n2", PipelineFixture.event("e-keyed-n2-names-n1", "n1", "task-1", "c-keyed-n2"));
            f.send("c-keyed-by-container", PipelineFixture.event("e-keyed-c-names-n1", "n1", "task-1",
                    "c-keyed-by-container"));
            f.send(null, PipelineFixture.event("e-keyless-n1", "n1", "task-1", "c-keyless-n1"));
            f.send("", PipelineFixture.event("e-empty-key-n1", "n1", "task-1", "c-empty-key-n1"));
            f.send(null, PipelineFixture.event("e-keyless-n2", "n2", "task-1", "c-keyless-n2"));
            RecordMetadata last = f.sendEvent("e-n1", "n1", "task-1", "c-n1");

            f.start(f.settings("n1"), enforcer, new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));

            awaitCommitted(f, "n1", last);
            assertThat(f.outcomes()).extracting(Outcome::eventId)
                    .containsExactlyInAnyOrder("e-keyed-n2-names-n1", "e-keyed-c-names-n1", "e-keyless-n1",
                            "e-empty-key-n1", "e-n1");
            assertThat(enforcer.containers()).containsExactlyInAnyOrder("c-keyed-n2", "c-keyed-by-container",
                    "c-keyless-n1", "c-empty-key-n1", "c-n1");
            assertThat(f.deadLetters()).as("another node's garbage is not this node's to dead-letter").isEmpty();
            assertThat(f.counter("netfence.events.skipped", "reason", "other-node")).isEqualTo(3.0);
            assertThat(f.counter("netfence.events.consumed", "type", RecordRouter.UNPARSED))
                    .as("skipped by key, value never parsed").isEqualTo(2.0);
            assertThat(f.counter("netfence.events.consumed", "type", "malformed")).isZero();
            assertThat(f.counter("netfence.events.consumed", "type", "container.started"))
                    .as("five of n1's and the keyless one of n2, read to find its node").isEqualTo(6.0);
            assertThat(miskeyed(f.registry, "named")).as("keyed n2 and keyed by container id").isEqualTo(2.0);
        }
    }

    @Test
    void inGroupModeARecordKeyedForThisNodeThatNamesAnotherIsLeftToTheNodeItNamesWhichHandlesItOnce() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            TwoNodes nodes = TwoNodes.run(f, Assignment.GROUP);
            assertThat(f.deadLetters()).isEmpty();
            List<Outcome> outcomes = f.outcomes();
            assertThat(outcomes).extracting(Outcome::eventId).containsExactlyInAnyOrder("e-mis", "e-n2", "e-n1");
            Outcome mis = outcomes.stream().filter(o -> o.eventId().equals("e-mis")).findFirst().orElseThrow();
            assertThat(mis.status()).isEqualTo("applied");
            assertThat(mis.enforcer().instance()).isEqualTo(f.settings("n2").build().instance());
            assertThat(nodes.n1Enforcer.containers()).containsExactly("c-n1");
            assertThat(nodes.n2Enforcer.containers()).as("the node the value names applies it")
                    .containsExactlyInAnyOrder("c-n2", "c-mis");
            assertThat(miskeyed(nodes.n1Meters, "keyed")).isEqualTo(1.0);
            assertThat(miskeyed(nodes.n1Meters, "named")).isZero();
            assertThat(miskeyed(nodes.n2Meters, "named")).isEqualTo(1.0);
            assertThat(miskeyed(nodes.n2Meters, "keyed")).isZero();
            assertThat(count(nodes.n1Meters, "netfence.events.skipped", "reason", "other-node")).isEqualTo(2.0);
            assertThat(count(nodes.n2Meters, "netfence.events.skipped", "reason", "other-node")).isEqualTo(1.0);
        }
    }

    @Test
    void inNodePartitionModeARecordKeyedForThisNodeThatNamesAnotherIsDeadLetteredOnceByTheKeysOwner() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            // one partition: both nodes read it, and the node the value names skips the record by its key
            TwoNodes nodes = TwoNodes.run(f, Assignment.NODE_PARTITION);
            List<ConsumerRecord<byte[], byte[]>> dead = f.deadLetters();
            assertThat(dead).hasSize(1);
            ConsumerRecord<byte[], byte[]> d = dead.get(0);
            assertThat(header(d, "netfence.original.offset")).isEqualTo(Long.toString(nodes.misKeyed.offset()));
            assertThat(header(d, "netfence.error.code")).isEqualTo("INVALID_EVENT");
            assertThat(header(d, "netfence.error.message"))
                    .isEqualTo("record key names node n1 but the event's nodeId is n2");
            assertThat(header(d, "netfence.instance")).isEqualTo(f.settings("n1").build().instance());

            List<Outcome> outcomes = f.outcomes();
            assertThat(outcomes).extracting(Outcome::eventId).containsExactlyInAnyOrder("e-mis", "e-n2", "e-n1");
            Outcome failed = outcomes.stream().filter(o -> o.eventId().equals("e-mis")).findFirst().orElseThrow();
            assertThat(failed.status()).isEqualTo("failed");
            assertThat(failed.errorCode()).isEqualTo("INVALID_EVENT");
            assertThat(failed.containerId()).isEqualTo("c-mis");
            assertThat(nodes.n1Enforcer.containers()).containsExactly("c-n1");
            assertThat(nodes.n2Enforcer.containers()).as("the node the value names never reads the key's partition in"
                    + " general, and skips it by key here").containsExactly("c-n2");
            assertThat(miskeyed(nodes.n2Meters, "named")).isZero();
            assertThat(count(nodes.n2Meters, "netfence.events.skipped", "reason", "other-node")).isEqualTo(2.0);
            assertThat(count(nodes.n1Meters, "netfence.events.skipped", "reason", "other-node")).isEqualTo(1.0);
            assertThat(count(nodes.n1Meters, "netfence.dlq.records", "code", "INVALID_EVENT")).isEqualTo(1.0);
            assertThat(count(nodes.n1Meters, "netfence.events.consumed", "type", "invalid")).isEqualTo(1.0);
        }
    }

    /**
     * Nodes n1 and n2, each with its own enforcer and meters over one store, started on a topic
     * holding a record keyed n1 whose value names n2 ({@link #misKeyed}) and one event of each node,
     * until both committed all three.
     */
    private static final class TwoNodes {
        final RecordingEnforcer n1Enforcer = new RecordingEnforcer();
        final RecordingEnforcer n2Enforcer = new RecordingEnforcer();
        final SimpleMeterRegistry n1Meters = new SimpleMeterRegistry();
        final SimpleMeterRegistry n2Meters = new SimpleMeterRegistry();
        RecordMetadata misKeyed;

        static TwoNodes run(PipelineFixture f, Assignment assignment) {
            TwoNodes nodes = new TwoNodes();
            nodes.misKeyed = f.send("n1", PipelineFixture.event("e-mis", "n2", "task-1", "c-mis"));
            f.sendEvent("e-n2", "n2", "task-1", "c-n2");
            RecordMetadata last = f.sendEvent("e-n1", "n1", "task-1", "c-n1");
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            f.start(f.settings("n1").assignment(assignment), nodes.n1Enforcer, store, nodes.n1Meters);
            f.start(f.settings("n2").assignment(assignment), nodes.n2Enforcer, store, nodes.n2Meters);
            awaitCommitted(f, "n1", last);
            awaitCommitted(f, "n2", last);
            return nodes;
        }
    }

    private static double miskeyed(SimpleMeterRegistry registry, String side) {
        return registry.get("netfence.events.miskeyed").tag("side", side).functionCounter().count();
    }
}
