package dev.netfence.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.cli.RunConfigs;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.OciHooks;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A pod member the OCI hook let join without an event of its own, against real podman
 * containers ({@code --hooks-dir}, {@code --network container:}). One with the runtime's default
 * capabilities changes nothing. One holding CAP_NET_ADMIN over the pod's namespace can flush the
 * rules its pod shares: with {@code --refuse-capabilities
 * NET_ADMIN} the applied member is refused and quarantined (UNSAFE_CAPABILITIES, naming the joiner)
 * at the resync after the joiner's capabilities were read, and cannot reach its allowed endpoint,
 * once, without an outcome or a repair at every resync after; when the joiner is gone its policy
 * is in force again.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class PodJoinerRisksPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private final OutcomeCodec codec = new OutcomeCodec();
    private final String node = "joiner-" + UUID.randomUUID().toString().substring(0, 8);
    private final String annotation = "joiner-" + UUID.randomUUID().toString().substring(0, 8);
    private final String events = TestKafka.uniqueTopic("joiner-events");
    private final String outcomes = events + ".outcomes";
    private final String policies = TestKafka.uniqueTopic("joiner-policies");
    private final Path dir = TestKafka.tempDir("joiner");
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private KafkaProducer<byte[], byte[]> producer;
    private RunService service;

    @BeforeEach
    void topics() {
        TestKafka.createTopics(1, events, outcomes, events + ".dlq");
        TestKafka.createCompactedTopic(policies, 1);
        producer = TestKafka.producer();
    }

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
        }
        producer.close(Duration.ofSeconds(5));
    }

    @Test
    void aMemberJoinedThroughTheHookHoldingARefusedCapabilityQuarantinesThePodUntilItIsGone() throws Exception {
        PodmanContainer peer = PODMAN.peer(8080);
        send(policies, "task-joiner", ("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + peer.ipv4()
                + ":8080\"],\"dns\":false}").getBytes(StandardCharsets.UTF_8));
        Path socket = dir.resolve("hook.sock");
        List<String> flags = RunConfigs.kafkaFlags(node, events, outcomes, policies, TestKafka.uniqueTopic("joiner-live"));
        flags.addAll(List.of("--hook-socket", socket.toString(), "--resync-interval", "1s", "--refuse-capabilities",
                "NET_ADMIN", "--shutdown-timeout", "5s"));
        service = RunService.start(RunConfigs.of(flags), "test", registry, Clock.systemUTC());
        await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(socket) && service.ready());
        List<String> hooks = List.of("--hooks-dir", OciHooks.dir(dir, socket, annotation).toString());
        List<String> hooked = List.of("--annotation", "netfence.test.hook=" + annotation);

        PodmanContainer member = PODMAN.start("pod-member", hooks, hooked, "/bin/sleep", "3600");
        send(events, node, event("ev-member", member));
        Outcome applied = awaitOutcome(o -> "ev-member".equals(o.eventId()));
        assertThat(applied.status()).as("%s", applied).isEqualTo("applied");
        assertThat(member.agent().send("tcp " + peer.ipv4() + " 8080 1500")).isEqualTo("OK");

        List<String> joining = new ArrayList<>(hooked);
        joining.addAll(List.of("--network", "container:" + member.name()));
        PodmanContainer plain = PODMAN.start("pod-plain-joiner", hooks, joining, "/bin/sleep", "3600");
        long beforePlain = resyncCount();
        await().atMost(Duration.ofSeconds(30)).until(() -> resyncCount() >= beforePlain + 4);
        assertThat(outcomesOf(member)).as("a joiner with the runtime's default capabilities refuses nothing")
                .hasSize(1);
        assertThat(member.agent().send("tcp " + peer.ipv4() + " 8080 1500")).isEqualTo("OK");

        joining.addAll(List.of("--cap-add", "NET_ADMIN"));
        PodmanContainer joiner = PODMAN.start("pod-joiner", hooks, joining, "/bin/sleep", "3600");

        Outcome refused = awaitOutcome(o -> member.id().equals(o.containerId()) && "failed".equals(o.status()));
        assertThat(refused.error().code()).as("%s", refused).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(refused.error().message()).contains(joiner.id()).contains("CAP_NET_ADMIN");
        assertThat(refused.quarantined()).isTrue();
        assertThat(member.agent().send("tcp " + peer.ipv4() + " 8080 1500")).as("the pod is quarantined")
                .isNotEqualTo("OK");
        List<Outcome> sofar = outcomesOf(member);
        // a resync of the member that checked it before the joiner's read was recorded applied it, saying the risk
        assertThat(sofar.subList(1, sofar.size() - 1)).allSatisfy(o -> {
            assertThat(o.status()).isEqualTo("applied");
            assertThat(o.risks()).containsExactly("CAP_NET_ADMIN");
        }).hasSizeLessThanOrEqualTo(1);
        long resyncs = resyncCount();
        double repairs = repairs();
        await().atMost(Duration.ofSeconds(30)).until(() -> resyncCount() >= resyncs + 4);
        assertThat(outcomesOf(member)).as("refused once, not at every resync").hasSameSizeAs(sofar);
        assertThat(repairs()).as("the joiners' fences and the member's quarantine do not undo each other").isEqualTo(repairs);

        joiner.remove();
        Outcome back = awaitOutcome(o -> member.id().equals(o.containerId()) && "applied".equals(o.status())
                && !"ev-member".equals(o.eventId()));
        assertThat(back.risks()).as("%s", back).isEmpty();
        assertThat(member.agent().send("tcp " + peer.ipv4() + " 8080 1500")).isEqualTo("OK");
        plain.remove();
        member.remove();
    }

    private double repairs() {
        return registry.find("netfence.drift.repairs").counters().stream().mapToDouble(c -> c.count()).sum();
    }

    private List<Outcome> outcomesOf(PodmanContainer c) {
        return TestKafka.readAll(outcomes).stream().map(r -> codec.decode(r.value()))
                .filter(o -> c.id().equals(o.containerId())).toList();
    }

    private long resyncCount() {
        return registry.find("netfence.resync.duration").timer() == null ? 0
                : registry.find("netfence.resync.duration").timer().count();
    }

    private byte[] event(String eventId, PodmanContainer c) {
        return ("{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"" + eventId + "\",\"occurredAt\":\""
                + Instant.now() + "\",\"nodeId\":\"" + node + "\",\"taskId\":\"task-joiner\",\"containerId\":\"" + c.id()
                + "\",\"runtime\":\"podman\",\"pid\":" + c.pid() + "}").getBytes(StandardCharsets.UTF_8);
    }

    private void send(String topic, String key, byte[] value) throws Exception {
        producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get(30, TimeUnit.SECONDS);
    }

    private Outcome awaitOutcome(Predicate<Outcome> which) {
        return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(
                () -> TestKafka.readAll(outcomes).stream().map(r -> codec.decode(r.value())).filter(which)
                        .findFirst().orElse(null), o -> o != null);
    }
}
