package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.Icmpv6Probe;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Holes a sandboxed workload could open itself (issue 12), each shown closed on the real kernel
 * with real connections and frames between the "container" namespace and its peer: the special
 * ranges of the default blocked list, and neighbour discovery that only carries what RFC 4861
 * needs. Each test fails against the rules of before issue 12.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class SandboxEscapeKernelTest {
    private static final int PORT = 8011;
    private static final String METADATA = "169.254.169.254";
    private static final String CGNAT = "100.64.0.1";

    private static SandboxNet net;
    private static String nat64;

    @BeforeAll
    static void createSandbox() throws Exception {
        net = SandboxNet.create();
        // special-range addresses on the peer, routed on-link from the container: only inside the
        // two namespaces this test created, never on the host
        String[] v4 = net.peerV4().split("\\.");
        nat64 = "64:ff9b::c612:" + Integer.toHexString(Integer.parseInt(v4[2]) << 8 | Integer.parseInt(v4[3]));
        for (String a : List.of(METADATA + "/32", CGNAT + "/32")) {
            Sh.ok("ip", "-n", net.peerNs(), "addr", "add", a, "dev", "eth0");
            Sh.ok("ip", "-n", net.containerNs(), "route", "add", a, "dev", "eth0");
        }
        Sh.ok("ip", "-n", net.peerNs(), "-6", "addr", "add", nat64 + "/128", "dev", "eth0", "nodad");
        Sh.ok("ip", "-n", net.containerNs(), "-6", "route", "add", nat64 + "/128", "dev", "eth0");
        net.peerListens(PORT);
    }

    @AfterAll
    static void removeSandbox() {
        if (net != null) {
            net.close();
        }
    }

    @BeforeEach
    void resetRules() {
        net.resetRules();
    }

    @Test
    void theDefaultBlockedListClosesTheMetadataServiceCarrierGradeNatAndNat64() throws Exception {
        for (String host : List.of(METADATA, CGNAT, nat64)) {
            assertThat(net.containerTcp(host, PORT)).as("%s without rules", host).isEqualTo("OK");
        }

        EnforcementResult result = enforce(policy("{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":false,"
                + "\"outbound\":true,\"inbound\":false}"));

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(net.containerTcp(METADATA, PORT)).isEqualTo("REFUSED");
        assertThat(net.containerTcp(CGNAT, PORT)).isEqualTo("REFUSED");
        assertThat(net.containerTcp(nat64, PORT)).isEqualTo("REFUSED");
        assertThat(net.containerUdp(METADATA, PORT)).isNotEqualTo("OK");
        // outbound is on: what is not in the list stays reachable
        assertThat(net.containerTcp(net.peerV4(), PORT)).isEqualTo("OK");
        assertThat(net.containerTcp(net.peerV6(), PORT)).isEqualTo("OK");
    }

    @Test
    void neighbourDiscoveryLeavesOnlyWithHopLimit255ToLinkScopeAndNeverAsARouter() throws Exception {
        EnforcementResult result = enforce(policy("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"["
                + net.peerV6() + "]:" + PORT + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}"));
        assertThat(result.status()).as("%s", result).isEqualTo("applied");

        List<String> frames;
        try (Icmpv6Probe.Capture capture = Icmpv6Probe.sniff(net.peerNs(), "eth0")) {
            // what a workload with a raw socket tried: solicitations carrying data off the link
            // scope, with a hop limit that says it may have crossed a router, and a rogue router
            // advertisement
            Icmpv6Probe.send(net.containerNs(), net.peerV6(), 135, 255, "eth0");
            Icmpv6Probe.send(net.containerNs(), "ff02::1", 135, 64, "eth0");
            Icmpv6Probe.send(net.containerNs(), "ff02::1", 134, 255, "eth0");
            // the form neighbour discovery really has still leaves (the capture works)
            assertThat(Icmpv6Probe.send(net.containerNs(), "ff02::1", 135, 255, "eth0")).isEqualTo("SENT");
            frames = capture.frames();
        }

        List<String> marked = frames.stream().filter(f -> f.endsWith("marker=yes")).toList();
        assertThat(marked).containsExactly("type=135 hl=255 dst=ff02::1 marker=yes");
    }

    @Test
    void multicastListenerReportsLeaveAndNeighbourResolutionStillWorksUnderTheRules() throws Exception {
        EnforcementResult result = enforce(policy("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"["
                + net.peerV6() + "]:" + PORT + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}"));
        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        Sh.ok("ip", "-n", net.containerNs(), "neigh", "flush", "dev", "eth0");
        Sh.ok("ip", "-n", net.peerNs(), "neigh", "flush", "dev", "eth0");

        List<String> frames;
        try (Icmpv6Probe.Capture capture = Icmpv6Probe.sniff(net.peerNs(), "eth0")) {
            Sh.ok("ip", "netns", "exec", net.containerNs(), "python3", "-c", JOIN_GROUP);
            assertThat(net.containerTcp(net.peerV6(), PORT)).isEqualTo("OK");
            frames = capture.frames();
        }

        assertThat(frames).anyMatch(f -> f.startsWith("type=143 hl=1 dst=ff02::16 "));
        assertThat(frames).anyMatch(f -> f.startsWith("type=135 hl=255 dst=ff02::1:ff"));
    }

    /** Joins ff02::1:4e46 on eth0 for a second: the kernel sends MLDv2 reports to ff02::16. */
    private static final String JOIN_GROUP = "import socket, struct, time\n"
            + "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
            + "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, 'ff02::1:4e46')"
            + " + struct.pack('@I', socket.if_nametoindex('eth0')))\n"
            + "time.sleep(1)\n";

    private static NetworkPolicy policy(String json) {
        return new PolicyParser().parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private static EnforcementResult enforce(NetworkPolicy policy) {
        EnforcerConfig config = EnforcerConfig.defaults().withBackend(BackendChoice.NFT)
                .withBackoff(Duration.ofMillis(10), Duration.ofMillis(50));
        DefaultEnforcer enforcer = new DefaultEnforcer(config, new ProcessCommandRunner(), Clock.systemUTC(),
                new SimpleMeterRegistry());
        return enforcer.enforce(new EnforcementRequest(null, null, net.containerPid(), policy,
                Clock.systemUTC().instant().plusSeconds(20)));
    }
}
