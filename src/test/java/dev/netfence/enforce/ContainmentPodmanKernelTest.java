package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.testkit.Agent;
import dev.netfence.testkit.ExitedLeader;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.Streams;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 12 items 2, 6, 7 and 8, and the bounded read-back, against real podman containers (runc, netavark bridge,
 * {@code libpod-<id>} cgroups) with the cgroup check on and the default backend (item 2 with both
 * backends: the netlink flush in its own namespace-thread trip after iptables-nft, inside the apply's trip after nft). The probes run from the host side inside
 * the containers' namespaces ({@link PodmanContainer#agent()}); the peer records what reached it.
 * Item 9 is {@link CapabilityRisksPodmanKernelTest}.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class ContainmentPodmanKernelTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int HTTP = 8080;
    private static final int BLOCKED = 7300;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @Test
    void item6TheCgroupCheckAcceptsTheContainersWholeIdOnlyNotAPartOfIt() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer sandbox = PODMAN.sandbox();
        Agent recorder = recorder(peer);
        Agent probe = sandbox.agent();
        NetworkPolicy policy = allowing(peer, HTTP + "/tcp");

        for (String part : List.of(sandbox.id().substring(0, 12), sandbox.id().substring(1), "libpod", "s")) {
            EnforcementResult refused = enforcer(Set.of()).enforce(request(part, sandbox, null, policy));
            assertThat(refused.error()).as("container id %s", part).isNotNull();
            assertThat(refused.error().code()).as("container id %s", part).isEqualTo("NAMESPACE_MISMATCH");
        }
        assertThat(probe.send("tcp " + peer.ipv4() + " " + BLOCKED + " 2000")).as("nothing was written").isEqualTo("OK");

        EnforcementResult applied = enforcer(Set.of()).enforce(request(sandbox.id(), sandbox, sandbox.sandboxKey(), policy));

        assertThat(applied.status()).as("%s", applied).isEqualTo("applied");
        assertThat(probe.send("tcp " + peer.ipv4() + " " + HTTP + " 2000")).isEqualTo("OK");
        assertThat(probe.send("tcp " + peer.ipv4() + " " + BLOCKED + " 1500")).isNotEqualTo("OK");
        assertThat(recorder.send("seen " + BLOCKED)).as("the peer saw only the connection before the apply")
                .isEqualTo("tcp/" + sandbox.ipv4());
    }

    @ParameterizedTest(name = "backend {0}")
    @ValueSource(strings = {"iptables-nft", "nft"})
    void item2FlowsOpenedBeforeAStricterApplyStopWithinOneSecondAndAnAllowedStreamGoesOn(String backend) throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer sandbox = PODMAN.sandbox();
        Agent echo = peer.agent();
        for (String listen : List.of("listen echo 7400", "listen udp 7401", "listen echo 7402")) {
            assertThat(echo.send(listen)).isEqualTo("OK");
        }
        DefaultEnforcer enforcer = enforcer(Set.of(), BackendChoice.parse(backend));
        assertThat(enforcer.enforce(request(sandbox.id(), sandbox, sandbox.sandboxKey(),
                allowing(peer, "7400/tcp", "7401/udp", "7402/tcp"))).status()).isEqualTo("applied");
        Agent streams = sandbox.agent();
        assertThat(streams.send("stream open tcp tcp " + peer.ipv4() + " 7400")).isEqualTo("OK");
        assertThat(streams.send("stream open udp udp " + peer.ipv4() + " 7401")).isEqualTo("OK");
        assertThat(streams.send("stream open allowed tcp " + peer.ipv4() + " 7402")).isEqualTo("OK");
        Streams.awaitFlowing(streams, "tcp", "udp");

        assertThat(enforcer.enforce(request(sandbox.id(), sandbox, sandbox.sandboxKey(), allowing(peer, "7402/tcp")))
                .status()).isEqualTo("applied");
        Streams.assertForbiddenStopAndAllowedGoesOn(streams, List.of("tcp", "udp"), "allowed", true);
    }

    @Test
    void item7AContainerWhosePidMovedIntoANewNamespaceIsRefusedWithAndWithoutItsSandboxPath() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer moved = PODMAN.start("moved", List.of("--cap-add", "SYS_ADMIN"),
                "/bin/unshare", "-n", "/bin/sleep", "3600");
        awaitOwnNamespace(moved);
        NetworkPolicy policy = allowing(peer, HTTP + "/tcp");

        EnforcementResult withNetns = enforcer(Set.of()).enforce(request(moved.id(), moved, moved.sandboxKey(), policy));
        EnforcementResult withoutNetns = enforcer(Set.of()).enforce(request(moved.id(), moved, null, policy));

        assertThat(withNetns.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        assertThat(withNetns.error().message()).contains("is not in the namespace " + moved.sandboxKey());
        assertThat(withNetns.quarantined()).as("the runtime's namespace, no process of it left there: by its path")
                .isTrue();
        assertThat(withNetns.target().netnsInode()).isEqualTo(dev.netfence.netns.NamespaceId.of(moved.sandboxKey()).inode());
        assertThat(withoutNetns.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        assertThat(withoutNetns.error().message()).contains("namespace has no network interface");
        assertThat(rulesIn("--net=" + moved.sandboxKey())).as("the quarantine in the runtime's namespace")
                .containsIgnoringCase("netfence");
        assertThat(rulesIn("--net=/proc/" + moved.pid() + "/ns/net")).as("nothing in the pid's own")
                .doesNotContainIgnoringCase("netfence");
    }

    private static String rulesIn(String ns) {
        return Sh.ok("nsenter", ns, "--", "iptables-nft-save", "-t", "filter") + Sh.ok("nsenter", ns, "--", "nft", "list",
                "ruleset");
    }

    @Test
    void item8ASecondContainerInTheSameNamespaceCannotReplaceTheFirstsRulesWithAnotherPolicy() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        Agent recorder = recorder(peer);
        PodmanContainer a = PODMAN.sandbox();
        PodmanContainer b = PODMAN.start("pod-b", List.of("--network", "container:" + a.name()), "/bin/sleep", "3600");
        Agent probe = a.agent();
        DefaultEnforcer enforcer = enforcer(Set.of());

        assertThat(enforcer.enforce(request(a.id(), a, a.sandboxKey(), allowing(peer, HTTP + "/tcp"))).status())
                .isEqualTo("applied");
        EnforcementResult other = enforcer.enforce(request(b.id(), b, a.sandboxKey(), allowing(peer, BLOCKED + "/tcp")));

        assertThat(other.status()).isEqualTo("failed");
        assertThat(other.error().code()).isEqualTo("NAMESPACE_SHARED");
        assertThat(other.quarantined()).isFalse();
        assertThat(probe.send("tcp " + peer.ipv4() + " " + BLOCKED + " 1500")).as("A's blocked port").isNotEqualTo("OK");
        assertThat(probe.send("tcp " + peer.ipv4() + " " + HTTP + " 2000")).isEqualTo("OK");
        assertThat(recorder.send("seen " + BLOCKED)).isEqualTo("NONE");

        EnforcementResult same = enforcer.enforce(request(b.id(), b, a.sandboxKey(), allowing(peer, HTTP + "/tcp")));
        assertThat(same.status()).as("%s", same).isEqualTo("applied");
    }

    @Test
    void aQuarantinedContainerOfAPodStaysQuarantinedThroughTheOtherContainersResync() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer a = PODMAN.sandbox();
        PodmanContainer b = PODMAN.start("pod-b", List.of("--network", "container:" + a.name(), "--cap-add", "NET_ADMIN"),
                "/bin/sleep", "3600");
        Agent probe = a.agent();
        DefaultEnforcer enforcer = enforcer(Set.of("CAP_NET_ADMIN"));
        NetworkPolicy policy = allowing(peer, HTTP + "/tcp");
        assertThat(enforcer.enforce(request(a.id(), a, a.sandboxKey(), policy)).status()).isEqualTo("applied");
        assertThat(probe.send("tcp " + peer.ipv4() + " " + HTTP + " 2000")).isEqualTo("OK");
        EnforcementResult refused = enforcer.enforce(request(b.id(), b, a.sandboxKey(), policy));
        assertThat(refused.error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(refused.quarantined()).isTrue();

        EnforcementResult resync = enforcer.reconcile(request(a.id(), a, a.sandboxKey(), policy));

        assertThat(resync.error()).as("%s", resync).isNotNull();
        assertThat(resync.error().code()).isEqualTo("NAMESPACE_QUARANTINED");
        assertThat(resync.quarantined()).isTrue();
        assertThat(probe.send("tcp " + peer.ipv4() + " " + HTTP + " 1500")).as("the quarantine holds").isNotEqualTo("OK");

        b.remove();
        EnforcementResult after = enforcer.reconcile(request(a.id(), a, a.sandboxKey(), policy));
        assertThat(after.status()).as("B removed: %s", after).isEqualTo("applied");
        assertThat(probe.send("tcp " + peer.ipv4() + " " + HTTP + " 2000")).isEqualTo("OK");
    }

    @Test
    void aProcessOfTheContainerWhoseMainThreadExitedIsEnforcedThroughItsLiveThreadWithTheCgroupCheckOn()
            throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer box = PODMAN.sandbox();
        Agent recorder = recorder(peer);
        try (ExitedLeader workload = ExitedLeader.startInNamespaceOf(box.pid())) {
            box.adopt(workload.pid()); // one of the container's processes: its namespace and its cgroups
            workload.exitLeader(); // its /proc/PID/ns/net and net/dev answer ENOENT, its cgroup names the root

            EnforcementResult r = enforcer(Set.of()).enforce(new EnforcementRequest(box.id(), "podman",
                    workload.pid(), box.sandboxKey(), allowing(peer, HTTP + "/tcp"), Clock.systemUTC().instant()
                            .plusSeconds(30)));

            assertThat(r.status()).as("%s", r).isEqualTo("applied");
            assertThat(box.agent().send("tcp " + peer.ipv4() + " " + BLOCKED + " 1500")).isNotEqualTo("OK");
            assertThat(recorder.send("seen " + BLOCKED)).as("the peer never saw the blocked port").isEqualTo("NONE");
        }
    }

    @Test
    void aWorkloadThatFillsItsRulesetIsNeitherListedBackNorLetOut() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer sandbox = PODMAN.sandbox();
        Agent recorder = recorder(peer);
        Agent probe = sandbox.agent();
        NetworkPolicy policy = allowing(peer, HTTP + "/tcp");
        DefaultEnforcer enforcer = enforcer(Set.of());
        dev.netfence.nft.InProcessNft nft = dev.netfence.nft.InProcessNft.shared(8);
        // as the workload with CAP_NET_ADMIN would: 20,000 rules of a table of its own, accepting everything it names
        asTheWorkload(sandbox, "add table inet bloat\nadd chain inet bloat out { type filter hook output priority -10; }\n"
                + rules(20_000, "inet bloat out"));
        long before = nft.readBackSize();

        EnforcementResult applied = enforcer.enforce(request(sandbox.id(), sandbox, sandbox.sandboxKey(), policy));

        assertThat(applied.status()).as("%s", applied).isEqualTo("applied");
        assertThat(nft.readBackSize() - before).as("netfence's table alone was listed back").isBetween(1L, 64L * 1024);
        assertThat(probe.send("tcp " + peer.ipv4() + " " + HTTP + " 2000")).isEqualTo("OK");
        assertThat(probe.send("tcp " + peer.ipv4() + " " + BLOCKED + " 1500")).isNotEqualTo("OK");

        // and 20,000 rules added to netfence's own table: found by the resync without listing them, and replaced
        asTheWorkload(sandbox, rules(20_000, "inet netfence output"));
        before = nft.readBackSize();
        EnforcementResult repaired = enforcer.reconcile(request(sandbox.id(), sandbox, sandbox.sandboxKey(), policy));
        assertThat(repaired.status()).as("%s", repaired).isEqualTo("applied");
        assertThat(nft.readBackSize() - before).as("only the rewritten table was listed back").isBetween(1L, 64L * 1024);
        assertThat(Sh.ok("nsenter", "-t", Integer.toString(sandbox.pid()), "-n", "nft", "list", "table", "inet", "netfence"))
                .doesNotContain("10.0.0.1");
        assertThat(probe.send("tcp " + peer.ipv4() + " " + BLOCKED + " 1500")).isNotEqualTo("OK");
        assertThat(recorder.send("seen " + BLOCKED)).as("the peer never saw the blocked port").isEqualTo("NONE");
    }

    /** Runs {@code nft -f} with {@code script} in the container's network namespace, as its workload could. */
    private static void asTheWorkload(PodmanContainer c, String script) throws Exception {
        Path file = java.nio.file.Files.createTempFile("netfence-workload", ".nft");
        try {
            java.nio.file.Files.writeString(file, script);
            Sh.ok("nsenter", "-t", Integer.toString(c.pid()), "-n", "nft", "-f", file.toString());
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    private static String rules(int n, String chain) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append("add rule ").append(chain).append(" ip daddr 10.").append(i / 250).append('.').append(i % 250)
                    .append(".1 tcp dport ").append(1000 + i % 5000).append(" accept\n");
        }
        return sb.toString();
    }

    private static EnforcementRequest request(String containerId, int pid, Path netns, NetworkPolicy policy) {
        return new EnforcementRequest(containerId, "podman", pid, netns, policy, Clock.systemUTC().instant().plusSeconds(30));
    }

    private static Agent recorder(PodmanContainer peer) throws Exception {
        Agent recorder = peer.agent();
        assertThat(recorder.send("listen tcp " + BLOCKED)).isEqualTo("OK");
        return recorder;
    }

    private static void awaitOwnNamespace(PodmanContainer c) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (!Sh.ok("readlink", "/proc/" + c.pid() + "/ns/net").strip()
                    .equals("net:[" + dev.netfence.netns.NamespaceId.of(c.sandboxKey()).inode() + "]")) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException(c + " did not move into a namespace of its own: " + c.logs());
    }

    private DefaultEnforcer enforcer(Set<String> refuse) {
        return enforcer(refuse, BackendChoice.AUTO);
    }

    private DefaultEnforcer enforcer(Set<String> refuse, BackendChoice backend) {
        EnforcerConfig config = EnforcerConfig.custom().backend(backend).cgroupCheck(true)
                .refuseCapabilities(refuse).backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        return new DefaultEnforcer(config, new ProcessCommandRunner(), Clock.systemUTC(), registry);
    }

    private static EnforcementRequest request(String containerId, PodmanContainer c, Path netns, NetworkPolicy policy) {
        return new EnforcementRequest(containerId, "podman", c.pid(), netns, policy, Clock.systemUTC().instant().plusSeconds(30));
    }

    private static NetworkPolicy allowing(PodmanContainer peer, String... ports) {
        return Streams.allowingOnly(peer.ipv4(), ports);
    }
}
