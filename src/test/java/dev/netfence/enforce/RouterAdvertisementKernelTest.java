package dev.netfence.enforce;

import static dev.netfence.enforce.SandboxEnforcement.policy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.SandboxNetExtension;
import dev.netfence.testkit.Sh;
import java.time.Duration;
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
 * A neighbour the policy forbids sent the sandbox router advertisements, and the namespace's rules
 * accepted them (neighbour discovery, hop limit 255): its kernel took an address in a prefix of the
 * neighbour's choosing (and would take a default route through it, an MTU) and handed the options
 * it does not act on to any process that joins a netlink group, no capability needed (found by an
 * attacker review: 1 KB of chosen bytes per advertisement into an {@code applied} sandbox with
 * inbound off). Now every plan drops them, with inbound off and on. The peer's advertisement gives
 * the sandbox an address before the apply and after the rules are removed again, so what stops it
 * in between is the rules.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
@ParameterizedClass(name = "backend {0}")
@ValueSource(strings = {"iptables-nft", "nft"})
class RouterAdvertisementKernelTest {
    @Parameter
    String backend;

    /**
     * argv: the /64 prefix to advertise (autonomous), the destination (ff02::1 unless given) and
     * the router lifetime in seconds (0 unless given: no default route); sent out of {@code eth0}
     * from its link-local address.
     */
    static final String ADVERTISE = """
            import socket, struct, sys
            index = socket.if_nametoindex("eth0")
            lifetime = int(sys.argv[3]) if len(sys.argv) > 3 else 0
            ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, lifetime, 0, 0)
            prefix = struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 3600, 1800, 0) + socket.inet_pton(socket.AF_INET6, sys.argv[1])
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            s.sendto(ra + prefix, (sys.argv[2] if len(sys.argv) > 2 else "ff02::1", 0, 0, index))
            """;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening();

    @BeforeEach
    void peerLinkLocalReady() {
        net().resetRules();
        // an advertisement must come from a link-local address, usable once its duplicate detection is over
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            String ll = Sh.ok("ip", "-n", net().peerNs(), "-6", "addr", "show", "dev", "eth0", "scope", "link");
            return ll.contains("fe80::") && !ll.contains("tentative");
        });
    }

    @AfterEach
    void forgetTakenAddresses() {
        net().resetRules();
        Sh.run("ip", "-n", net().containerNs(), "-6", "addr", "flush", "dev", "eth0", "dynamic");
    }

    @Test
    void aNeighboursRouterAdvertisementChangesNothingInAnAppliedSandboxInboundOffOrOn() throws Exception {
        advertise("2001:db8:fa1::");
        await("without rules the sandbox takes the neighbour's prefix").atMost(Duration.ofSeconds(10))
                .until(() -> addresses().contains("2001:db8:fa1:"));

        int prefix = 0xfa2; // outside the sandbox's own 2001:db8:1-250::/64
        for (boolean inbound : List.of(false, true)) {
            EnforcementResult r = SandboxEnforcement.enforce(net(), backend, policy("{\"schemaVersion\":1,\"mode\":"
                    + "\"bridge\",\"allowedEndpoints\":[\"[" + net().peerV6() + "]:443\"],\"dns\":false,\"outbound\":false,"
                    + "\"inbound\":" + inbound + "}"), List.of(), Map.of());
            assertThat(r.status()).as("%s", r).isEqualTo("applied");
            String advertised = "2001:db8:" + Integer.toHexString(prefix++) + "::";
            for (int i = 0; i < 3; i++) {
                advertise(advertised);
                Thread.sleep(300);
            }
            Thread.sleep(700);
            assertThat(addresses()).as("inbound %s: the prefix %s advertised under the policy", inbound, advertised)
                    .doesNotContain(advertised.substring(0, advertised.length() - 1));
        }

        net().resetRules();
        advertise("2001:db8:fa4::");
        await("the rules removed, the same advertisement is taken again").atMost(Duration.ofSeconds(10))
                .until(() -> addresses().contains("2001:db8:fa4:"));
    }

    private static void advertise(String prefix) {
        Sh.ok("ip", "netns", "exec", net().peerNs(), "/usr/bin/python3", "-c", ADVERTISE, prefix);
    }

    private static String addresses() {
        return Sh.ok("ip", "-n", net().containerNs(), "-6", "addr", "show", "dev", "eth0");
    }

    private static SandboxNet net() {
        return SANDBOX.net();
    }
}
