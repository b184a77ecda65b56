package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.SandboxNetExtension;
import dev.netfence.testkit.Sh;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Broadcast, multicast and IPv6 link-local unicast under a blocked list of the policy's own
 * (attacker reviews 51a #3 and 53a #1): a datagram to 255.255.255.255, to an IPv4 group or to
 * ff02::1 reaches every listener on the container's link, and a host's link-local address reaches
 * that host whatever its other addresses, hosts inside the blocked subnets included, so every plan rejects those
 * destinations whatever its list, as it does the metadata ranges; a literal endpoint there stays
 * the author's exception. A subnet's own broadcast address is rejected too, whatever part of the
 * subnet the list names (review 53a #2). The peer's listener is bound to the wildcard address, as a service on a
 * host of a blocked subnet would be; the container sends from its own address, which also picks the
 * interface (the sandbox has no default route).
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
@ParameterizedClass(name = "backend {0}")
@ValueSource(strings = {"iptables-nft", "nft"})
class LinkWideDestinationsKernelTest {
    @Parameter
    String backend;

    private static final int PORT = 8021;
    private static final int CONTROL = 8022;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening();

    private static SandboxNet net;
    private static String peerLinkLocal;

    @BeforeAll
    static void aWildcardListenerOnThePeer() throws Exception {
        net = SANDBOX.net();
        assertThat(net.peerAgent().send("listen any " + PORT)).isEqualTo("OK");
        net.peerListens(CONTROL);
        // IPv6 on a veth just set up sends nothing until the link shows its carrier: wait for it
        await().atMost(Duration.ofSeconds(10)).until(() -> net.containerUdp(net.peerV6(), CONTROL).equals("OK"));
        String link = Sh.ok("ip", "-n", net.peerNs(), "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link");
        peerLinkLocal = link.replaceAll("(?s).*inet6 (fe80:[0-9a-f:]+)/.*", "$1");
        assertThat(peerLinkLocal).as("the peer's link-local address in %s", link).startsWith("fe80:");
    }

    @BeforeEach
    void resetRules() {
        net.resetRules();
    }

    @Test
    void aListOfItsOwnWithoutMulticastOrBroadcastStillKeepsTheLinksListenersFromTheWorkload() throws Exception {
        int before = seen(PORT).size();
        assertThat(sendLinkWide()).as("without rules the kernel takes each").containsOnly("OK");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(seen(PORT)).as("without rules")
                .hasSize(before + 4));
        assertThat(net.containerTcp(net.blockedHostV4(), CONTROL)).as("the blocked host's listener without rules")
                .isEqualTo("OK");

        EnforcementResult result = enforce("{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[\""
                + net.blockedSubnetV4() + "\",\"" + net.blockedSubnetV6() + "\"],\"dns\":false,\"outbound\":true,"
                + "\"inbound\":false}");

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        int applied = seen(PORT).size();
        // the rules' drop fails each send at once (EPERM); what the peer receives is what tells
        assertThat(sendLinkWide()).allMatch(r -> r.startsWith("ERROR"));
        // the control goes after them on the same link: once it arrived, so would have they
        assertThat(send(net.peerV4(), CONTROL)).isEqualTo("OK");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(seen(CONTROL))
                .contains("udp/" + net.containerV4()));
        assertThat(seen(PORT)).as("what the peer's listener got after the apply").hasSize(applied);
        assertThat(net.containerTcp(net.blockedHostV4(), CONTROL)).as("the blocked subnet's listener").isEqualTo("REFUSED");
    }

    @Test
    void aLiteralGroupEndpointStaysTheAuthorsException() throws Exception {
        EnforcementResult result = enforce("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                + "[\"224.0.0.1:" + PORT + "/udp\"],\"blockedSubnets\":[\"" + net.blockedSubnetV4() + "\",\""
                + net.blockedSubnetV6() + "\"],\"dns\":false,\"outbound\":true,\"inbound\":false}");

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        int before = seen(PORT).size();
        assertThat(send("255.255.255.255", PORT)).as("the rules' drop fails the send at once (EPERM)").startsWith("ERROR");
        assertThat(send("224.0.0.1", PORT)).isEqualTo("OK");
        int control = seen(CONTROL).size();
        assertThat(send(net.peerV4(), CONTROL)).isEqualTo("OK");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(seen(CONTROL)).hasSize(control + 1));
        List<String> after = seen(PORT);
        assertThat(after.subList(before, after.size())).as("the group the policy names, not the broadcast")
                .containsExactly("udp/" + net.containerV4());
    }

    @Test
    void aSubnetsOwnBroadcastAddressIsRejectedWhateverPartOfTheSubnetTheListNames() throws Exception {
        String subnetBroadcast = net.peerV4().replaceAll("\\.\\d+$", ".255");
        int before = seen(PORT).size();
        assertThat(send(subnetBroadcast, PORT)).as("without rules").isEqualTo("OK");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(seen(PORT)).hasSize(before + 1));
        assertThat(net.containerTcp(net.peerV4(), CONTROL)).as("the peer's listener without rules").isEqualTo("OK");

        // the list names the peer's address alone, not the /24 both ends are on
        EnforcementResult result = enforce("{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[\""
                + net.peerV4() + "/32\",\"" + net.blockedSubnetV6() + "\"],\"dns\":false,\"outbound\":true,"
                + "\"inbound\":false}");

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        int applied = seen(PORT).size();
        assertThat(send(subnetBroadcast, PORT)).as("the rules' reject fails the send at once (EPERM)").startsWith("ERROR");
        assertThat(net.containerTcp(net.peerV4(), CONTROL)).as("the blocked peer's listener").isEqualTo("REFUSED");
        int control = seen(CONTROL).size();
        assertThat(send(net.otherHostV4(), CONTROL)).as("outbound is on: the rest of the subnet").isEqualTo("OK");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(seen(CONTROL)).hasSize(control + 1));
        assertThat(seen(PORT)).as("what the peer's listener got after the apply").hasSize(applied);
    }

    /**
     * A datagram to the limited broadcast, to the all-hosts group, to IPv6's all-nodes group and to
     * the peer's link-local address (which any host of the link has, whatever its other addresses):
     * what each send said.
     */
    private static List<String> sendLinkWide() throws IOException {
        return List.of(send("255.255.255.255", PORT), send("224.0.0.1", PORT),
                net.containerAgent().send("send udp ff02::1%eth0 " + PORT + " " + net.containerV6()),
                net.containerAgent().send("send udp " + peerLinkLocal + "%eth0 " + PORT + " " + net.containerV6()));
    }

    private static String send(String host, int port) throws IOException {
        return net.containerAgent().send("send udp " + host + " " + port + " " + net.containerV4());
    }

    private static List<String> seen(int port) throws IOException {
        String seen = net.peerAgent().send("seen " + port);
        return seen.equals("NONE") ? List.of() : Arrays.asList(seen.split(" "));
    }

    private EnforcementResult enforce(String policy) {
        return SandboxEnforcement.enforce(net, backend, SandboxEnforcement.policy(policy), List.of(), Map.of());
    }
}
