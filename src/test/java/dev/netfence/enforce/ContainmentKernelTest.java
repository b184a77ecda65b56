package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.CapabilityWorkload;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.ProcCapabilities;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 12 items 7, 8, 9 and 10 against the real kernel with namespaces the test makes (the podman
 * versions are in {@link ContainmentPodmanKernelTest}): a pid that moved into a new namespace,
 * two containers in one namespace with different policies, risky capabilities (also one kept
 * only in the permitted set, hidden from a look at the effective and bounding sets), and
 * {@code netfence apply} on a host whose name does not resolve.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class ContainmentKernelTest {
    private static final int ALLOWED = 8101;
    private static final int OTHER = 8102;

    private SandboxNet net;
    private final List<Process> started = new ArrayList<>();

    @BeforeEach
    void createSandbox() throws Exception {
        net = SandboxNet.create();
        net.peerListens(ALLOWED);
        net.peerListens(OTHER);
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : started) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (net != null) {
            net.close();
        }
    }

    @Test
    void item7APidThatMovedIntoAnEmptyNamespaceIsRefusedAndItsSiblingsNamespaceIsNamedByNetns() throws Exception {
        Process moved = start("ip", "netns", "exec", net.containerNs(), "unshare", "--net", "sleep", "infinity");
        awaitNamespaceOtherThan(moved, Path.of("/run/netns", net.containerNs()));

        EnforcementResult withoutNetns = enforcer(Set.of()).enforce(request(null, (int) moved.pid(), null, allowing()));
        EnforcementResult withNetns = enforcer(Set.of())
                .enforce(request(null, (int) moved.pid(), Path.of("/run/netns", net.containerNs()), allowing()));

        assertThat(withoutNetns.status()).isEqualTo("failed");
        assertThat(withoutNetns.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        assertThat(withoutNetns.error().message()).contains("namespace has no network interface");
        assertThat(withNetns.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        String movedNs = "--net=/proc/" + moved.pid() + "/ns/net";
        assertThat(Sh.ok("nsenter", movedNs, "--", "iptables-nft-save", "-t", "filter")
                + Sh.ok("nsenter", movedNs, "--", "nft", "list", "ruleset")).doesNotContainIgnoringCase("netfence");
        assertThat(net.containerTcp(net.peerV4(), OTHER)).as("nothing written in the real namespace either").isEqualTo("OK");

        EnforcementResult sibling = enforcer(Set.of())
                .enforce(request(null, net.containerPid(), Path.of("/run/netns", net.containerNs()), allowing()));
        assertThat(sibling.status()).as("%s", sibling).isEqualTo("applied");
        assertThat(net.containerTcp(net.peerV4(), OTHER)).isNotEqualTo("OK");
    }

    @Test
    void item8ASecondContainerWithAnotherPolicyInAnEnforcedNamespaceIsRefusedAndChangesNothing() throws Exception {
        Process second = start("ip", "netns", "exec", net.containerNs(), "sleep", "infinity");
        DefaultEnforcer enforcer = enforcer(Set.of());
        assertThat(enforcer.enforce(request("container-a-000000001", net.containerPid(), null, allowing())).status())
                .isEqualTo("applied");
        assertThat(net.containerTcp(net.peerV4(), OTHER)).isNotEqualTo("OK");

        EnforcementResult b = enforcer.enforce(request("container-b-000000002", (int) second.pid(), null, allowingOther()));

        assertThat(b.status()).isEqualTo("failed");
        assertThat(b.error().code()).isEqualTo("NAMESPACE_SHARED");
        // refused before its rules (and, without --refuse-capabilities, before its capabilities) were
        // read: the outcome names its risks all the same
        assertThat(b.risks()).containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW", "NO_SECCOMP");
        assertThat(net.containerTcp(net.peerV4(), OTHER)).as("A's blocked port stays blocked").isNotEqualTo("OK");
        assertThat(net.containerTcp(net.peerV4(), ALLOWED)).isEqualTo("OK");
        assertThat(enforcer.enforce(request("container-b-000000002", (int) second.pid(), null, allowing())).status())
                .as("the same policy").isEqualTo("applied");
    }

    @Test
    void item8AnOwnerWhoseProcessExitedNoLongerHoldsItsNamespace() throws Exception {
        Process first = start("ip", "netns", "exec", net.containerNs(), "sleep", "infinity");
        NamespaceWorkloads.awaitExec(first, "sleep");
        DefaultEnforcer enforcer = enforcer(Set.of());
        assertThat(enforcer.enforce(request("container-a-000000001", (int) first.pid(), null, allowing())).status())
                .isEqualTo("applied");
        EnforcementResult whileAlive = enforcer.enforce(
                request("container-b-000000002", net.containerPid(), null, allowingOther()));
        assertThat(whileAlive.error()).as("%s", whileAlive).isNotNull();
        assertThat(whileAlive.error().code()).isEqualTo("NAMESPACE_SHARED");

        first.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        EnforcementResult b = enforcer.enforce(request("container-b-000000002", net.containerPid(), null, allowingOther()));

        assertThat(b.status()).as("%s", b).isEqualTo("applied");
        assertThat(net.containerTcp(net.peerV4(), OTHER)).as("B's policy is in force").isEqualTo("OK");
    }

    @Test
    void aQuarantineInASharedNamespaceIsNotLiftedByTheOtherContainersResyncWhileItsContainerLives() throws Exception {
        Process a = start("ip", "netns", "exec", net.containerNs(), "setpriv", "--bounding-set=-net_admin,-net_raw",
                "--inh-caps=-all", "sleep", "infinity");
        Process b = start("ip", "netns", "exec", net.containerNs(), "sleep", "infinity"); // root, every capability
        NamespaceWorkloads.awaitExec(a, "sleep");
        NamespaceWorkloads.awaitExec(b, "sleep");
        DefaultEnforcer enforcer = enforcer(Set.of("CAP_NET_ADMIN"));
        assertThat(enforcer.enforce(request("container-a-000000001", (int) a.pid(), null, allowing())).status())
                .isEqualTo("applied");
        assertThat(net.containerTcp(net.peerV4(), ALLOWED)).isEqualTo("OK");
        EnforcementResult refused = enforcer.enforce(request("container-b-000000002", (int) b.pid(), null, allowing()));
        assertThat(refused.error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(refused.quarantined()).isTrue();
        var recorded = dev.netfence.netns.NamespaceId.of(Path.of("/proc/" + a.pid() + "/ns/net"));

        // what A's resync does: its rules differ from its plan (they are B's quarantine), so it would write them again
        EnforcementResult resync = enforcer.reconcile(request("container-a-000000001", (int) a.pid(), null, allowing()),
                recorded);

        assertThat(resync.error()).as("%s", resync).isNotNull();
        assertThat(resync.error().code()).isEqualTo("NAMESPACE_QUARANTINED");
        assertThat(resync.error().message()).contains("container-b-000000002").contains("UNSAFE_CAPABILITIES");
        assertThat(resync.quarantined()).isTrue();
        assertThat(net.containerTcp(net.peerV4(), ALLOWED)).as("B's quarantine stays in force").isNotEqualTo("OK");

        b.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        EnforcementResult after = enforcer.reconcile(request("container-a-000000001", (int) a.pid(), null, allowing()),
                recorded);
        assertThat(after.status()).as("B gone: %s", after).isEqualTo("applied");
        assertThat(net.containerTcp(net.peerV4(), ALLOWED)).isEqualTo("OK");
    }

    @Test
    void item9ARootProcessWithFullCapabilitiesIsReportedAndRefusedOneWithoutThemIsNot() throws Exception {
        Process dropped = start("ip", "netns", "exec", net.containerNs(), "setpriv", "--bounding-set=-net_admin,-net_raw",
                "--inh-caps=-all", "sleep", "infinity");
        NamespaceWorkloads.awaitExec(dropped, "sleep");

        EnforcementResult full = enforcer(Set.of()).enforce(request(null, net.containerPid(), null, allowing()));
        EnforcementResult safe = enforcer(Set.of()).enforce(request(null, (int) dropped.pid(), null, allowing()));

        assertThat(full.status()).isEqualTo("applied");
        assertThat(full.risks()).containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW", "NO_SECCOMP");
        assertThat(safe.status()).isEqualTo("applied");
        assertThat(safe.risks()).as("no capability; started without a seccomp filter, as the test's processes are")
                .containsExactly("NO_SECCOMP");

        EnforcementResult refused = enforcer(Set.of("CAP_NET_ADMIN"))
                .enforce(request(null, net.containerPid(), null, allowing()));

        assertThat(refused.error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(refused.quarantined()).isTrue();
        assertThat(net.containerTcp(net.peerV4(), ALLOWED)).as("quarantined").isNotEqualTo("OK");
    }

    @Test
    void item9ACapabilityHiddenFromTheEffectiveAndBoundingSetsButStillPermittedIsReportedAndRefused() throws Exception {
        try (CapabilityWorkload hiding = CapabilityWorkload.start("hide", "ip", "netns", "exec", net.containerNs())) {
            hiding.arm();
            assertThat(ProcCapabilities.holds(hiding.pid(), "CapEff", 12)).as("not effective").isFalse();
            assertThat(ProcCapabilities.holds(hiding.pid(), "CapBnd", 12)).as("not in the bounding set").isFalse();

            EnforcementResult reported = enforcer(Set.of()).enforce(request(null, (int) hiding.pid(), null, allowing()));
            EnforcementResult refused = enforcer(Set.of("CAP_NET_ADMIN"))
                    .enforce(request(null, (int) hiding.pid(), null, allowing()));

            assertThat(reported.status()).isEqualTo("applied");
            assertThat(reported.risks()).contains("CAP_NET_ADMIN");
            assertThat(refused.error().code()).isEqualTo("UNSAFE_CAPABILITIES");
            assertThat(refused.quarantined()).isTrue();
            assertThat(hiding.use()).as("one capset, and the workload uses it").isEqualTo("used");
        }
    }

    @Test
    void item10ApplyOnAHostWhoseNameDoesNotResolveAppliesAndPrintsItsOutcome() throws Exception {
        Path policy = Files.createTempFile("nf-policy-", ".json");
        try {
            Files.writeString(policy, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + net.peerV4() + ":"
                    + ALLOWED + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}");
            String java = ProcessHandle.current().info().command().orElse("java");
            String host = "nf-unresolvable-" + net.containerNs() + ".invalid";
            Process apply = new ProcessBuilder("unshare", "--uts", "sh", "-c", "hostname \"$0\" && exec \"$@\"", host, java,
                    "-cp", System.getProperty("java.class.path"), "dev.netfence.cli.Main", "apply", "--policy",
                    policy.toString(), "--pid", Long.toString(net.containerPid()), "--iptables-backend", "nft")
                    .redirectErrorStream(true).start();
            started.add(apply);
            String out = new String(apply.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(apply.waitFor(120, TimeUnit.SECONDS)).isTrue();

            assertThat(apply.exitValue()).as(out).isZero();
            assertThat(out).contains("\"status\" : \"applied\"").contains("\"instance\" : \"" + host + "/");
            assertThat(net.containerTcp(net.peerV4(), OTHER)).isNotEqualTo("OK");
        } finally {
            Files.deleteIfExists(policy);
        }
    }

    private Process start(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        started.add(p);
        return p;
    }

    private static void awaitNamespaceOtherThan(Process p, Path ns) throws Exception {
        long other = dev.netfence.netns.NamespaceId.of(ns).inode();
        for (int i = 0; i < 400; i++) {
            try {
                String cmd = Files.readString(Path.of("/proc/" + p.pid() + "/cmdline"));
                if (cmd.startsWith("sleep") && dev.netfence.netns.NamespaceId.of(Path.of("/proc/" + p.pid() + "/ns/net"))
                        .inode() != other) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // starting
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("process " + p.pid() + " did not move into a namespace of its own");
    }

    private static DefaultEnforcer enforcer(Set<String> refuse) {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.NFT).cgroupCheck(false)
                .refuseCapabilities(refuse).backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        return new DefaultEnforcer(config, new ProcessCommandRunner(), Clock.systemUTC(), new SimpleMeterRegistry());
    }

    private static EnforcementRequest request(String containerId, int pid, Path netns, NetworkPolicy policy) {
        return new EnforcementRequest(containerId, null, pid, netns, policy, Clock.systemUTC().instant().plusSeconds(30));
    }

    private NetworkPolicy allowing() {
        return policy(ALLOWED);
    }

    private NetworkPolicy allowingOther() {
        return policy(OTHER);
    }

    private NetworkPolicy policy(int port) {
        return new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + net.peerV4()
                + ":" + port + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8));
    }
}
