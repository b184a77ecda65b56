package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The host guard's ACK accept (a policy with inbound open) and fragments, on a bridge the test
 * makes in namespaces of its own: nft's {@code tcp flags} reads a later IPv4 fragment's first bytes
 * as a TCP header, and in a later IPv6 fragment bytes of the IPv6 header, so an accept without a
 * fragment condition passed such a fragment to any unicast address (review 56 #3). The guard's chain, rendered for the plan
 * as netfence renders it, is on the port of the sending namespace; a neighbour's packet socket
 * sees what the bridge forwards. A later fragment of either family never arrives with the guard;
 * without it, it does (the proof can fail); a whole ACK segment, sent last, arrives both ways. Not provable with podman
 * here: its host reassembles IPv4 fragments before the bridge passes them on.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class GuardFragmentsKernelTest {
    private static final String POLICY = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":false,\"outbound\":false,"
            + "\"inbound\":true}";
    private static final int PORT = 9;
    /**
     * The sender's IPv6 address: its sixth byte (0x10) is where nft's {@code tcp flags} looked in a
     * later IPv6 fragment (byte 13 of the IPv6 header), ACK set (review 56 #3).
     */
    private static final String SENDER6 = "2001:db8:10::2";
    private static final String NEIGHBOUR6 = "2001:db8:10::3";
    private static ForgedFrames.Scripts scripts;

    @BeforeAll
    static void writeTheScripts() throws Exception {
        scripts = ForgedFrames.Scripts.write();
    }

    @AfterAll
    static void removeThem() throws Exception {
        if (scripts != null) {
            scripts.close();
        }
    }

    @ParameterizedTest(name = "guarded {0}")
    @ValueSource(booleans = {true, false})
    void aLaterFragmentOfEitherFamilyReadAsAnAckSegmentDoesNotPassTheGuard(boolean guarded) throws Exception {
        String prefix = "nfgf-" + ForgedFrames.token().substring(0, 6);
        String bridge = prefix + "-b";
        String sender = prefix + "-a";
        String neighbour = prefix + "-n";
        List<String> made = new ArrayList<>();
        try {
            for (String ns : List.of(bridge, sender, neighbour)) {
                Sh.ok("ip", "netns", "add", ns);
                made.add(ns);
            }
            // lo up, as every host's: a namespace without any local route has no local table, and the guard's
            // fib daddr type then reads every address as a broadcast
            Sh.ok("ip", "netns", "exec", bridge, "ip", "link", "set", "lo", "up");
            Sh.ok("ip", "netns", "exec", bridge, "ip", "link", "add", "br0", "type", "bridge");
            Sh.ok("ip", "netns", "exec", bridge, "ip", "link", "set", "br0", "up");
            String senderMac = ForgedFrames.randomMac();
            String neighbourMac = ForgedFrames.randomMac();
            port(bridge, "va", sender, senderMac, "198.18.77.2/24", SENDER6);
            port(bridge, "vn", neighbour, neighbourMac, "198.18.77.3/24", NEIGHBOUR6);
            if (guarded) {
                PlannedRules plan = new RulePlanner().plan(
                        new PolicyParser().parse(POLICY.getBytes(StandardCharsets.UTF_8)), Map.of(), List.of());
                int ifindex = Integer.parseInt(Sh.ok("ip", "netns", "exec", bridge, "cat", "/sys/class/net/va/ifindex").strip());
                GuardRenderer renderer = new GuardRenderer();
                String text = renderer.replace(List.of(new GuardChain("va", ifindex, "fragments")), List.of(),
                        renderer.rules(plan));
                Path file = Files.createTempFile("guard-fragments", ".nft");
                try {
                    Files.writeString(file, text, StandardCharsets.UTF_8);
                    Sh.ok("ip", "netns", "exec", bridge, "nft", "-f", file.toString());
                } finally {
                    Files.deleteIfExists(file);
                }
                assertThat(Sh.ok("ip", "netns", "exec", bridge, "nft", "list", "chain", "netdev", "netfence", "va"))
                        .contains(GuardEgress.ackAccept(dev.netfence.policy.Family.IPV4));
            }

            try (ForgedFrames.Tap tap = ForgedFrames.Tap.inNamespace(scripts.listener(), neighbour, "eth0", "udp");
                    ForgedFrames.Tap tap6 = ForgedFrames.Tap.inNamespace(scripts.listener(), neighbour, "eth0", "tcp6")) {
                String fragment = ack(sender, senderMac, neighbourMac, "frag-" + ForgedFrames.token(), true, false);
                String fragment6 = ack(sender, senderMac, neighbourMac, "frag6-" + ForgedFrames.token(), true, true);
                String control = ack(sender, senderMac, neighbourMac, "peer-" + ForgedFrames.token(), false, false);
                String control6 = ack(sender, senderMac, neighbourMac, "peer6-" + ForgedFrames.token(), false, true);
                List<String> seen = tap.framesAfter(control);
                List<String> seen6 = tap6.framesAfter(control6);

                assertThat(seen).as("IPv4 TCP segments the neighbour's packet socket saw").contains(control);
                assertThat(seen6).as("IPv6 TCP segments the neighbour's packet socket saw").contains(control6);
                if (guarded) {
                    assertThat(seen).as("a later IPv4 fragment past the guard").doesNotContain(fragment);
                    assertThat(seen6).as("a later IPv6 fragment past the guard").doesNotContain(fragment6);
                } else {
                    assertThat(seen).as("without the guard it arrives").contains(fragment);
                    assertThat(seen6).as("without the guard it arrives").contains(fragment6);
                }
            }
        } finally {
            made.forEach(ns -> Sh.run("ip", "netns", "del", ns));
        }
    }

    /** A veth {@code port} of br0 in {@code bridge}, its peer eth0 in {@code ns} with {@code mac} and both addresses. */
    private static void port(String bridge, String port, String ns, String mac, String address, String address6) {
        Sh.ok("ip", "netns", "exec", bridge, "ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Sh.ok("ip", "netns", "exec", bridge, "ip", "link", "set", port, "master", "br0", "up");
        Sh.ok("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "address", mac);
        Sh.ok("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
        Sh.ok("ip", "netns", "exec", ns, "ip", "addr", "add", address, "dev", "eth0");
        Sh.ok("ip", "netns", "exec", ns, "ip", "addr", "add", address6 + "/64", "dev", "eth0", "nodad");
    }

    /**
     * Three copies of an ACK segment (or a later fragment holding one) from the sender to the
     * neighbour, over IPv4 or {@code ipv6}; the line the tap of that family prints.
     */
    private static String ack(String ns, String srcMac, String dstMac, String payload, boolean laterFragment,
            boolean ipv6) {
        String from = ipv6 ? SENDER6 : "198.18.77.2";
        String to = ipv6 ? NEIGHBOUR6 : "198.18.77.3";
        List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", ns, Python.EXE, scripts.sender().toString(),
                ipv6 ? "tcpack6" : "tcpack", "eth0", dstMac, srcMac, "3", from, to, Integer.toString(PORT), payload));
        if (laterFragment) {
            argv.add("later-fragment");
        }
        Sh.ok(argv.toArray(String[]::new));
        return (ipv6 ? "TCP6 " : "TCP ") + from + " " + to + " " + PORT + " " + payload;
    }
}
