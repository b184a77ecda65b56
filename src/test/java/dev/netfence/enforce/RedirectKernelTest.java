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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An IPv4 ICMP redirect that quotes one of the sandbox's flows is, to connection tracking, a
 * related packet in the flow's reply direction, so the established accept let it in with inbound
 * off too (found by an attacker review, reproduced): a neighbour that forged the gateway's address
 * named itself the gateway of an allowed destination, and the sandbox's kernel (with
 * {@code accept_redirects} on, the kernel's default) sent that traffic to it for five minutes. Now
 * every plan drops redirects ahead of the established accept, and every apply forgets the routes
 * the namespace learned before it (a redirect taken then would keep working for five minutes). The
 * peer stands in for the gateway of an off-link destination the policy allows and for the
 * neighbour; the same redirect is taken before each apply and after the rules are removed, so
 * what stops it in between is the apply.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
@ParameterizedClass(name = "backend {0}")
@ValueSource(strings = {"iptables-nft", "nft"})
class RedirectKernelTest {
    @Parameter
    String backend;

    /** Off-link, routed through the peer's address: the allowed destination the redirect is about. */
    static final String DESTINATION = "198.19.255.10";
    static final int SOURCE_PORT = 41000;
    static final int DESTINATION_PORT = 5000;

    /**
     * argv: gateway (the forged source), sandbox, new gateway, destination, source port, destination
     * port. A host redirect (type 5, code 1) quoting a UDP datagram sandbox:sport → destination:dport.
     */
    static final String REDIRECT = """
            import socket, struct, sys
            def csum(b):
                s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
                return ~s & 0xffff
            def ip(src, dst, proto, length):
                h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, 1, 0, 64, proto, 0,
                        socket.inet_aton(src), socket.inet_aton(dst))
                return h[:10] + struct.pack("!H", csum(h)) + h[12:]
            gw, sandbox, new_gw, dst, sport, dport = sys.argv[1:7]
            quoted = ip(sandbox, dst, 17, 8) + struct.pack("!HHHH", int(sport), int(dport), 8, 0)
            icmp = struct.pack("!BBH4s", 5, 1, 0, socket.inet_aton(new_gw)) + quoted
            icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            s.sendto(ip(gw, sandbox, 1, len(icmp)) + icmp, (sandbox, 0))
            """;

    /** argv: own address, source port, destination, destination port; a datagram every 100 ms until killed. */
    static final String FLOW = """
            import socket, sys, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((sys.argv[1], int(sys.argv[2])))
            while True:
                s.sendto(b"flow", (sys.argv[3], int(sys.argv[4])))
                time.sleep(0.1)
            """;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening();

    private Process flow;

    @BeforeEach
    void sandboxTakesRedirectsAndHasAFlow() throws Exception {
        net().resetRules();
        String c = net().containerNs();
        // what a container's namespace has where the node keeps the kernel's default (this test's namespace only)
        Sh.ok("ip", "netns", "exec", c, "sysctl", "-qw", "net.ipv4.conf.all.accept_redirects=1",
                "net.ipv4.conf.eth0.accept_redirects=1");
        Sh.run("ip", "-n", c, "route", "del", DESTINATION + "/32");
        Sh.ok("ip", "-n", c, "route", "add", DESTINATION + "/32", "via", net().peerV4());
        flow = new ProcessBuilder("ip", "netns", "exec", c, "/usr/bin/python3", "-c", FLOW, net().containerV4(),
                Integer.toString(SOURCE_PORT), DESTINATION, Integer.toString(DESTINATION_PORT))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    @AfterEach
    void endTheFlow() throws Exception {
        if (flow != null) {
            flow.destroyForcibly();
            flow.waitFor(5, TimeUnit.SECONDS);
        }
        net().resetRules();
        String c = net().containerNs();
        Sh.run("ip", "-n", c, "route", "del", DESTINATION + "/32");
        Sh.run("ip", "-n", c, "route", "flush", "cache");
        Sh.run("ip", "netns", "exec", c, "sysctl", "-qw", "net.ipv4.conf.all.accept_redirects=0",
                "net.ipv4.conf.eth0.accept_redirects=0");
    }

    @Test
    void aForgedRedirectQuotingAnAllowedFlowMovesNothingInAnAppliedSandboxInboundOffOrOn() throws Exception {
        redirect();
        await("without rules the sandbox takes the forged redirect").atMost(Duration.ofSeconds(10))
                .until(() -> { redirect(); return route().contains("redirected"); });

        for (boolean inbound : List.of(false, true)) {
            net().resetRules();
            await("without rules the redirect is taken again").atMost(Duration.ofSeconds(10))
                    .until(() -> { redirect(); return route().contains("redirected"); });
            EnforcementResult r = SandboxEnforcement.enforce(net(), backend, policy("{\"schemaVersion\":1,\"mode\":"
                    + "\"bridge\",\"allowedEndpoints\":[\"" + DESTINATION + ":" + DESTINATION_PORT + "/udp\"],"
                    + "\"dns\":false,\"outbound\":false,\"inbound\":" + inbound + "}"), List.of(), Map.of());
            assertThat(r.status()).as("%s", r).isEqualTo("applied");
            assertThat(route()).as("inbound %s: the redirect taken before the apply is forgotten by it", inbound)
                    .contains("via " + net().peerV4()).doesNotContain("redirected");
            Thread.sleep(300); // the flow's next datagram, after the apply's flush, is tracked again
            for (int i = 0; i < 4; i++) {
                redirect(); // the first ones may only resolve the new gateway's address
                Thread.sleep(200);
            }
            assertThat(route()).as("inbound %s: the route to %s under the policy", inbound, DESTINATION)
                    .contains("via " + net().peerV4()).doesNotContain("redirected");
        }

        net().resetRules();
        await("the rules removed, the same redirect is taken again").atMost(Duration.ofSeconds(10))
                .until(() -> { redirect(); return route().contains("redirected"); });
    }

    private static void redirect() {
        Sh.ok("ip", "netns", "exec", net().peerNs(), "/usr/bin/python3", "-c", REDIRECT, net().peerV4(),
                net().containerV4(), net().otherHostV4(), DESTINATION, Integer.toString(SOURCE_PORT),
                Integer.toString(DESTINATION_PORT));
    }

    private static String route() {
        return Sh.ok("ip", "-n", net().containerNs(), "route", "get", DESTINATION);
    }

    private static SandboxNet net() {
        return SANDBOX.net();
    }
}
