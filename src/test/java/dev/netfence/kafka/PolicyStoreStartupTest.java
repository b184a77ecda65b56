package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.ParsingPolicyDecoder;
import dev.netfence.policy.store.TopicPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 item 2: a service that starts with a large policy topic must not enforce any event
 * before its policy store has read to the end offsets it saw at start. Many stored policies,
 * parsed and validated by the production decoder, make the store's first read take seconds; the
 * events' policy is the last one written and the policy wait is short, so an event taken before
 * the store caught up ends in POLICY_NOT_FOUND (what today's main did, 3 s before the store
 * reported caught up).
 */
@KafkaLane
class PolicyStoreStartupTest {
    private static final int STORED_POLICIES = 60_000;
    private static final byte[] POLICY = ("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
            + "[\"198.18.0.10:443\",\"[2001:db8::10]:443\",\"198.18.0.11:53/udp\"],\"blockedSubnets\":"
            + "[\"198.18.2.0/24\"],\"dns\":true,\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8);

    @Test
    void noEventIsEnforcedBeforeThePolicyStoreHasReadEveryStoredPolicy() throws Exception {
        String policies = TestKafka.uniqueTopic("policies");
        TestKafka.createCompactedTopic(policies, 1);
        try (KafkaProducer<byte[], byte[]> p = TestKafka.producer()) {
            for (int i = 0; i < STORED_POLICIES; i++) {
                p.send(new ProducerRecord<>(policies, ("task-" + i).getBytes(StandardCharsets.UTF_8),
                        POLICY));
            }
            p.send(new ProducerRecord<>(policies, "task-last".getBytes(StandardCharsets.UTF_8), POLICY))
                    .get(60, TimeUnit.SECONDS);
        }
        try (PipelineFixture f = new PipelineFixture(1)) {
            for (int i = 0; i < 5; i++) {
                f.sendEvent("e-" + i, "n1", "task-last", "c-" + i);
            }
            RecordingEnforcer enforcer = new RecordingEnforcer();
            try (TopicPolicyStore store = TopicPolicyStore.start(
                    Map.of("bootstrap.servers", TestKafka.bootstrapServers()), policies, new ParsingPolicyDecoder())) {
                EventPipeline pipeline = f.start(f.settings("n1").assignment(Assignment.NODE_PARTITION)
                        .policyWait(Duration.ofMillis(1)).shutdownTimeout(Duration.ofSeconds(10)),
                        enforcer, store);
                await().atMost(Duration.ofSeconds(90)).until(() -> f.outcomes().size() >= 5);
                List<Outcome> outcomes = f.outcomes();
                assertThat(outcomes).as("outcomes of events whose policy was stored before the service started")
                        .allSatisfy(o -> assertThat(o.status()).as(o.eventId() + ": " + o.error()).isEqualTo("applied"));
                assertThat(enforcer.appliedTo("c-0")).hasSize(1);
                assertThat(store.size()).isEqualTo(STORED_POLICIES + 1);
                await().atMost(Duration.ofSeconds(30)).until(pipeline::ready);
            }
        }
    }
}
