package dev.netfence.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.MeterNames;
import dev.netfence.event.Outcome;
import dev.netfence.hostguard.GuardChain;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code netfence run} with {@code --host-guard auto} against real podman containers: the
 * reconciler releases a container's host guard together with its live-set entry, so by the time
 * the {@code removed} outcome is published netfence's host table holds no trace of it: after
 * {@code podman rm -f} and {@code container.stopped}, after a {@code container.stopped} that comes
 * while the container still runs (its interface still exists, so the guard's own sweep would
 * never remove it), and for a container found gone at a resync; and not for a container whose pid
 * moved into a namespace of its own while it runs (kept, guard and all, until it is gone). And,
 * with resyncs an hour apart, an IPv6 address a workload gave itself before its neighbour's guard
 * was first written leaves the workload's guard within seconds of that first guard, through the
 * check the host guard asks the reconciler for. An applied container whose outcome said
 * {@code ["netns","host"]} gets a drift outcome saying {@code ["netns"]}, with the member's
 * {@code CAP_NET_ADMIN} in its {@code risks}, at the resync after a pod member holding CAP_NET_ADMIN
 * joined it (and nothing else, across a restart of netfence), and one saying
 * {@code ["netns","host"]} and no risk again once that member is gone. The host ruleset outside netfence's table never changes (HostRulesetGuard).
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardReleasePodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private ServiceTopics topics;
    private SimpleMeterRegistry registry;
    private RunService service;

    @BeforeEach
    void startService() throws Exception {
        topics = new ServiceTopics("guardrel");
        topics.putPolicy("task-guardrel", "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                + "[\"10.88.0.1:8080\"],\"dns\":false}");
        startService("1s");
    }

    private void startService(String resyncInterval) throws Exception {
        registry = new SimpleMeterRegistry(); // a service's meters are its own
        service = topics.start(List.of("--host-guard", "auto", "--resync-interval", resyncInterval, "--shutdown-timeout",
                "5s"), registry);
    }

    @AfterEach
    void stopService() {
        if (topics != null) {
            topics.close(); // the service too
        }
    }

    @Test
    void aStoppedContainerLeavesNoTraceInTheHostTableWhenItsRemovedOutcomeIsPublished() throws Exception {
        // podman rm -f, then container.stopped (the order a runtime's event stream gives)
        PodmanContainer removed = guarded("ev-a");
        String removedDevice = deviceOf(removed);
        removed.remove();
        topics.sendEvent(event("container.stopped", "ev-a-stop", removed));
        assertThat(topics.awaitOutcome(o -> "ev-a-stop".equals(o.eventId())).status()).isEqualTo("removed");
        assertNoTrace(removed, removedDevice);
        assertThat(gauge("netfence.live.containers")).isZero();
        assertThat(gauge(MeterNames.HOST_GUARDS)).isZero();

        // container.stopped while its interface still exists: only the release can remove the guard
        PodmanContainer running = guarded("ev-b");
        String runningDevice = deviceOf(running);
        topics.sendEvent(event("container.stopped", "ev-b-stop", running));
        assertThat(topics.awaitOutcome(o -> "ev-b-stop".equals(o.eventId())).status()).isEqualTo("removed");
        assertNoTrace(running, runningDevice);
        assertThat(Sh.run("ip", "link", "show", runningDevice).ok()).as("its host veth still exists").isTrue();
        assertThat(gauge("netfence.live.containers")).isZero();
        assertThat(gauge(MeterNames.HOST_GUARDS)).isZero();
    }

    @Test
    void aContainerFoundGoneAtAResyncLeavesNoTraceInTheHostTableWhenItsRemovedOutcomeIsPublished()
            throws Exception {
        PodmanContainer gone = guarded("ev-c");
        String device = deviceOf(gone);
        gone.remove();
        Outcome released = topics.awaitOutcome(o -> gone.id().equals(o.containerId()) && "removed".equals(o.status()));
        assertThat(released.trigger()).isEqualTo("drift");
        assertNoTrace(gone, device);
        assertThat(gauge("netfence.live.containers")).isZero();
        assertThat(gauge(MeterNames.HOST_GUARDS)).isZero();
    }

    @Test
    void aContainerWhosePidMovedIntoANamespaceOfItsOwnKeepsItsHostGuardAndStaysLiveUntilItIsGone() throws Exception {
        // its init waits for /go, then moves itself into a new namespace (the same pid: exec)
        PodmanContainer mover = guarded("ev-d", PODMAN.start("mover", List.of("--cap-add", "SYS_ADMIN"), "/bin/sh", "-c",
                "while [ ! -e /go ]; do sleep 0.1; done; exec /bin/unshare -n /bin/sleep 3600"));
        String device = deviceOf(mover);
        String inode = "net:[" + dev.netfence.netns.NamespaceId.of(mover.sandboxKey()).inode() + "]";
        assertThat(mover.exec("touch", "/go").ok()).isTrue();
        await().atMost(Duration.ofSeconds(20)).until(() -> !Sh.ok("readlink", "/proc/" + mover.pid() + "/ns/net")
                .strip().equals(inode));

        // resyncs run every second: a release would have come within a few
        long resyncs = registry.get("netfence.resync.duration").timer().count();
        await().atMost(Duration.ofSeconds(30)).until(() -> registry.get("netfence.resync.duration").timer().count() >= resyncs + 3);
        assertThat(topics.outcomes().stream()
                .filter(o -> mover.id().equals(o.containerId()) && "removed".equals(o.status())))
                .as("released while it runs").isEmpty();
        assertThat(hostTable()).as("its host guard").contains("container=" + mover.id());
        assertThat(service.hostGuards().installed()).containsKey(device);
        assertThat(gauge("netfence.live.containers")).isEqualTo(1.0);
        assertThat(registry.get("netfence.reconcile.pid.moved").counter().count()).as("counted once").isEqualTo(1.0);
        assertThat(topics.outcomes().stream()
                .filter(o -> mover.id().equals(o.containerId()) && "failed".equals(o.status()))
                .map(o -> o.error().code())).as("reported once").containsExactly("NAMESPACE_MISMATCH");

        // a replay of its start event now fails to pin it, and does not release it either
        topics.sendEvent(event("container.started", "ev-d-replay", mover));
        assertThat(topics.awaitOutcome(o -> "ev-d-replay".equals(o.eventId())).status()).isEqualTo("failed");
        assertThat(hostTable()).as("its host guard after the replay").contains("container=" + mover.id());
        assertThat(gauge("netfence.live.containers")).isEqualTo(1.0);

        mover.remove(); // gone now: released at a resync, with no trace left
        assertThat(topics.awaitOutcome(o -> mover.id().equals(o.containerId()) && "removed".equals(o.status())).trigger())
                .isEqualTo("drift");
        assertNoTrace(mover, device);
    }

    @Test
    void aContainerWhoseEth0TheWorkloadMovedAwayKeepsItsHostGuardWhenItsNextApplyIsRefused() throws Exception {
        PodmanContainer sandbox = guarded("ev-e");
        String device = deviceOf(sandbox);
        String away = "nfmv-" + UUID.randomUUID().toString().substring(0, 8);
        Sh.ok("ip", "netns", "add", away);
        try {
            // as a workload with CAP_NET_ADMIN (and a namespace of its own): eth0 moved out, its namespace has only lo
            Sh.ok("nsenter", "-t", Integer.toString(sandbox.pid()), "-n", "ip", "link", "set", "eth0", "netns", away);
            topics.send(topics.policies, "task-guardrel", ("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                    + "[\"10.88.0.1:8081\"],\"dns\":false}").getBytes(StandardCharsets.UTF_8));
            Outcome refused = topics.awaitOutcome(o -> sandbox.id().equals(o.containerId())
                    && "policy-update".equals(o.trigger()));
            assertThat(refused.status()).as("refused, not released").isEqualTo("failed");
            assertThat(refused.error().code()).isEqualTo("NAMESPACE_MISMATCH");

            long resyncs = registry.get("netfence.resync.duration").timer().count();
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> registry.get("netfence.resync.duration").timer().count() >= resyncs + 3);
            assertThat(topics.outcomes().stream()
                    .filter(o -> sandbox.id().equals(o.containerId()) && "removed".equals(o.status())))
                    .as("released while it runs").isEmpty();
            assertThat(hostTable()).as("its host guard").contains("container=" + sandbox.id());
            assertThat(service.hostGuards().installed()).containsKey(device);
            assertThat(gauge("netfence.live.containers")).isEqualTo(1.0);
        } finally {
            Sh.run("ip", "netns", "del", away); // destroys the moved veth end, and its host peer with it
        }
    }

    @Test
    void anAddressClaimedBeforeItsNeighboursFirstGuardLeavesTheClaimersGuardWithinSecondsNotAtTheNextResync()
            throws Exception {
        service.close();
        startService("1h"); // its first resync at start, the next in an hour
        PodmanContainer workload = guarded("ev-e");
        String device = deviceOf(workload);
        PodmanContainer neighbour = PODMAN.sandbox(); // started, its start event not sent yet
        String claimed = linkLocalPastDad(neighbour);
        Sh.ok("nsenter", "-t", Integer.toString(workload.pid()), "-n", "ip", "-6", "addr", "add", claimed + "/64",
                "dev", "eth0", "nodad");
        topics.sendEvent(event("container.started", "ev-e-again", workload)); // applied again: the claim bound
        assertThat(topics.awaitOutcome(o -> "ev-e-again".equals(o.eventId())).status()).isEqualTo("applied");
        assertThat(chain(device)).as("the workload's guard, no guarded container holding %s first", claimed)
                .contains(claimed);

        topics.sendEvent(event("container.started", "ev-f", neighbour));

        assertThat(topics.awaitOutcome(o -> "ev-f".equals(o.eventId())).status()).isEqualTo("applied");
        await("the claim unbound").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                .untilAsserted(() -> assertThat(chain(device)).doesNotContain(claimed));
        assertThat(chain(deviceOf(neighbour))).as("the neighbour's guard").contains(claimed);
    }

    @Test
    void anAppliedContainersOutcomeStopsClaimingTheHostGuardWhileAPodMemberThatCanGetPastItIsBesideIt()
            throws Exception {
        PodmanContainer plain = guarded("ev-g");
        PodmanContainer admin = PODMAN.start("admin", List.of("--network", "container:" + plain.name(), "--cap-add",
                "NET_ADMIN"), "/bin/sleep", "3600");
        topics.sendEvent(event("container.started", "ev-h", admin));
        assertThat(topics.awaitOutcome(o -> "ev-h".equals(o.eventId())).guards()).containsExactly("netns");

        Outcome downgraded = topics.awaitOutcome(o -> plain.id().equals(o.containerId()) && "drift".equals(o.trigger()));
        assertThat(downgraded.status()).isEqualTo("applied");
        assertThat(downgraded.guards()).as("%s", downgraded).containsExactly("netns");
        assertThat(downgraded.risks()).as("what the member beside it can do to their shared rules is its too")
                .containsExactly("CAP_NET_ADMIN");
        assertThat(downgraded.warnings()).anySatisfy(w -> assertThat(w).contains("CAP_NET_ADMIN").contains(admin.id()));
        long resyncs = registry.get("netfence.resync.duration").timer().count();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> registry.get("netfence.resync.duration").timer().count() >= resyncs + 3);
        assertThat(driftOutcomesOf(plain)).as("published once, not at every resync").hasSize(1);

        service.close(); // a restart: what the members hold is read again before the first resync
        startService("1s");
        long afterRestart = registry.get("netfence.resync.duration").timer().count();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> registry.get("netfence.resync.duration").timer().count() >= afterRestart + 3);
        assertThat(driftOutcomesOf(plain)).as("nothing claimed again after the restart").hasSize(1);

        admin.remove();
        topics.sendEvent(event("container.stopped", "ev-h-stop", admin));
        assertThat(topics.awaitOutcome(o -> "ev-h-stop".equals(o.eventId())).status()).isEqualTo("removed");
        await().atMost(Duration.ofSeconds(30)).until(() -> driftOutcomesOf(plain).size() == 2);
        assertThat(driftOutcomesOf(plain).get(1).guards()).as("the member gone").containsExactly("netns", "host");
        assertThat(driftOutcomesOf(plain).get(1).risks()).as("the member gone").isEmpty();
    }

    private List<Outcome> driftOutcomesOf(PodmanContainer c) {
        return topics.outcomes().stream()
                .filter(o -> c.id().equals(o.containerId()) && "drift".equals(o.trigger())).toList();
    }

    /** {@code c}'s IPv6 link-local address, once its duplicate address detection is over. */
    private static String linkLocalPastDad(PodmanContainer c) {
        java.util.regex.Pattern address = java.util.regex.Pattern.compile("inet6 (fe80:[0-9a-f:]+)/64 scope link ");
        return await().atMost(Duration.ofSeconds(10)).until(() -> {
            String line = Sh.ok("nsenter", "-t", Integer.toString(c.pid()), "-n", "ip", "-6", "-o", "addr", "show",
                    "dev", "eth0", "scope", "link");
            java.util.regex.Matcher m = address.matcher(line);
            return m.find() && !line.contains("tentative") ? m.group(1) : null;
        }, a -> a != null);
    }

    private static String chain(String device) {
        return Sh.ok("nft", "list", "chain", "netdev", "netfence", device);
    }

    /** A sandbox container, started and enforced through its container.started event, with its host guard. */
    private PodmanContainer guarded(String eventId) throws Exception {
        return guarded(eventId, PODMAN.sandbox());
    }

    /** {@code sandbox}, enforced through its container.started event, with its host guard. */
    private PodmanContainer guarded(String eventId, PodmanContainer sandbox) throws Exception {
        topics.sendEvent(event("container.started", eventId, sandbox));
        Outcome applied = topics.awaitOutcome(o -> eventId.equals(o.eventId()));
        assertThat(applied.status()).isEqualTo("applied");
        assertThat(applied.guards()).containsExactly("netns", "host");
        assertThat(hostTable()).contains("container=" + sandbox.id());
        assertThat(gauge("netfence.live.containers")).isEqualTo(1.0);
        assertThat(gauge(MeterNames.HOST_GUARDS)).isEqualTo(1.0);
        return sandbox;
    }

    private String deviceOf(PodmanContainer c) {
        String owner = GuardChain.ownerOf(c.id(), c.pid());
        return service.hostGuards().installed().values().stream().filter(g -> g.owner().equals(owner))
                .map(GuardChain::device).findFirst().orElseThrow();
    }

    /** Checked once, right when the outcome is seen: no waiting for a sweep. */
    private void assertNoTrace(PodmanContainer c, String device) {
        String table = hostTable();
        assertThat(table).as("netfence's host table").doesNotContain(c.id()).doesNotContain("chain " + device + " ");
        assertThat(service.hostGuards().installed()).doesNotContainKey(device);
    }

    private static String hostTable() {
        return Sh.run("nft", "list", "table", "netdev", "netfence").stdout();
    }

    private double gauge(String name) {
        return registry.get(name).gauge().value();
    }

    private byte[] event(String type, String eventId, PodmanContainer c) {
        return ("{\"schemaVersion\":1,\"type\":\"" + type + "\",\"eventId\":\"" + eventId + "\",\"occurredAt\":\""
                + Instant.now() + "\",\"nodeId\":\"" + topics.node + "\",\"taskId\":\"task-guardrel\",\"containerId\":\""
                + c.id() + "\",\"runtime\":\"podman\",\"pid\":" + c.pid() + "}").getBytes(StandardCharsets.UTF_8);
    }
}
