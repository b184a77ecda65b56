package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ContainerPidLookup;
import dev.netfence.netns.ProcNamespacePinner;
import dev.netfence.netns.ProcessCommandRunner;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The cloud metadata address against real podman containers with the cgroup check on, where the
 * policy's own blocked list leaves 169.254.0.0/16 out: a peer container holds 169.254.169.254
 * (added inside its namespace; the sandbox reaches it on the bridge). A hostname endpoint whose
 * name resolves to it and to the peer's bridge address opens the bridge address only (before the
 * twenty-sixth session it opened both), and the outcome's warnings name it; with outbound open,
 * the workload connecting to it itself is refused (before the thirtieth session it got through)
 * while the peer's bridge address answers.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostnameRangesPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final String METADATA = "169.254.169.254";
    private static final int PORT = 8080;
    private static final String PROBE_MS = " 2000";

    @Test
    void aHostnameResolvingToTheMetadataAddressOpensNothingThereWhereTheListLeavesItOut() throws Exception {
        PodmanContainer peer = metadataPeer();
        PodmanContainer sandbox = sandboxReachingMetadata();
        Agent probe = sandbox.agent();

        EnforcementResult result = apply(sandbox, List.of(InetAddress.getByName(peer.ipv4()),
                InetAddress.getByName(METADATA)), "\"allowedEndpoints\":[\"metadata.test:" + PORT
                + "\"],\"outbound\":false");

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(probe.send("tcp " + peer.ipv4() + " " + PORT + PROBE_MS)).isEqualTo("OK");
        assertThat(probe.send("tcp " + METADATA + " " + PORT + PROBE_MS)).isEqualTo("REFUSED");
        assertThat(result.warnings()).containsExactly("allowedEndpoints: metadata.test resolved to " + METADATA
                + ", inside 169.254.0.0/16 (loopback, link-local, metadata, multicast, reserved or IPv4 transition), where a"
                + " hostname's address is never allowed");
    }

    @Test
    void theWorkloadConnectingToTheMetadataAddressItselfIsRefusedWhereTheListLeavesItOut() throws Exception {
        PodmanContainer peer = metadataPeer();
        PodmanContainer sandbox = sandboxReachingMetadata();
        Agent probe = sandbox.agent();

        EnforcementResult result = apply(sandbox, List.of(), "\"outbound\":true");

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(probe.send("tcp " + peer.ipv4() + " " + PORT + PROBE_MS)).isEqualTo("OK");
        assertThat(probe.send("tcp " + METADATA + " " + PORT + PROBE_MS)).isEqualTo("REFUSED");
    }

    /** A peer listening on PORT that also holds the metadata address. */
    private static PodmanContainer metadataPeer() throws Exception {
        PodmanContainer peer = PODMAN.start("metadata", List.of(), "/bin/sleep", "3600");
        assertThat(peer.agent().send("listen tcp " + PORT)).isEqualTo("OK");
        Sh.ok("nsenter", "-t", Integer.toString(peer.pid()), "-n", "ip", "addr", "add", METADATA + "/32", "dev", "eth0");
        return peer;
    }

    /** A sandbox routing the metadata address onto the bridge, shown reaching it before any rule. */
    private static PodmanContainer sandboxReachingMetadata() throws Exception {
        PodmanContainer sandbox = PODMAN.sandbox();
        Sh.ok("nsenter", "-t", Integer.toString(sandbox.pid()), "-n", "ip", "route", "add", METADATA + "/32", "dev",
                "eth0");
        // without rules the metadata address answers: the REFUSED of the tests is the policy's doing
        assertThat(sandbox.agent().send("tcp " + METADATA + " " + PORT + PROBE_MS)).isEqualTo("OK");
        return sandbox;
    }

    /** A policy blocking only 192.0.2.0/24 of IPv4, with {@code fields}; metadata.test resolves as given. */
    private static EnforcementResult apply(PodmanContainer sandbox, List<InetAddress> resolved, String fields) {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.AUTO).cgroupCheck(true)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        ProcessCommandRunner runner = new ProcessCommandRunner();
        DefaultEnforcer enforcer = new DefaultEnforcer(config, runner, Clock.systemUTC(), new SimpleMeterRegistry(),
                (hostname, timeout) -> hostname.equals("metadata.test") ? resolved : List.of(),
                new ProcNamespacePinner(new ContainerPidLookup(runner, Clock.systemUTC()), config.procRoot(),
                        config.cgroupCheck()));
        var policy = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\"," + fields
                + ",\"blockedSubnets\":[\"192.0.2.0/24\"],\"dns\":false,\"inbound\":false}")
                .getBytes(StandardCharsets.UTF_8));
        return enforcer.enforce(new EnforcementRequest(sandbox.id(), "podman", sandbox.pid(), policy,
                Clock.systemUTC().instant().plusSeconds(30)));
    }
}
