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
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hooked container that joins a namespace another member's policy governs is let through
 * without a fence (a fence would cut that member) and recorded as fenced without a task, so that
 * once no member's policy is in force there (the member stopped; the namespace outlives it, as
 * {@code --network ns:PATH} or a pod namespace pinned apart from its containers does) a resync
 * fences it. Before the forty-seventh session it was not recorded, and kept the departed member's
 * rules, unmaintained, for as long as it ran (found by that session's review of the hook path).
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HookJoinerPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final Path HOOK_SCRIPT = Path.of("scripts", "netfence-hook").toAbsolutePath();

    private final OutcomeCodec codec = new OutcomeCodec();
    private final String node = "joiner-" + UUID.randomUUID().toString().substring(0, 8);
    private final String annotation = "joiner-" + UUID.randomUUID().toString().substring(0, 8);
    private final String events = TestKafka.uniqueTopic("joiner-events");
    private final String outcomes = events + ".outcomes";
    private final String policies = TestKafka.uniqueTopic("joiner-policies");
    private final Path dir = TestKafka.tempDir("joiner");
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private RunService service;

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
        }
    }

    @Test
    void aJoinerOfANamespaceThatOutlivesItsGoverningMemberIsFencedOnceThatMemberIsGone() throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 6);
        String shared = "nfj-s-" + suffix;
        String peerNs = "nfj-p-" + suffix;
        String sharedEnd = "nfjs" + suffix;
        String peerEnd = "nfjp" + suffix;
        List<Process> listeners = new ArrayList<>();
        List<PodmanContainer> started = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            Sh.ok("ip", "netns", "add", shared);
            Sh.ok("ip", "netns", "add", peerNs);
            Sh.ok("ip", "link", "add", sharedEnd, "type", "veth", "peer", "name", peerEnd);
            Sh.ok("ip", "link", "set", sharedEnd, "netns", shared);
            Sh.ok("ip", "link", "set", peerEnd, "netns", peerNs);
            for (String[] side : List.of(new String[] {shared, sharedEnd, "198.18.47.1/30"},
                    new String[] {peerNs, peerEnd, "198.18.47.2/30"})) {
                Sh.ok("ip", "-n", side[0], "addr", "add", side[2], "dev", side[1]);
                Sh.ok("ip", "-n", side[0], "link", "set", side[1], "up");
                Sh.ok("ip", "-n", side[0], "link", "set", "lo", "up");
            }
            for (String port : List.of("8080", "8081")) {
                listeners.add(new ProcessBuilder("ip", "netns", "exec", peerNs, "python3", "-m", "http.server", port,
                        "--bind", "198.18.47.2").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .start());
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> Sh.run("ip", "netns", "exec", peerNs, "ss", "-ltnH")
                    .stdout().contains(":8081"));

            Path socket = startService(producer, "198.18.47.2", "--resync-interval", "1s");
            List<String> hooks = List.of("--hooks-dir", hooksDir(socket).toString());
            List<String> inShared = List.of("--annotation", "netfence.test.hook=" + annotation, "--network",
                    "ns:/run/netns/" + shared);
            PodmanContainer owner = PODMAN.start("nsowner", hooks, inShared, "/bin/sleep", "3600");
            started.add(owner);
            send(producer, events, node, event("container.started", "ev-nsowner", owner));
            assertThat(awaitOutcome(o -> "ev-nsowner".equals(o.eventId())).status()).isEqualTo("applied");
            PodmanContainer joiner = PODMAN.start("nsjoiner", hooks, inShared, "/bin/sleep", "3600");
            started.add(0, joiner);
            assertThat(connects(joiner, "198.18.47.2", 8080)).as("the owner's policy governs the joiner").isTrue();
            assertThat(connects(joiner, "198.18.47.2", 8081)).as("and nothing else").isFalse();

            assertThat(Sh.run("podman", "stop", "-t", "0", owner.name()).ok()).isTrue();
            send(producer, events, node, event("container.stopped", "ev-nsowner-stop", owner));
            assertThat(awaitOutcome(o -> "ev-nsowner-stop".equals(o.eventId())).status()).isEqualTo("removed");
            // the task's policy is deleted: running containers are to be quarantined at once (README)
            producer.send(new ProducerRecord<>(policies, "task-hook".getBytes(StandardCharsets.UTF_8), null))
                    .get(30, TimeUnit.SECONDS);
            // and a workload holding CAP_NET_ADMIN (or anyone) changes the rules: repaired within one resync (README)
            Sh.ok("ip", "netns", "exec", shared, "nft", "delete", "table", "inet", "netfence");
            // fenced at a resync (1 s), whatever was done to the departed member's rules meanwhile
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500)).until(
                    () -> Sh.run("ip", "netns", "exec", shared, "nft", "list", "table", "inet", "netfence").ok());
            assertThat(connects(joiner, "198.18.47.2", 8081)).as("a port no policy ever allowed").isFalse();
            assertThat(connects(joiner, "198.18.47.2", 8080)).as("its member's policy is gone with it").isFalse();
            assertThat(Sh.ok("ip", "netns", "exec", shared, "nft", "list", "table", "inet", "netfence"))
                    .as("the fence: loopback only").doesNotContain("198.18.47.2");
        } finally {
            for (Process p : listeners) {
                p.destroyForcibly();
            }
            for (PodmanContainer c : started) {
                c.remove();
            }
            Sh.run("ip", "netns", "del", shared);
            Sh.run("ip", "netns", "del", peerNs);
            Sh.run("ip", "link", "del", sharedEnd);
        }
    }

    private static boolean connects(PodmanContainer c, String host, int port) {
        return Sh.run("nsenter", "-t", Integer.toString(c.pid()), "-n", "timeout", "4", "bash", "-c",
                "echo > /dev/tcp/" + host + "/" + port).ok();
    }

    private Path startService(KafkaProducer<byte[], byte[]> producer, PodmanContainer peer, String... flags)
            throws Exception {
        return startService(producer, peer.ipv4(), flags);
    }

    private Path startService(KafkaProducer<byte[], byte[]> producer, String peerIp, String... flags)
            throws Exception {
        TestKafka.createTopics(1, events, outcomes, events + ".dlq");
        TestKafka.createCompactedTopic(policies, 1);
        Path socket = dir.resolve("hook.sock");
        send(producer, policies, "task-hook", "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\""
                + peerIp + ":8080\"],\"blockedSubnets\":[\"0.0.0.0/0\"],\"dns\":false}");
        List<String> all = RunConfigs.kafkaFlags(node, events, outcomes, policies,
                TestKafka.uniqueTopic("joiner-enforcements"));
        all.addAll(List.of("--hook-socket", socket.toString()));
        all.addAll(List.of(flags));
        all.addAll(List.of("--shutdown-timeout", "5s"));
        service = RunService.start(RunConfigs.of(all), "test", registry, Clock.systemUTC());
        await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(socket) && service.ready());
        return socket;
    }

    private Path hooksDir(Path socket) throws Exception {
        Path hooks = Files.createDirectories(dir.resolve("hooks.d-" + UUID.randomUUID()));
        Files.writeString(hooks.resolve("netfence.json"), "{\"version\":\"1.0.0\",\"hook\":{\"path\":\"" + HOOK_SCRIPT
                + "\",\"args\":[\"netfence-hook\",\"--socket\",\"" + socket + "\",\"--on-unavailable\",\"refuse\","
                + "\"--timeout\",\"20\"]},\"when\":{\"annotations\":{\"^netfence\\\\.test\\\\.hook$\":\"^" + annotation
                + "$\"}},\"stages\":[\"createRuntime\"]}");
        return hooks;
    }

    private byte[] event(String type, String eventId, PodmanContainer c) {
        return ("{\"schemaVersion\":1,\"type\":\"" + type + "\",\"eventId\":\"" + eventId + "\",\"occurredAt\":\""
                + Instant.now() + "\",\"nodeId\":\"" + node + "\",\"taskId\":\"task-hook\",\"containerId\":\"" + c.id()
                + "\",\"runtime\":\"podman\",\"pid\":" + c.pid() + "}").getBytes(StandardCharsets.UTF_8);
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String topic, String key, String value)
            throws Exception {
        send(producer, topic, key, value.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String topic, String key, byte[] value)
            throws Exception {
        producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get(30, TimeUnit.SECONDS);
    }

    private Outcome awaitOutcome(Predicate<Outcome> which) {
        return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(
                () -> TestKafka.readAll(outcomes).stream().map(r -> codec.decode(r.value())).filter(which)
                        .findFirst().orElse(null), o -> o != null);
    }
}
