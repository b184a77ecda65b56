package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.enforce.DefaultEnforcer;
import dev.netfence.enforce.EnforcerConfig;
import dev.netfence.event.Outcome;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.store.ParsingPolicyDecoder;
import dev.netfence.policy.store.TopicPolicyStore;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNetExtension;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole flow with nothing faked: container events and policies on the real broker, the
 * pipeline with the real {@link DefaultEnforcer}, rules written by nsenter + iptables-restore
 * into a namespace the test created, and real connections from the "container" (IPv4 and IPv6)
 * proving that what the outcome says was applied is what the kernel enforces.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class KernelPipelineTest {
    private static final int FIRST = 8443;
    private static final int SECOND = 8444;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening(FIRST, SECOND);

    @Test
    void aContainerEventOnKafkaEndsWithItsPolicyEnforcedAndAnAppliedOutcome() throws Exception {
        SANDBOX.net().resetRules();
        try (PipelineFixture kafka = new PipelineFixture(2);
                KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            String policies = TestKafka.uniqueTopic("policies");
            TestKafka.createCompactedTopic(policies, 1);
            put(producer, policies, "task-e2e", allowOnly(FIRST));
            DefaultEnforcer enforcer = enforcer(kafka);
            try (TopicPolicyStore store = TopicPolicyStore.start(kafkaProps(), policies, new ParsingPolicyDecoder())) {
                kafka.start(kafka.settings("node-e2e"), enforcer, store);

                kafka.send("node-e2e", event("ev-1", "node-e2e", "task-e2e", "c-e2e"));
                Outcome outcome = awaitOutcome(kafka, "ev-1");

                assertThat(outcome.status()).isEqualTo("applied");
                assertThat(outcome.families()).containsExactly("ipv4", "ipv6");
                assertThat(outcome.error()).isNull();
                assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("OK");
                assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), FIRST)).isEqualTo("OK");
                assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("REFUSED");
                assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), SECOND)).isEqualTo("REFUSED");
            }
        }
    }

    @Test
    void aMalformedRecordGoesToTheDlqAndTheNextPolicyChangeStillLandsInTheNamespace() throws Exception {
        SANDBOX.net().resetRules();
        try (PipelineFixture kafka = new PipelineFixture(1);
                KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            String policies = TestKafka.uniqueTopic("policies");
            TestKafka.createCompactedTopic(policies, 1);
            put(producer, policies, "task-a", allowOnly(FIRST));
            put(producer, policies, "task-b", allowOnly(SECOND));
            DefaultEnforcer enforcer = enforcer(kafka);
            try (TopicPolicyStore store = TopicPolicyStore.start(kafkaProps(), policies, new ParsingPolicyDecoder())) {
                kafka.start(kafka.settings("node-x"), enforcer, store);

                kafka.send("node-x", event("ev-a", "node-x", "task-a", "c-x"));
                kafka.send("node-x", "{not json".getBytes(StandardCharsets.UTF_8));
                kafka.send("node-x", event("ev-b", "node-x", "task-b", "c-x"));

                assertThat(awaitOutcome(kafka, "ev-a").status()).isEqualTo("applied");
                assertThat(awaitOutcome(kafka, "ev-b").status()).isEqualTo("applied");
                await().atMost(Duration.ofSeconds(30)).until(() -> kafka.deadLetters().size() == 1);
                assertThat(new String(kafka.deadLetters().get(0).headers().lastHeader("netfence.error.code").value(),
                        StandardCharsets.UTF_8)).isEqualTo("MALFORMED_EVENT");
                // The later event's policy (task-b: only SECOND) is the one in force, in both families.
                assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
                assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), SECOND)).isEqualTo("OK");
                assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("REFUSED");
                assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), FIRST)).isEqualTo("REFUSED");
            }
        }
    }

    private static DefaultEnforcer enforcer(PipelineFixture kafka) {
        // The test's "container" is a plain process: its cgroup cannot name a container id.
        return new DefaultEnforcer(EnforcerConfig.custom().cgroupCheck(false).build(), new ProcessCommandRunner(),
                Clock.systemUTC(), kafka.registry);
    }

    private static Map<String, Object> kafkaProps() {
        return Map.of("bootstrap.servers", TestKafka.bootstrapServers());
    }

    private static String allowOnly(int port) {
        return "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + SANDBOX.net().peerV4() + ":" + port
                + "\",\"[" + SANDBOX.net().peerV6() + "]:" + port + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
    }

    private static void put(KafkaProducer<byte[], byte[]> producer, String topic, String task, String json)
            throws Exception {
        producer.send(new ProducerRecord<>(topic, task.getBytes(StandardCharsets.UTF_8),
                json.getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
    }

    private static byte[] event(String eventId, String node, String task, String container) {
        return ("{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"" + eventId
                + "\",\"occurredAt\":\"" + Instant.now() + "\",\"nodeId\":\"" + node + "\",\"taskId\":\"" + task
                + "\",\"containerId\":\"" + container + "\",\"pid\":" + SANDBOX.net().containerPid() + "}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static Outcome awaitOutcome(PipelineFixture kafka, String eventId) {
        return await().atMost(Duration.ofSeconds(60)).until(
                () -> kafka.outcomes().stream().filter(o -> o.eventId().equals(eventId)).findFirst().orElse(null),
                o -> o != null);
    }
}
