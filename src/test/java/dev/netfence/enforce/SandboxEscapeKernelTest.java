package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.rules.RulePlanner;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.Icmpv6Probe;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.Sh;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Holes a sandboxed workload could open itself (issue 12), each shown closed on the real kernel
 * with real connections and frames between the "container" namespace and its peer: DNS only to
 * resolvers the operator trusts (never to what the container's resolv.conf names), hostnames
 * that cannot open a blocked subnet, the special ranges of the default blocked list, and
 * neighbour discovery that only carries what RFC 4861 needs. Each test fails against the code
 * of before issue 12.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
@ParameterizedClass(name = "backend {0}")
@ValueSource(strings = {"iptables-nft", "nft"})
class SandboxEscapeKernelTest {
    /** The {@code --backend} under test: the rule model must mean the same in every renderer. */
    @Parameter
    String backend;

    private static final int PORT = 8011;
    private static final int DNS = 53;
    private static final String METADATA = "169.254.169.254";
    private static final String CGNAT = "100.64.0.1";
    private static final String RESOLVER = "127.0.0.11";
    private static final int INJECTED = 8012;

    private static SandboxNet net;
    private static String nat64;

    @BeforeAll
    static void createSandbox() throws Exception {
        net = SandboxNet.create();
        // special-range addresses on the peer, routed on-link from the container: only inside the
        // two namespaces this test created, never on the host
        for (String a : List.of(METADATA + "/32", CGNAT + "/32")) {
            Sh.ok("ip", "-n", net.peerNs(), "addr", "add", a, "dev", "eth0");
            Sh.ok("ip", "-n", net.containerNs(), "route", "add", a, "dev", "eth0");
        }
        nat64 = net.peerNat64();
        net.peerListens(PORT);
        net.peerListens(DNS);
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
    void dnsGoesOnlyToResolversTheOperatorTrustsNeverToWhatTheContainerNames() throws Exception {
        // the workload names a host in a blocked subnet as its resolver: a port-53 tunnel before issue 12
        Files.writeString(Path.of("/proc", String.valueOf(net.containerPid()), "root/etc/resolv.conf"),
                "nameserver " + net.blockedHostV4() + "\nnameserver " + net.blockedHostV6() + "\n", StandardCharsets.UTF_8);
        String policy = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + net.peerV4() + ":" + PORT
                + "\"],\"blockedSubnets\":[\"" + net.blockedSubnetV4() + "\",\"" + net.blockedSubnetV6() + "\"],"
                + "\"dns\":true,\"outbound\":false,\"inbound\":false";

        EnforcementResult untrusted = enforce(policy(policy + "}"), List.of(), Map.of());

        assertThat(untrusted.status()).as("%s", untrusted).isEqualTo("applied");
        assertThat(untrusted.nameservers()).isEmpty();
        assertThat(untrusted.warnings()).containsExactly(RulePlanner.NO_RESOLVER_WARNING);
        for (String host : List.of(net.blockedHostV4(), net.blockedHostV6(), net.peerV4(), net.peerV6())) {
            assertThat(net.containerTcp(host, DNS)).as("tcp %s:53", host).isEqualTo("REFUSED");
            assertThat(net.containerUdp(host, DNS)).as("udp %s:53", host).isNotEqualTo("OK");
        }
        assertThat(net.containerTcp(net.peerV4(), PORT)).isEqualTo("OK");

        // the node trusts the other host; the policy trusts a resolver inside its own blocked subnet
        EnforcementResult trusted = enforce(policy(policy + ",\"dnsServers\":[\"" + net.blockedHostV6() + "\"]}"),
                List.of(InetAddress.getByName(net.otherHostV4())), Map.of());

        assertThat(trusted.status()).as("%s", trusted).isEqualTo("applied");
        assertThat(trusted.nameservers()).containsExactly(net.blockedHostV6(), net.otherHostV4());
        assertThat(trusted.warnings()).isEmpty();
        assertThat(net.containerTcp(net.otherHostV4(), DNS)).isEqualTo("OK");
        assertThat(net.containerUdp(net.otherHostV4(), DNS)).isEqualTo("OK");
        assertThat(net.containerTcp(net.blockedHostV6(), DNS)).isEqualTo("OK");
        assertThat(net.containerUdp(net.blockedHostV6(), DNS)).isEqualTo("OK");
        assertThat(net.containerTcp(net.blockedHostV4(), DNS)).isEqualTo("REFUSED");
        assertThat(net.containerUdp(net.blockedHostV4(), DNS)).isNotEqualTo("OK");
        assertThat(net.containerTcp(net.blockedHostV6(), PORT)).isEqualTo("REFUSED");
    }

    @Test
    void aRuntimesLoopbackResolverAnswersOnlyWhenTrustedForDns() throws Exception {
        // Docker's embedded resolver as the daemon sets it up in a container's namespace: its NAT
        // rules send 127.0.0.11:53 on to a port where a socket of its own answers (and forwards to
        // the daemon's upstreams, one on the host's loopback from the host: where no rule here sees it)
        // (its socket is bound to 127.0.0.11; the echo agent binds to addresses it finds, so the
        // address goes on lo, where 127.0.0.0/8 is local anyway; all idempotent across backends)
        Sh.ok("ip", "-n", net.containerNs(), "addr", "replace", RESOLVER + "/32", "dev", "lo");
        Sh.ok("ip", "netns", "exec", net.containerNs(), "iptables-nft", "-t", "nat", "-F", "OUTPUT");
        for (String proto : List.of("udp", "tcp")) {
            Sh.ok("ip", "netns", "exec", net.containerNs(), "iptables-nft", "-t", "nat", "-A", "OUTPUT", "-d",
                    RESOLVER + "/32", "-p", proto, "--dport", "53", "-j", "DNAT", "--to-destination", RESOLVER + ":" + PORT);
        }
        net.containerAgent().send("listen udp " + PORT);
        net.containerAgent().send("listen tcp " + PORT);
        assertThat(net.containerUdp(RESOLVER, DNS)).as("udp to the resolver without rules").isEqualTo("OK");
        String policy = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + net.peerV4() + ":" + PORT
                + "\"],\"outbound\":false,\"inbound\":false";

        EnforcementResult off = enforce(policy(policy + ",\"dns\":false}"), List.of(InetAddress.getByName(RESOLVER)), Map.of());

        assertThat(off.status()).as("%s", off).isEqualTo("applied");
        assertThat(net.containerUdp(RESOLVER, DNS)).as("udp, dns off").isNotEqualTo("OK");
        // (not OK, rather than REFUSED: with 127.0.0.11 a local address here the connection's source
        // is 127.0.0.11 too, and the reject's own ICMP error to it meets the same rule)
        assertThat(net.containerTcp(RESOLVER, DNS)).as("tcp, dns off").isNotEqualTo("OK");
        assertThat(net.containerTcp("127.0.0.1", PORT)).as("the workload's own loopback").isEqualTo("OK");

        EnforcementResult otherResolver = enforce(policy(policy + ",\"dns\":true}"),
                List.of(InetAddress.getByName(net.otherHostV4())), Map.of());

        assertThat(otherResolver.status()).as("%s", otherResolver).isEqualTo("applied");
        assertThat(net.containerUdp(RESOLVER, DNS)).as("udp, another resolver trusted").isNotEqualTo("OK");
        assertThat(net.containerTcp(net.otherHostV4(), DNS)).isEqualTo("OK");

        EnforcementResult trusted = enforce(policy(policy + ",\"dns\":true}"), List.of(InetAddress.getByName(RESOLVER)),
                Map.of());

        assertThat(trusted.status()).as("%s", trusted).isEqualTo("applied");
        assertThat(net.containerUdp(RESOLVER, DNS)).as("udp, trusted").isEqualTo("OK");
        assertThat(net.containerTcp(RESOLVER, DNS)).as("tcp, trusted").isEqualTo("OK");

        EnforcementResult quarantine = enforce(policy("{\"schemaVersion\":1,\"mode\":\"none\"}"),
                List.of(InetAddress.getByName(RESOLVER)), Map.of());

        assertThat(quarantine.status()).as("%s", quarantine).isEqualTo("applied");
        assertThat(net.containerUdp(RESOLVER, DNS)).as("udp, mode none").isNotEqualTo("OK");
    }

    @Test
    void aFrameAWorkloadWritesToTheLoopbackResolverOnLoNeverReachesIt() throws Exception {
        // a workload holding CAP_NET_RAW writes the datagram as a frame on lo with a packet socket:
        // no OUTPUT hook sees it, the receive path does. The kernel drops a frame received for
        // 127.0.0.0/8 as a martian, unless route_localnet is on in the namespace (as a runtime or an
        // operator may set it): on here, so the frame arrives without rules
        Sh.ok("ip", "-n", net.containerNs(), "addr", "replace", RESOLVER + "/32", "dev", "lo");
        for (String dev : List.of("all", "lo")) {
            Sh.ok("ip", "netns", "exec", net.containerNs(), "sysctl", "-qw", "net.ipv4.conf." + dev + ".route_localnet=1");
        }
        net.containerAgent().send("listen udp " + INJECTED);
        injectOnLo("127.0.0.99");
        // the frame is received asynchronously (lo's backlog, then the agent's read): wait for it
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(net.containerAgent().send("seen " + INJECTED))
                .as("the frame arrives without rules").contains("udp/127.0.0.99"));

        EnforcementResult off = enforce(policy("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\""
                + net.peerV4() + ":" + PORT + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}"));

        assertThat(off.status()).as("%s", off).isEqualTo("applied");
        injectOnLo("127.0.0.98");
        // the frame of the same kind sent to the workload's own loopback address still arrives (the
        // injection works under the rules), only the resolver's address is dropped
        injectOnLo("127.0.0.97", "127.0.0.1");
        // 97 went after 98 through the same queue: once it is seen, 98 would have been too
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(net.containerAgent().send("seen " + INJECTED))
                .contains("udp/127.0.0.97"));
        assertThat(net.containerAgent().send("seen " + INJECTED)).doesNotContain("udp/127.0.0.98");
    }

    /** Writes one UDP datagram from {@code source} to 127.0.0.11:{@link #INJECTED} as a frame on the container's lo. */
    private static void injectOnLo(String source) {
        injectOnLo(source, RESOLVER);
    }

    private static void injectOnLo(String source, String destination) {
        Sh.ok("ip", "netns", "exec", net.containerNs(), Python.EXE, "-c", INJECT, source, destination,
                String.valueOf(INJECTED));
    }

    /** An Ethernet frame (lo's zero addresses) carrying IPv4/UDP from argv[1] to argv[2]:argv[3], sent on lo. */
    private static final String INJECT = "import socket, struct, sys\n"
            + "src, dst, port = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2]), int(sys.argv[3])\n"
            + "payload = b'injected'\n"
            + "udp = struct.pack('!HHHH', 40000, port, 8 + len(payload), 0) + payload\n"
            + "hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)\n"
            + "c = sum(struct.unpack('!10H', hdr)); c = (c >> 16) + (c & 0xffff); c += c >> 16\n"
            + "hdr = hdr[:10] + struct.pack('!H', ~c & 0xffff) + hdr[12:]\n"
            + "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
            + "s.bind(('lo', 0))\n"
            + "s.send(b'\\0' * 12 + b'\\x08\\x00' + hdr + udp)\n";

    @Test
    void aHostnameResolvingIntoABlockedSubnetOpensNothingThereWhileALiteralEndpointStaysAnException() throws Exception {
        String policy = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"api.sandbox.test:" + PORT
                + "\",\"" + net.blockedHostV4() + ":" + DNS + "\"],\"blockedSubnets\":[\"" + net.blockedSubnetV4() + "\",\""
                + net.blockedSubnetV6() + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
        Map<String, List<InetAddress>> dns = Map.of("api.sandbox.test", List.of(InetAddress.getByName(net.peerV4()),
                InetAddress.getByName(net.blockedHostV4()), InetAddress.getByName(net.blockedHostV6())));

        EnforcementResult result = enforce(policy(policy), List.of(), dns);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(net.containerTcp(net.peerV4(), PORT)).isEqualTo("OK");
        assertThat(net.containerTcp(net.blockedHostV4(), PORT)).isEqualTo("REFUSED");
        assertThat(net.containerTcp(net.blockedHostV6(), PORT)).isEqualTo("REFUSED");
        // the literal endpoint inside the blocked subnet is the author's explicit exception
        assertThat(net.containerTcp(net.blockedHostV4(), DNS)).isEqualTo("OK");
        assertThat(result.resolved().get("api.sandbox.test"))
                .containsExactly(net.peerV4(), net.blockedHostV4(), net.blockedHostV6());
        assertThat(result.warnings()).containsExactly(
                "allowedEndpoints: api.sandbox.test resolved to " + net.blockedHostV4() + ", inside blocked subnet "
                        + net.blockedSubnetV4() + ": not allowed",
                "allowedEndpoints: api.sandbox.test resolved to " + net.blockedHostV6() + ", inside blocked subnet "
                        + net.blockedSubnetV6() + ": not allowed");
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
    void aListWrittenForIpv4AloneLeavesIpv6ClosedRatherThanOpen() throws Exception {
        // the seed's HIPAA policy written out by hand: everything but the endpoint (outbound derived)
        EnforcementResult whole = enforce(policy("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\""
                + net.peerV4() + ":" + PORT + "\"],\"blockedSubnets\":[\"0.0.0.0/0\"],\"dns\":false}"));

        assertThat(whole.status()).as("%s", whole).isEqualTo("applied");
        assertThat(net.containerTcp(net.peerV4(), PORT)).isEqualTo("OK");
        assertThat(net.containerTcp(net.otherHostV4(), PORT)).isEqualTo("REFUSED");
        assertThat(net.containerTcp(net.peerV6(), PORT)).as("IPv6, named nowhere").isEqualTo("REFUSED");

        // private IPv4 ranges alone, outbound open: IPv6 keeps the default list's ranges, NAT64 among them
        EnforcementResult ranges = enforce(policy("{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[\""
                + net.blockedSubnetV4() + "\"],\"dns\":false,\"outbound\":true,\"inbound\":false}"));

        assertThat(ranges.status()).as("%s", ranges).isEqualTo("applied");
        assertThat(net.containerTcp(net.blockedHostV4(), PORT)).isEqualTo("REFUSED");
        assertThat(net.containerTcp(nat64, PORT)).as("NAT64, named nowhere").isEqualTo("REFUSED");
        assertThat(net.containerTcp(net.peerV6(), PORT)).isEqualTo("OK");
        assertThat(net.containerTcp(net.blockedHostV6(), PORT)).as("outside IPv6's default ranges").isEqualTo("OK");
    }

    @Test
    void theMetadataServiceStaysClosedWhateverTheListLeavesOutUnlessALiteralEndpointNamesIt() throws Exception {
        // the seed's kind of list: private ranges only, outbound open
        String policy = "{\"schemaVersion\":1,\"mode\":\"bridge\",%s\"blockedSubnets\":[\"" + net.blockedSubnetV4()
                + "\",\"" + net.blockedSubnetV6() + "\"],\"dns\":false,\"outbound\":true,\"inbound\":false}";

        assertThat(enforce(policy(policy.formatted(""))).status()).isEqualTo("applied");
        assertThat(net.containerTcp(METADATA, PORT)).isEqualTo("REFUSED");
        assertThat(net.containerTcp(CGNAT, PORT)).as("not in the written list").isEqualTo("OK");

        assertThat(enforce(policy(policy.formatted("\"allowedEndpoints\":[\"" + METADATA + ":" + PORT + "\"],")))
                .status()).isEqualTo("applied");
        assertThat(net.containerTcp(METADATA, PORT)).as("the author's explicit exception").isEqualTo("OK");
    }

    @Test
    void aHostnameResolvingToTheMetadataServiceOpensNothingThereWhateverTheListLeavesOut() throws Exception {
        String policy = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"api.sandbox.test:" + PORT
                + "\"],\"blockedSubnets\":[\"" + net.blockedSubnetV4() + "\",\"" + net.blockedSubnetV6() + "\"],"
                + "\"dns\":false,\"outbound\":false,\"inbound\":false}";
        Map<String, List<InetAddress>> dns = Map.of("api.sandbox.test",
                List.of(InetAddress.getByName(net.peerV4()), InetAddress.getByName(METADATA)));

        EnforcementResult result = enforce(policy(policy), List.of(), dns);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(net.containerTcp(net.peerV4(), PORT)).isEqualTo("OK");
        assertThat(net.containerTcp(METADATA, PORT)).isEqualTo("REFUSED");
        assertThat(result.warnings()).containsExactly("allowedEndpoints: api.sandbox.test resolved to " + METADATA
                + ", inside 169.254.0.0/16 (loopback, link-local, metadata, multicast, reserved or IPv4 transition), where a"
                + " hostname's address is never allowed");
    }

    @Test
    void neighbourDiscoveryLeavesOnlyWithHopLimit255ToLinkScopeAndNeverAsARouter() throws Exception {
        // what a workload with a raw socket tries: solicitations carrying data off the link scope,
        // with a hop limit that says it may have crossed a router, and a rogue router advertisement;
        // then the form neighbour discovery really has
        List<String> forbidden = List.of("type=135 hl=255 dst=" + net.peerV6() + " marker=yes",
                "type=135 hl=64 dst=ff02::1 marker=yes", "type=134 hl=255 dst=ff02::1 marker=yes");
        String allowed = "type=135 hl=255 dst=ff02::1 marker=yes";
        List<String> before = sendNeighbourDiscovery();
        assertThat(before).as("without rules each form reaches the peer (the probe and the capture work)")
                .containsAll(forbidden).contains(allowed);

        EnforcementResult result = enforce(policy("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"["
                + net.peerV6() + "]:" + PORT + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}"));
        assertThat(result.status()).as("%s", result).isEqualTo("applied");

        assertThat(sendNeighbourDiscovery()).containsExactly(allowed);
    }

    /**
     * The marked ICMPv6 frames the peer captured of four sent from the container: a solicitation to
     * the peer's unicast address, one with hop limit 64 to ff02::1, a router advertisement, and
     * last a solicitation with hop limit 255 to ff02::1, which must leave (what each send said is
     * checked: SENT for that one).
     */
    private static List<String> sendNeighbourDiscovery() throws Exception {
        try (Icmpv6Probe.Capture capture = Icmpv6Probe.sniff(net.peerNs(), "eth0")) {
            Icmpv6Probe.send(net.containerNs(), net.peerV6(), 135, 255, "eth0");
            Icmpv6Probe.send(net.containerNs(), "ff02::1", 135, 64, "eth0");
            Icmpv6Probe.send(net.containerNs(), "ff02::1", 134, 255, "eth0");
            assertThat(Icmpv6Probe.send(net.containerNs(), "ff02::1", 135, 255, "eth0")).isEqualTo("SENT");
            return capture.frames().stream().filter(f -> f.endsWith("marker=yes")).toList();
        }
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
            Sh.ok("ip", "netns", "exec", net.containerNs(), Python.EXE, "-c", JOIN_GROUP);
            assertThat(net.containerTcp(net.peerV6(), PORT)).isEqualTo("OK");
            frames = capture.frames();
        }

        assertThat(frames).anyMatch(f -> f.startsWith("type=143 hl=1 dst=ff02::16 "));
        assertThat(frames).anyMatch(f -> f.startsWith("type=135 hl=255 dst=ff02::1:ff"));
    }

    @Test
    void aDatagramSentThroughLoopbackToABlockedHostOpensNoWayBackFromIt() throws Exception {
        // a workload without any capability sends to a blocked host D "through lo" (IP_PKTINFO naming lo: the
        // kernel takes D for on-link there and delivers the datagram locally): the loopback accept let it
        // pass, and the connection-tracking entry it left made D's datagrams replies the input chain accepts
        assertThat(punchAndHearFromD()).as("without rules D's datagrams reach the workload's port")
                .startsWith("RECEIVED b'from-blocked-D'");
        EnforcementResult applied = enforce(policy("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\""
                + net.peerV4() + ":" + PORT + "\"],\"blockedSubnets\":[\"" + net.blockedSubnetV4() + "\",\""
                + net.blockedSubnetV6() + "\"],\"outbound\":false,\"inbound\":false}"));
        assertThat(applied.status()).as("%s", applied).isEqualTo("applied");

        assertThat(punchAndHearFromD()).as("what the workload received from D").isEqualTo("NONE");
        assertThat(net.containerTcp(net.peerV4(), PORT)).as("loopback and the endpoint still work").isEqualTo("OK");
        assertThat(Sh.ok("nsenter", "-t", Integer.toString(net.containerPid()), "-n", Python.EXE, "-c", LOOPBACK_CASTS)
                .strip()).as("broadcast and multicast on lo, as discovery bound to 127.0.0.1 sends them")
                .isEqualTo("broadcast OK, multicast OK");
    }

    /**
     * The workload's punch through lo to the blocked host D, then ten datagrams D sends to the
     * punched port from the port punched: what the workload received ("RECEIVED ..." or "NONE").
     */
    private static String punchAndHearFromD() throws Exception {
        Process workload = new ProcessBuilder("nsenter", "-t", Integer.toString(net.containerPid()), "-n", Python.EXE,
                "-c", PUNCH, net.blockedHostV4()).redirectErrorStream(true).start();
        try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(workload.getInputStream(),
                StandardCharsets.UTF_8))) {
            assertThat(out.readLine()).as("the workload punched").startsWith("sent");
            // D answers from the port the workload sent to, as replies would come
            Sh.ok("ip", "netns", "exec", net.peerNs(), Python.EXE, "-c", "import socket, time\n"
                    + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                    + "s.bind(('" + net.blockedHostV4() + "', 9999))\n"
                    + "for _ in range(10):\n"
                    + "    s.sendto(b'from-blocked-D', ('" + net.containerV4() + "', " + PUNCHED + "))\n"
                    + "    time.sleep(0.1)\n");
            workload.getOutputStream().close(); // D is done: the workload listens 2 s more
            return out.readLine();
        } finally {
            workload.destroyForcibly().waitFor();
        }
    }

    /** A UDP datagram to 127.255.255.255 and one to 239.1.2.3 out of 127.0.0.1, both received on lo. */
    private static final String LOOPBACK_CASTS = "import socket\n"
            + "r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            + "r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            + "r.bind(('', 40222))\n"
            + "r.settimeout(2)\n"
            + "r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton('239.1.2.3')"
            + " + socket.inet_aton('127.0.0.1'))\n"
            + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            + "s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n"
            + "s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('127.0.0.1'))\n"
            + "out = []\n"
            + "for name, dst in (('broadcast', '127.255.255.255'), ('multicast', '239.1.2.3')):\n"
            + "    try:\n"
            + "        s.sendto(name.encode(), (dst, 40222))\n"
            + "        data, _ = r.recvfrom(100)\n"
            + "        out.append(name + (' OK' if data == name.encode() else ' WRONG'))\n"
            + "    except OSError as e:\n"
            + "        out.append(name + ' FAILED ' + type(e).__name__)\n"
            + "print(', '.join(out))\n";

    private static final int PUNCHED = 40111;

    /**
     * As nobody, with no capability: a UDP socket on {@link #PUNCHED} sends to argv[1]:9999 through
     * lo (IP_PKTINFO, 8: Python has no name for it), prints "sent", then the first datagram it
     * receives ("RECEIVED ...") or, once its stdin has closed (D's sender is done) and 2 s more
     * passed, "NONE": not a fixed 3 s from "sent", which a slow start of D's sender on a loaded
     * machine could use up before it sent.
     */
    private static final String PUNCH = "import os, select, socket, struct, sys, time\n"
            + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            + "s.bind(('0.0.0.0', " + PUNCHED + "))\n"
            + "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
            + "info = struct.pack('@i4s4s', socket.if_nametoindex('lo'), bytes(4), bytes(4))\n"
            + "try:\n"
            + "    s.sendmsg([b'punch'], [(socket.IPPROTO_IP, 8, info)], 0, (sys.argv[1], 9999))\n"
            + "    print('sent', flush=True)\n"
            + "except OSError as e:\n"
            + "    print('sent, refused: %d' % e.errno, flush=True)\n"
            + "watched, end = [s, 0], time.time() + 120\n"
            + "while time.time() < end:\n"
            + "    ready = select.select(watched, [], [], 0.5)[0]\n"
            + "    if s in ready:\n"
            + "        data, peer = s.recvfrom(100)\n"
            + "        print('RECEIVED %r from %s' % (data, peer), flush=True)\n"
            + "        sys.exit(0)\n"
            + "    if 0 in ready and not os.read(0, 64):\n"
            + "        watched.remove(0)\n"
            + "        end = min(end, time.time() + 2)\n"
            + "print('NONE', flush=True)\n";

    /** Joins ff02::1:4e46 on eth0 for a second: the kernel sends MLDv2 reports to ff02::16. */
    private static final String JOIN_GROUP = "import socket, struct, time\n"
            + "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
            + "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, 'ff02::1:4e46')"
            + " + struct.pack('@I', socket.if_nametoindex('eth0')))\n"
            + "time.sleep(1)\n";

    private static NetworkPolicy policy(String json) {
        return SandboxEnforcement.policy(json);
    }

    private EnforcementResult enforce(NetworkPolicy policy) {
        return enforce(policy, List.of(), Map.of());
    }

    /** Applies with the node trusting {@code dnsServers} and hostnames resolving as {@code dns} says. */
    private EnforcementResult enforce(NetworkPolicy policy, List<InetAddress> dnsServers,
            Map<String, List<InetAddress>> dns) {
        return SandboxEnforcement.enforce(net, backend, policy, dnsServers, dns);
    }
}
