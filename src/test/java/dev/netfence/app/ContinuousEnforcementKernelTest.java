package dev.netfence.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.cli.RunConfigs;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.ExitedLeader;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNetExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
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
 * Continuous enforcement end to end, nothing faked: {@code netfence run}'s service (the real
 * enforcer, policy store, pipeline and reconciler) on the real broker, rules in a namespace the
 * test created, real connections. Policy changes reach the running "container", a flush from
 * outside is repaired by the resync (also after a restart, without any new event), and a stop
 * releases it.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class ContinuousEnforcementKernelTest {
    private static final int FIRST = 8453;
    private static final int SECOND = 8454;
    /**
     * The bound is 2 s (store poll 200 ms + one apply, about 1 s here when the machine is
     * quiet); the test allows 5 s so that a CI machine shared by parallel kernel tests does not
     * make it flaky (seen: 2.001 s under load). Never a benchmark: see scripts/bench.sh.
     */
    private static final Duration POLICY_BOUND = Duration.ofSeconds(5);

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening(FIRST, SECOND);

    private final OutcomeCodec codec = new OutcomeCodec();
    private final String node = "reconcile-" + UUID.randomUUID().toString().substring(0, 8);
    private final String events = TestKafka.uniqueTopic("rc-events");
    private final String outcomes = events + ".outcomes";
    private final String policies = TestKafka.uniqueTopic("rc-policies");
    private final String enforcements = TestKafka.uniqueTopic("rc-enforcements");
    private final Path socketDir = TestKafka.tempDir("rc-hook");
    private KafkaProducer<byte[], byte[]> producer;
    private RunService service;
    private SimpleMeterRegistry registry;

    @BeforeEach
    void topics() {
        SANDBOX.net().resetRules();
        TestKafka.createTopics(1, events, outcomes, events + ".dlq");
        TestKafka.createCompactedTopic(policies, 1);
        TestKafka.createCompactedTopic(enforcements, 1);
        producer = TestKafka.producer();
    }

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
        }
        producer.close(Duration.ofSeconds(5));
        SANDBOX.net().resetRules();
    }

    @Test
    void policyChangesReachTheRunningContainerDriftIsRepairedAndAStopReleasesIt() throws Exception {
        putPolicy("task-rc", allowOnly(FIRST));
        service = start();
        publish("container.started", "ev-start", "c-rc");
        assertThat(awaitOutcome(o -> "ev-start".equals(o.eventId())).trigger()).isEqualTo("start");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("OK");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("REFUSED");

        // tighten: FIRST was allowed, now only SECOND is
        Instant put = putPolicy("task-rc", allowOnly(SECOND));
        Outcome update = awaitOutcome(o -> "policy-update".equals(o.trigger()) && "applied".equals(o.status()));
        assertThat(Duration.between(put, update.finishedAt())).isLessThan(POLICY_BOUND);
        assertThat(update.eventId()).isNull();
        assertThat(update.containerId()).isEqualTo("c-rc");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), FIRST)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");

        // delete: quarantined
        Instant deletedAt = deletePolicy("task-rc");
        Outcome deleted = awaitOutcome(o -> "POLICY_NOT_FOUND".equals(o.errorCode()));
        assertThat(Duration.between(deletedAt, deleted.finishedAt())).isLessThan(POLICY_BOUND);
        assertThat(deleted.quarantined()).isTrue();
        assertThat(deleted.trigger()).isEqualTo("policy-update");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), SECOND)).isEqualTo("REFUSED");

        // a valid policy again lifts the quarantine
        putPolicy("task-rc", allowOnly(SECOND));
        awaitOutcomes(o -> "policy-update".equals(o.trigger()) && "applied".equals(o.status()), 2,
                Duration.ofSeconds(60));
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");

        // drift: flushed from outside, repaired within one resync interval (1 s here)
        SANDBOX.net().resetRules();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("OK");
        Outcome drift = awaitOutcome(o -> "drift".equals(o.trigger()), Duration.ofSeconds(15));
        assertThat(drift.status()).isEqualTo("applied");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
        assertThat(registry.find("netfence.drift.repairs").counter().count()).isGreaterThanOrEqualTo(1.0);
        assertThat(gauge("netfence.live.containers")).isEqualTo(1.0);

        // stop: removed, nothing left in the live set
        publish("container.stopped", "ev-stop", "c-rc");
        Outcome removed = awaitOutcome(o -> "ev-stop".equals(o.eventId()));
        assertThat(removed.status()).isEqualTo("removed");
        assertThat(removed.trigger()).isEqualTo("stop");
        assertThat(gauge("netfence.live.containers")).isZero();
    }

    @Test
    void aWorkloadWhoseMainThreadExitedIsEnforcedUpdatedAndRepairedNotTakenForGone() throws Exception {
        putPolicy("task-zl", allowOnly(FIRST));
        service = start();
        try (ExitedLeader workload = ExitedLeader.startIn(SANDBOX.net().containerNs())) {
            workload.exitLeader(); // /proc/PID/ns/net and net/dev now answer ENOENT; its other thread runs on
            assertThat(Path.of("/proc/" + workload.pid() + "/task")).isDirectory();

            publish("container.started", "ev-zl", "c-zl", "task-zl", workload.pid());
            Outcome started = awaitOutcome(o -> "ev-zl".equals(o.eventId()));
            assertThat(started.status()).as(String.valueOf(started.error())).isEqualTo("applied");
            assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("OK");
            assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("REFUSED");

            putPolicy("task-zl", allowOnly(SECOND));
            Outcome update = awaitOutcome(o -> "c-zl".equals(o.containerId()) && "policy-update".equals(o.trigger()));
            assertThat(update.status()).as(String.valueOf(update.error())).isEqualTo("applied");
            assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("REFUSED");
            assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");

            SANDBOX.net().resetRules(); // flushed from outside: the resync repairs it, the process is not gone
            Outcome drift = awaitOutcome(o -> "c-zl".equals(o.containerId()) && "drift".equals(o.trigger()),
                    Duration.ofSeconds(15));
            assertThat(drift.status()).isEqualTo("applied");
            assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("REFUSED");
            assertThat(gauge("netfence.live.containers")).isEqualTo(1.0);
        }
    }

    @Test
    void podMembersOfTwoTasksWithEqualPoliciesBothTakeAnUpdateOfBothTasksToTheSameNewPolicy() throws Exception {
        putPolicy("task-p1", allowOnly(FIRST));
        putPolicy("task-p2", allowOnly(FIRST));
        service = start();
        publish("container.started", "ev-p1", "c-p1", "task-p1");
        publish("container.started", "ev-p2", "c-p2", "task-p2");
        Outcome first = awaitOutcome(o -> "ev-p1".equals(o.eventId()));
        assertThat(first.status()).isEqualTo("applied");
        assertThat(awaitOutcome(o -> "ev-p2".equals(o.eventId())).status()).isEqualTo("applied");
        String old = first.policyDigest();

        // both tasks move to the same new policy, one right after the other: whichever member goes
        // first finds the other still on the old digest, whose task already has the new one
        putPolicy("task-p1", allowOnly(SECOND));
        putPolicy("task-p2", allowOnly(SECOND));

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(
                () -> "applied".equals(lastOutcome("c-p1").status()) && "applied".equals(lastOutcome("c-p2").status())
                        && !old.equals(lastOutcome("c-p1").policyDigest())
                        && lastOutcome("c-p1").policyDigest().equals(lastOutcome("c-p2").policyDigest()));
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("REFUSED");
    }

    private Outcome lastOutcome(String container) {
        List<Outcome> all = TestKafka.readAll(outcomes).stream().map(r -> codec.decode(r.value()))
                .filter(o -> container.equals(o.containerId())).toList();
        return all.get(all.size() - 1);
    }

    @Test
    void afterARestartTheLiveSetIsReadBackAndAFlushWhileDownIsRepairedWithoutAnyNewEvent() throws Exception {
        putPolicy("task-rs", allowOnly(FIRST));
        service = start();
        publish("container.started", "ev-rs", "c-rs");
        assertThat(awaitOutcome(o -> "ev-rs".equals(o.eventId())).status()).isEqualTo("applied");
        service.close();
        service = null;

        SANDBOX.net().resetRules();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");

        int before = TestKafka.readAll(outcomes).size();
        service = start();
        Outcome repaired = awaitOutcome(o -> "drift".equals(o.trigger()), Duration.ofSeconds(30));
        assertThat(repaired.containerId()).isEqualTo("c-rs");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("OK");
        assertThat(TestKafka.readAll(outcomes).subList(before, TestKafka.readAll(outcomes).size()))
                .extracting(r -> codec.decode(r.value()).trigger()).doesNotContain("start");
    }

    @Test
    void aQuarantineIsReadBackAtEachResyncNotRewrittenAndRepairedWithADriftOutcomeOnlyWhenItDiffers()
            throws Exception {
        service = start(); // task-rs has no policy here: the start event quarantines
        publish("container.started", "ev-rq", "c-rq");
        Outcome quarantined = awaitOutcome(o -> "ev-rq".equals(o.eventId()));
        assertThat(quarantined.errorCode()).isEqualTo("POLICY_NOT_FOUND");
        assertThat(quarantined.quarantined()).isTrue();
        String written = nftWithHandles();

        long resyncs = resyncs();
        await().atMost(Duration.ofSeconds(30)).until(() -> resyncs() >= resyncs + 2);
        assertThat(nftWithHandles()).as("two resyncs later the quarantine was read, not rewritten").isEqualTo(written);
        assertThat(registry.find("netfence.drift.repairs").counter()).isNull();

        SANDBOX.net().resetRules();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("OK");
        Outcome drift = awaitOutcome(o -> "drift".equals(o.trigger()), Duration.ofSeconds(15));
        assertThat(drift.containerId()).isEqualTo("c-rq");
        assertThat(drift.status()).isEqualTo("failed");
        assertThat(drift.errorCode()).isEqualTo("POLICY_NOT_FOUND");
        assertThat(drift.quarantined()).isTrue();
        assertThat(registry.find("netfence.drift.repairs").counter().count()).isEqualTo(1.0);
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isNotEqualTo("OK");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), FIRST)).isNotEqualTo("OK");
    }

    private long resyncs() {
        return registry.get("netfence.resync.duration").timer().count();
    }

    /** netfence's table in the container namespace with rule handles (a rewrite gives new ones), counters zeroed. */
    private static String nftWithHandles() {
        return dev.netfence.testkit.Rulesets.zeroNftCounters(dev.netfence.testkit.Sh.ok("ip", "netns", "exec",
                SANDBOX.net().containerNs(), "nft", "-a", "list", "table", "inet", "netfence"));
    }

    private RunService start() {
        registry = new SimpleMeterRegistry();
        List<String> flags = RunConfigs.kafkaFlags(node, events, outcomes, policies, enforcements);
        flags.addAll(List.of("--cgroup-check", "false")); // the test's "container" is a plain process
        // its "container" has no host side; a host guard "auto" here would adopt the chains in the host table that a
        // podman test's netfence wrote beside it (this class takes no machine lock) and sweep them by its stale view:
        // a chain of an interface name podman reused (veth0) was deleted under that test (CI of 9f692b7, 165e6a4);
        // "off" removes every chain there at start: so off, and inert (HostGuardStart.INERT below)
        flags.addAll(List.of("--host-guard", "off"));
        flags.addAll(List.of("--resync-interval", "1s"));
        flags.addAll(List.of("--policy-wait", "1s"));
        flags.addAll(List.of("--shutdown-timeout", "5s"));
        flags.addAll(List.of("--hook-socket", socketDir.resolve("hook.sock").toString()));
        RunConfig config = RunConfigs.of(flags);
        return RunService.start(config, "test", registry, Clock.systemUTC(), HostGuardStart.INERT);
    }

    private double gauge(String name) {
        return registry.get(name).gauge().value();
    }

    private String allowOnly(int port) {
        return "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + SANDBOX.net().peerV4() + ":" + port
                + "\",\"[" + SANDBOX.net().peerV6() + "]:" + port + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
    }

    /** Stores the policy; returns when the broker acknowledged it. */
    private Instant putPolicy(String task, String json) throws Exception {
        send(policies, task, json.getBytes(StandardCharsets.UTF_8));
        return Instant.now();
    }

    private Instant deletePolicy(String task) throws Exception {
        send(policies, task, null);
        return Instant.now();
    }

    private void publish(String type, String eventId, String container) throws Exception {
        publish(type, eventId, container, container.equals("c-rc") ? "task-rc" : "task-rs");
    }

    private void publish(String type, String eventId, String container, String task) throws Exception {
        publish(type, eventId, container, task, SANDBOX.net().containerPid());
    }

    private void publish(String type, String eventId, String container, String task, int pid) throws Exception {
        send(events, node, ("{\"schemaVersion\":1,\"type\":\"" + type + "\",\"eventId\":\"" + eventId
                + "\",\"occurredAt\":\"" + Instant.now() + "\",\"nodeId\":\"" + node + "\",\"taskId\":\""
                + task + "\",\"containerId\":\"" + container
                + "\",\"pid\":" + pid + "}").getBytes(StandardCharsets.UTF_8));
    }

    private void send(String topic, String key, byte[] value) throws Exception {
        producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get(30, TimeUnit.SECONDS);
    }

    private Outcome awaitOutcome(Predicate<Outcome> which) {
        return awaitOutcome(which, Duration.ofSeconds(60));
    }

    private Outcome awaitOutcome(Predicate<Outcome> which, Duration within) {
        return awaitOutcomes(which, 1, within).get(0);
    }

    private List<Outcome> awaitOutcomes(Predicate<Outcome> which, int count, Duration within) {
        List<Outcome> found = await().atMost(within).pollInterval(Duration.ofMillis(100)).until(
                () -> TestKafka.readAll(outcomes).stream().map(r -> codec.decode(r.value())).filter(which).toList(),
                l -> l.size() >= count);
        return found.subList(count - 1, found.size());
    }
}
