package dev.netfence.enforce;

import static dev.netfence.enforce.SandboxEnforcement.policy;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.SandboxNetExtension;
import dev.netfence.testkit.Sh;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A workload that held CAP_NET_ADMIN before the apply (and dropped it, so its outcome lists no
 * risk: HostGuardForwardingPodmanTest shows that with podman; this namespace's agent keeps its
 * capabilities) routed a namespace of its own through the container's: a veth into it, forwarding on, a
 * masquerade on {@code eth0}, both families (done here from the test, as that workload would
 * have). What the container forwards passes neither OUTPUT nor INPUT, so before netfence's
 * forward chain the routed namespace reached every port of the peer under an {@code applied}
 * outcome, the forbidden ones included (reproduced against podman, HostGuardForwardingPodmanTest).
 * Now nothing is forwarded at all, in either family and with every backend (iptables-nft,
 * iptables-legacy, nft), while the
 * container's own allowed connection still works and its forbidden one stays closed.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
@ParameterizedClass(name = "backend {0}")
@ValueSource(strings = {"iptables-nft", "iptables-legacy", "nft"})
class ForwardingKernelTest {
    @Parameter
    String backend;

    static final int ALLOWED = 8031;
    static final int FORBIDDEN = 8032;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening(ALLOWED, FORBIDDEN);

    private String routed;
    private Agent routedAgent;

    @BeforeEach
    void routeANamespaceThroughTheContainers() throws Exception {
        net().resetRules();
        if (backend.equals("iptables-legacy")) {
            net().resetLegacyRules();
        }
        String id = HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
        String c = net().containerNs();
        routed = "nfw-" + id;
        Sh.ok("ip", "netns", "add", routed);
        Sh.ok("ip", "-n", c, "link", "add", "nfwa" + id, "type", "veth", "peer", "name", "nfwb" + id, "netns", routed);
        // the workload's part, while it held CAP_NET_ADMIN: addresses, forwarding, a masquerade of its own
        Sh.ok("ip", "-n", c, "addr", "add", "198.19.254.1/30", "dev", "nfwa" + id);
        Sh.ok("ip", "-n", c, "addr", "add", "2001:db8:ffff::1/64", "dev", "nfwa" + id, "nodad");
        Sh.ok("ip", "-n", c, "link", "set", "nfwa" + id, "up");
        Sh.ok("ip", "netns", "exec", c, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
        Sh.ok("ip", "netns", "exec", c, "nft", "add table ip wl; add chain ip wl post { type nat hook postrouting"
                + " priority 100; }; add rule ip wl post oifname eth0 masquerade; add table ip6 wl; add chain ip6 wl"
                + " post { type nat hook postrouting priority 100; }; add rule ip6 wl post oifname eth0 masquerade");
        Sh.ok("ip", "-n", routed, "addr", "add", "198.19.254.2/30", "dev", "nfwb" + id);
        Sh.ok("ip", "-n", routed, "addr", "add", "2001:db8:ffff::2/64", "dev", "nfwb" + id, "nodad");
        Sh.ok("ip", "-n", routed, "link", "set", "lo", "up");
        Sh.ok("ip", "-n", routed, "link", "set", "nfwb" + id, "up");
        Sh.ok("ip", "-n", routed, "route", "add", "default", "via", "198.19.254.1");
        Sh.ok("ip", "-n", routed, "-6", "route", "add", "default", "via", "2001:db8:ffff::1");
        routedAgent = Agent.start(routed);
    }

    @AfterEach
    void removeTheRoutedNamespace() {
        if (routedAgent != null) {
            routedAgent.close();
        }
        if (routed != null) {
            Sh.run("ip", "netns", "delete", routed); // its veth end goes with it, and the container's with that
        }
        Sh.run("ip", "netns", "exec", net().containerNs(), "nft", "delete table ip wl; delete table ip6 wl");
        Sh.run("ip", "netns", "exec", net().containerNs(), "sysctl", "-qw", "net.ipv4.ip_forward=0",
                "net.ipv6.conf.all.forwarding=0");
        if (backend.equals("iptables-legacy")) {
            net().resetLegacyRules(); // its FORWARD hook would close the next backend's "before" path
        }
    }

    @Test
    void aNamespaceRoutedThroughTheContainersReachesNothingOnceThePolicyIsApplied() throws Exception {
        for (String peer : List.of(net().peerV4(), net().peerV6())) {
            assertThat(routedTcp(peer, FORBIDDEN)).as("without rules the routed namespace reaches %s", peer).isEqualTo("OK");
        }

        EnforcementResult r = SandboxEnforcement.enforce(net(), backend, policy("{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"" + net().peerV4() + ":" + ALLOWED + "\",\"[" + net().peerV6() + "]:" + ALLOWED
                + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}"), List.of(), Map.of());
        assertThat(r.status()).as("%s", r).isEqualTo("applied");
        assertThat(r.backend()).as("what ran").isEqualTo(backend);

        for (String peer : List.of(net().peerV4(), net().peerV6())) {
            assertThat(net().containerTcp(peer, ALLOWED)).as("the container's own allowed connection to %s", peer)
                    .isEqualTo("OK");
            assertThat(net().containerTcp(peer, FORBIDDEN)).as("the container's own forbidden one to %s", peer)
                    .isNotEqualTo("OK");
            assertThat(routedTcp(peer, FORBIDDEN)).as("forbidden port of %s, forwarded", peer).isEqualTo("TIMEOUT");
            assertThat(routedTcp(peer, ALLOWED)).as("allowed port of %s, forwarded: a sandbox routes nothing", peer)
                    .isEqualTo("TIMEOUT");
        }
    }

    private String routedTcp(String host, int port) throws Exception {
        return routedAgent.send("tcp " + host + " " + port + " " + SandboxNet.TIMEOUT_MS);
    }

    private static SandboxNet net() {
        return SANDBOX.net();
    }
}
