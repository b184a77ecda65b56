package dev.netfence.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.netfence.cli.RunConfigs;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.Agent;
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
 * The OCI hook with real podman (runc, {@code --hooks-dir}): the shipped {@code netfence-hook}
 * script, called by the runtime at {@code createRuntime}, has the running service fence the
 * container before its process starts; the container.started event then replaces the fence with
 * the policy, and a container.stopped releases it. With netfence down the hook refuses the start.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class OciHookPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private final OutcomeCodec codec = new OutcomeCodec();
    private final String node = "hook-" + UUID.randomUUID().toString().substring(0, 8);
    private final String annotation = "hook-" + UUID.randomUUID().toString().substring(0, 8);
    private final String events = TestKafka.uniqueTopic("hook-events");
    private final String outcomes = events + ".outcomes";
    private final String policies = TestKafka.uniqueTopic("hook-policies");
    private final Path dir = TestKafka.tempDir("hook");
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private RunService service;

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
        }
    }

    @Test
    void aContainerStartedWithTheHookHasNoConnectivityBeforeItsEventAndItsAllowedEndpointAfter() throws Exception {
        PodmanContainer peer = PODMAN.peer(8080);
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            Path socket = startService(producer, peer);

            PodmanContainer sandbox = PODMAN.start("hooked", List.of("--hooks-dir", hooksDir(socket).toString()),
                    List.of("--annotation", "netfence.test.hook=" + annotation), "/bin/sleep", "3600");
            Agent probe = sandbox.agent();
            assertThat(probe.send("tcp " + peer.ipv4() + " 8080 1500")).as("before the event").isNotEqualTo("OK");
            assertThat(registry.get("netfence.live.containers").gauge().value()).isEqualTo(1.0);

            send(producer, events, node, event("container.started", "ev-hook-start", sandbox));
            Outcome applied = awaitOutcome(o -> "ev-hook-start".equals(o.eventId()));
            assertThat(applied.status()).isEqualTo("applied");
            assertThat(applied.trigger()).isEqualTo("start");
            assertThat(probe.send("tcp " + peer.ipv4() + " 8080 1500")).as("after the event").isEqualTo("OK");

            sandbox.remove();
            send(producer, events, node, event("container.stopped", "ev-hook-stop", sandbox));
            Outcome removed = awaitOutcome(o -> "ev-hook-stop".equals(o.eventId()));
            assertThat(removed.status()).isEqualTo("removed");
            assertThat(registry.get("netfence.live.containers").gauge().value()).isZero();
        }
    }

    @Test
    void aRestartOfAnEnforcedContainerIsFencedByTheHookAndGetsItsPolicyWithoutAnotherEvent() throws Exception {
        PodmanContainer peer = PODMAN.peer(8080);
        PodmanContainer other = PODMAN.peer(8081);
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            Path socket = startService(producer, peer);
            List<String> hooks = List.of("--hooks-dir", hooksDir(socket).toString());
            PodmanContainer first = PODMAN.start("restarted", hooks,
                    List.of("--annotation", "netfence.test.hook=" + annotation), "/bin/sleep", "3600");
            send(producer, events, node, event("container.started", "ev-restart-start", first));
            assertThat(awaitOutcome(o -> "ev-restart-start".equals(o.eventId())).status()).isEqualTo("applied");

            // the runtime starts the same id again (new pid, new namespace); no stop, no new event
            PodmanContainer again = PODMAN.restart(first, hooks);
            assertThat(again.pid()).isNotEqualTo(first.pid());
            assertThat(Sh.ok("nsenter", "--net=/proc/" + again.pid() + "/ns/net", "--", "nft", "list", "ruleset"))
                    .as("fenced by the hook before its process ran").contains("table inet netfence");

            Outcome reapplied = awaitOutcome(o -> again.id().equals(o.containerId()) && "policy-update".equals(o.trigger()));
            assertThat(reapplied.status()).isEqualTo("applied");
            assertThat(reapplied.risks()).as("read once the runtime dropped its capabilities: %s", reapplied).isEmpty();
            assertThat(reapplied.guards()).containsExactly("netns", "host");
            Agent probe = again.agent();
            assertThat(probe.send("tcp " + peer.ipv4() + " 8080 1500")).as("its policy, without an event").isEqualTo("OK");
            assertThat(probe.send("tcp " + other.ipv4() + " 8081 1500")).as("nothing else").isNotEqualTo("OK");

            // released with its host guard: a guard chain outliving its veth would bind to the next veth of that name
            again.remove();
            send(producer, events, node, event("container.stopped", "ev-restart-stop", again));
            assertThat(awaitOutcome(o -> "ev-restart-stop".equals(o.eventId())).status()).isEqualTo("removed");
            assertThat(Sh.run("nft", "list", "table", "netdev", "netfence").stdout()).doesNotContain(again.id());
        }
    }

    @Test
    void aPodMemberFencedWithoutAnEventDoesNotCutThePodsPolicyAtEveryResync() throws Exception {
        PodmanContainer peer = PODMAN.peer(8080);
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            Path socket = startService(producer, peer, "--resync-interval", "1s");
            // a pod: its infra container (hooked, never an event) holds the namespace the member joins
            List<PodmanContainer> pod = hookedPod(socket, "pod-infra", "pod-app");
            PodmanContainer infra = pod.get(0);
            PodmanContainer app = pod.get(1);
            send(producer, events, node, event("container.started", "ev-pod-start", app));
            assertThat(awaitOutcome(o -> "ev-pod-start".equals(o.eventId())).status()).isEqualTo("applied");
            long resyncs = resyncCount();

            await().atMost(Duration.ofSeconds(30)).until(() -> resyncCount() >= resyncs + 4);

            // at most one outcome more: the host guard claimed once the infra container's first resync read it
            // (at its hook its capabilities were not known yet, so the member's start did not claim it)
            assertThat(TestKafka.readAll(outcomes).stream().map(r -> codec.decode(r.value()))
                    .filter(o -> app.id().equals(o.containerId()) && !"start".equals(o.trigger())).toList())
                    .as("the member's policy is neither cut by the infra container's fence nor written again")
                    .allSatisfy(o -> {
                        assertThat(o.trigger()).isEqualTo("drift");
                        assertThat(o.status()).isEqualTo("applied");
                        assertThat(o.guards()).containsExactly("netns", "host");
                    }).hasSizeLessThanOrEqualTo(1);
            assertThat(app.agent().send("tcp " + peer.ipv4() + " 8080 1500")).isEqualTo("OK");

            // released with their host guard: a chain outliving its veth would bind to the next veth of that name
            for (PodmanContainer c : List.of(app, infra)) {
                c.remove();
                send(producer, events, node, event("container.stopped", "ev-pod-stop-" + c.name(), c));
                assertThat(awaitOutcome(o -> ("ev-pod-stop-" + c.name()).equals(o.eventId())).status()).isEqualTo("removed");
            }
            assertThat(Sh.run("nft", "list", "table", "netdev", "netfence").stdout()).doesNotContain(app.id())
                    .doesNotContain(infra.id());
        }
    }

    @Test
    void aPodMemberStartedWhereAnotherMembersPolicyIsInForceLeavesThatPolicyInForce() throws Exception {
        // before, the new member's hook wrote the quarantine over the pod's namespace: the member in force lost its
        // allowed endpoint until a resync (10 min here) or the new member's own event
        PodmanContainer peer = PODMAN.peer(8080);
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            Path socket = startService(producer, peer, "--resync-interval", "10m");
            List<String> hooks = List.of("--hooks-dir", hooksDir(socket).toString());
            List<String> hooked = List.of("--annotation", "netfence.test.hook=" + annotation);
            PodmanContainer a = PODMAN.start("pod-in-force", hooks, hooked, "/bin/sleep", "3600");
            send(producer, events, node, event("container.started", "ev-in-force", a));
            assertThat(awaitOutcome(o -> "ev-in-force".equals(o.eventId())).status()).isEqualTo("applied");
            assertThat(a.agent().send("tcp " + peer.ipv4() + " 8080 1500")).isEqualTo("OK");

            List<String> member = new java.util.ArrayList<>(hooked);
            member.addAll(List.of("--network", "container:" + a.name()));
            PodmanContainer b = PODMAN.start("pod-joiner", hooks, member, "/bin/sleep", "3600");

            assertThat(a.agent().send("tcp " + peer.ipv4() + " 8080 1500"))
                    .as("the member in force reaches its allowed endpoint right after the new member's hook").isEqualTo("OK");
            assertThat(Sh.run("nsenter", "-t", Integer.toString(a.pid()), "-n", "nft", "list", "table", "inet", "netfence")
                    .stdout()).as("the pod's rules are the policy's, not the quarantine").contains("8080");
            for (PodmanContainer c : List.of(b, a)) {
                c.remove();
                send(producer, events, node, event("container.stopped", "ev-joiner-stop-" + c.name(), c));
                assertThat(awaitOutcome(o -> ("ev-joiner-stop-" + c.name()).equals(o.eventId())).status())
                        .isIn("removed", "skipped");
            }
        }
    }

    @Test
    void whenThePodMemberThatWroteTheVethsHostChainStopsTheMemberLeftWritesItsOwnAtOnce() throws Exception {
        PodmanContainer peer = PODMAN.peer(8080);
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            Path socket = startService(producer, peer, "--resync-interval", "10m"); // no resync writes it meanwhile
            List<PodmanContainer> pod = hookedPod(socket, "pod-a", "pod-b");
            PodmanContainer a = pod.get(0);
            PodmanContainer b = pod.get(1);
            send(producer, events, node, event("container.started", "ev-a-start", a));
            assertThat(awaitOutcome(o -> "ev-a-start".equals(o.eventId())).status()).isEqualTo("applied");
            send(producer, events, node, event("container.started", "ev-b-start", b));
            assertThat(awaitOutcome(o -> "ev-b-start".equals(o.eventId())).status()).isEqualTo("applied");
            assertThat(hostTable()).as("the pod's veth has one chain, B's (written last)").contains(b.id())
                    .doesNotContain(a.id());

            b.remove();
            send(producer, events, node, event("container.stopped", "ev-b-stop", b));
            assertThat(awaitOutcome(o -> "ev-b-stop".equals(o.eventId())).status()).isEqualTo("removed");

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(hostTable()).contains(a.id()));
            a.remove();
            send(producer, events, node, event("container.stopped", "ev-a-stop", a));
            assertThat(awaitOutcome(o -> "ev-a-stop".equals(o.eventId())).status()).isEqualTo("removed");
            assertThat(hostTable()).doesNotContain(a.id());
        }
    }

    /** Two hooked containers sharing the first one's network namespace, as a pod's: {@code first}, then {@code second}. */
    private List<PodmanContainer> hookedPod(Path socket, String first, String second) throws Exception {
        List<String> hooks = List.of("--hooks-dir", hooksDir(socket).toString());
        List<String> hooked = List.of("--annotation", "netfence.test.hook=" + annotation);
        PodmanContainer holder = PODMAN.start(first, hooks, hooked, "/bin/sleep", "3600");
        List<String> member = new java.util.ArrayList<>(hooked);
        member.addAll(List.of("--network", "container:" + holder.name()));
        return List.of(holder, PODMAN.start(second, hooks, member, "/bin/sleep", "3600"));
    }

    private static String hostTable() {
        return Sh.run("nft", "list", "table", "netdev", "netfence").stdout();
    }

    private long resyncCount() {
        return registry.find("netfence.resync.duration").timer() == null ? 0
                : registry.find("netfence.resync.duration").timer().count();
    }

    @Test
    void withNetfenceDownTheHookRefusesTheStart() throws Exception {
        Path hooks = hooksDir(dir.resolve("nobody-listens.sock"));
        assertThatThrownBy(() -> PODMAN.start("refused", List.of("--hooks-dir", hooks.toString()),
                List.of("--annotation", "netfence.test.hook=" + annotation), "/bin/sleep", "3600"))
                .hasMessageContaining("podman run failed");
    }

    /**
     * A hooked container that joins a namespace another member's policy governs is let through
     * without a fence (a fence would cut that member) and recorded as fenced without a task, so that
     * once no member's policy is in force there (the member stopped; the namespace outlives it, as
     * {@code --network ns:PATH} or a pod namespace pinned apart from its containers does) a resync
     * fences it. Before the forty-seventh session it was not recorded, and kept the departed member's
     * rules, unmaintained, for as long as it ran.
     */
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

            Path socket = startService(producer, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.47.2:8080\"],"
                    + "\"blockedSubnets\":[\"0.0.0.0/0\"],\"dns\":false}", "--resync-interval", "1s");
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

    /** The topics, task-hook's policy allowing {@code peer}:8080, and the service with its hook socket (returned), ready. */
    private Path startService(KafkaProducer<byte[], byte[]> producer, PodmanContainer peer, String... flags)
            throws Exception {
        return startService(producer, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\""
                + peer.ipv4() + ":8080\"],\"dns\":false}", flags);
    }

    /** As above, task-hook's policy being {@code policy}. */
    private Path startService(KafkaProducer<byte[], byte[]> producer, String policy, String... flags) throws Exception {
        TestKafka.createTopics(1, events, outcomes, events + ".dlq");
        TestKafka.createCompactedTopic(policies, 1);
        Path socket = dir.resolve("hook.sock");
        send(producer, policies, "task-hook", policy);
        service = start(socket, flags);
        await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(socket) && service.ready());
        return socket;
    }

    private Path hooksDir(Path socket) throws Exception {
        return dev.netfence.testkit.OciHooks.dir(dir, socket, annotation);
    }

    private RunService start(Path socket, String... more) {
        List<String> flags = RunConfigs.kafkaFlags(node, events, outcomes, policies, TestKafka.uniqueTopic("hook-enforcements"));
        flags.addAll(List.of("--hook-socket", socket.toString()));
        flags.addAll(List.of(more));
        flags.addAll(List.of("--shutdown-timeout", "5s"));
        RunConfig config = RunConfigs.of(flags);
        return RunService.start(config, "test", registry, Clock.systemUTC());
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
