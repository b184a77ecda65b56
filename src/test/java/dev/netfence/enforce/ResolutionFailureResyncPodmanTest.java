package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ContainerPidLookup;
import dev.netfence.netns.ProcNamespacePinner;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review 57 #1 against real podman containers, the cgroup check on: while the policy's hostname
 * does not resolve (the tenant's zone answering NXDOMAIN), the workload, holding CAP_NET_ADMIN for
 * the test (nsenter into its namespace), flushes its rules and reaches a neighbour container its
 * policy forbids; a resync still reads the rules back and puts them back with the answers they
 * were last verified with, and says so. Before, the resync failed RESOLUTION_FAILED ahead of its
 * read-back and the neighbour stayed reachable.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class ResolutionFailureResyncPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int PORT = 8080;
    private static final String PROBE_MS = " 2000";
    private static final String NAME = "api.tenant.test";

    @Test
    void aResyncWhileTheNameDoesNotResolvePutsBackWhatTheWorkloadFlushed() throws Exception {
        PodmanContainer allowed = listening("allowed");
        PodmanContainer forbidden = listening("forbidden");
        PodmanContainer sandbox = PODMAN.sandbox();
        Agent probe = sandbox.agent();
        AtomicBoolean nxdomain = new AtomicBoolean();
        InetAddress answer = InetAddress.getByName(allowed.ipv4()); // a literal: no lookup
        DefaultEnforcer enforcer = enforcer((hostname, timeout) -> {
            if (nxdomain.get()) {
                throw new EnforcementException(ErrorCode.RESOLUTION_FAILED, "could not resolve " + hostname
                        + ": unknown host");
            }
            return List.of(answer);
        });

        EnforcementResult first = enforcer.enforce(request(sandbox, Map.of()));
        assertThat(first.status()).as("%s", first).isEqualTo("applied");
        assertThat(probe.send("tcp " + allowed.ipv4() + " " + PORT + PROBE_MS)).isEqualTo("OK");
        assertThat(probe.send("tcp " + forbidden.ipv4() + " " + PORT + PROBE_MS)).isEqualTo("REFUSED");

        nxdomain.set(true);
        Sh.ok("nsenter", "-t", Integer.toString(sandbox.pid()), "-n", "nft", "flush", "ruleset");
        assertThat(probe.send("tcp " + forbidden.ipv4() + " " + PORT + PROBE_MS)).as("flushed").isEqualTo("OK");

        EnforcementResult resync = enforcer.reconcile(request(sandbox, first.resolved()));

        assertThat(resync.status()).as("%s", resync).isEqualTo("applied");
        assertThat(resync.drift()).as("the flush, found and reported: %s", resync).isNotNull();
        assertThat(resync.resolved()).isEqualTo(first.resolved());
        assertThat(resync.warnings()).containsExactly("allowedEndpoints: " + NAME + " did not resolve at this resync;"
                + " the 1 address(es) its rules were last verified with are kept until it resolves again");
        assertThat(probe.send("tcp " + forbidden.ipv4() + " " + PORT + PROBE_MS)).as("closed again")
                .isEqualTo("REFUSED");
        assertThat(probe.send("tcp " + allowed.ipv4() + " " + PORT + PROBE_MS)).isEqualTo("OK");
    }

    private static PodmanContainer listening(String role) throws Exception {
        PodmanContainer peer = PODMAN.start(role, List.of(), "/bin/sleep", "3600");
        assertThat(peer.agent().send("listen tcp " + PORT)).isEqualTo("OK");
        return peer;
    }

    private static DefaultEnforcer enforcer(dev.netfence.netns.EndpointResolver resolver) {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.AUTO).cgroupCheck(true)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        ProcessCommandRunner runner = new ProcessCommandRunner();
        return new DefaultEnforcer(config, runner, Clock.systemUTC(), new SimpleMeterRegistry(), resolver,
                new ProcNamespacePinner(new ContainerPidLookup(runner, Clock.systemUTC()), config.procRoot(),
                        config.cgroupCheck()));
    }

    /** The policy allowing {@link #NAME} only (192.0.2.0/24 blocked, so podman's bridge is not), with {@code last}. */
    private static EnforcementRequest request(PodmanContainer sandbox, Map<String, List<String>> last) {
        NetworkPolicy policy = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\""
                + NAME + ":" + PORT + "\"],\"blockedSubnets\":[\"192.0.2.0/24\"],\"dns\":false,\"outbound\":false,"
                + "\"inbound\":false}").getBytes(StandardCharsets.UTF_8));
        return new EnforcementRequest(sandbox.id(), "podman", sandbox.pid(), null, policy,
                Clock.systemUTC().instant().plusSeconds(30), null, last);
    }
}
