package dev.netfence.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.policy.Cidr;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.Direction;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.Rule;
import dev.netfence.rules.RulePlanner;
import dev.netfence.rules.RuleSet;
import dev.netfence.rules.Transport;
import dev.netfence.rules.Verdict;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Policy (or quarantine) to restore text, end to end through the planner, one row per
 * mode/preset/flag combination and family, with the exact text expected. {@code {c}} stands for
 * the comment every rule carries; the plan digest is pinned so rows do not depend on hashing.
 */
class RestoreRendererTest {
    static final String DIGEST = "sha256:0123456789ab" + "0".repeat(52);
    static final String C = " -m comment --comment \"netfence:0123456789ab\"";
    static final String HEAD = "*filter\n:NETFENCE-OUT - [0:0]\n:NETFENCE-IN - [0:0]\n:NETFENCE-FWD - [0:0]\n"
            + "-F NETFENCE-OUT\n-F NETFENCE-IN\n-F NETFENCE-FWD\n";
    /** NETFENCE-FWD, the same in every plan: a sandbox routes nothing. */
    static final String FORWARD = "-A NETFENCE-FWD{c} -j DROP\n";
    static final String HOOKS = "-I OUTPUT 1 -j NETFENCE-OUT\n-I INPUT 1 -j NETFENCE-IN\n-I FORWARD 1 -j NETFENCE-FWD\nCOMMIT\n";
    static final String ND_OUT = """
            -A NETFENCE-OUT -d fe80::/10 -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255{c} -j ACCEPT
            -A NETFENCE-OUT -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255{c} -j ACCEPT
            -A NETFENCE-OUT -d fe80::/10 -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m hl --hl-eq 255{c} -j ACCEPT
            -A NETFENCE-OUT -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m hl --hl-eq 255{c} -j ACCEPT
            -A NETFENCE-OUT -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 131{c} -j ACCEPT
            -A NETFENCE-OUT -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 132{c} -j ACCEPT
            -A NETFENCE-OUT -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 143{c} -j ACCEPT
            """;
    static final String ND_IN = """
            -A NETFENCE-IN -p ipv6-icmp -m icmp6 --icmpv6-type 134{c} -j DROP
            -A NETFENCE-IN -p ipv6-icmp -m icmp6 --icmpv6-type 137{c} -j DROP
            -A NETFENCE-IN -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255{c} -j ACCEPT
            -A NETFENCE-IN -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m hl --hl-eq 255{c} -j ACCEPT
            -A NETFENCE-IN -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 130{c} -j ACCEPT
            -A NETFENCE-IN -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 131{c} -j ACCEPT
            -A NETFENCE-IN -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 132{c} -j ACCEPT
            -A NETFENCE-IN -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 143{c} -j ACCEPT
            """;
    static final String LO_EST_OUT = """
            -A NETFENCE-OUT -o lo -m addrtype --dst-type {types}{c} -j ACCEPT
            -A NETFENCE-OUT -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY{c} -j ACCEPT
            """;
    static final String LO_EST_IN = """
            -A NETFENCE-IN -i lo{c} -j ACCEPT
            -A NETFENCE-IN -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY{c} -j ACCEPT
            """;
    static final String REJECT4 = "-A NETFENCE-OUT{c} -j REJECT --reject-with icmp-port-unreachable\n";
    static final String REJECT6 = "-A NETFENCE-OUT{c} -j REJECT --reject-with icmp6-port-unreachable\n";
    static final String DROP = "-A NETFENCE-IN{c} -j DROP\n";
    /** Docker's loopback resolver, rejected ahead of loopback unless trusted for DNS (IPv4 only). */
    static final String RESOLVER4 = "-A NETFENCE-OUT -d 127.0.0.11/32{c} -j REJECT --reject-with icmp-port-unreachable\n";
    /** What is sent from a source that is neither the namespace's own nor unspecified: dropped first. */
    static final String FOREIGN4 = "-A NETFENCE-OUT ! -s 0.0.0.0/32 -m addrtype ! --src-type LOCAL{c} -j DROP\n";
    static final String FOREIGN6 = "-A NETFENCE-OUT ! -s ::/128 -m addrtype ! --src-type LOCAL{c} -j DROP\n";
    /** The destination types the output loopback accept takes, by family (ip6tables' MULTICAST means "and"). */
    static final String TYPES4 = "LOCAL,BROADCAST,MULTICAST";
    static final String TYPES6 = "LOCAL";
    static final String LO_EST_OUT4 = FOREIGN4 + RESOLVER4 + LO_EST_OUT.replace("{types}", TYPES4);
    static final String LO_EST_OUT6 = FOREIGN6 + LO_EST_OUT.replace("{types}", TYPES6);
    /** The same address dropped first on input (a frame written to it on lo passes no OUTPUT hook). */
    static final String RESOLVER_IN4 = "-A NETFENCE-IN -d 127.0.0.11/32{c} -j DROP\n";
    /** What arrives from one of the namespace's own addresses, not on lo: dropped first on input (not in the quarantine). */
    static final String OWN_IN = "-A NETFENCE-IN ! -i lo -m addrtype --src-type LOCAL{c} -j DROP\n";
    /** IPv4's input: loopback, the redirect drop (a redirect quoting a flow is its reply), established. */
    static final String LO_EST_IN_V4 = LO_EST_IN.replace("-A NETFENCE-IN -m conntrack",
            "-A NETFENCE-IN -p icmp -m icmp --icmp-type 5{c} -j DROP\n-A NETFENCE-IN -m conntrack");
    /** IPv4: what arrives from a broadcast address, not on lo, dropped right after (not in the quarantine). */
    static final String BROADCAST_IN4 = "-A NETFENCE-IN ! -s 0.0.0.0/8 ! -i lo -m addrtype --src-type BROADCAST{c} -j DROP\n";
    static final String LO_EST_IN4 = OWN_IN + BROADCAST_IN4 + RESOLVER_IN4 + LO_EST_IN_V4;
    static final String NOTHING_BUT_LOOPBACK6 = "-A NETFENCE-OUT -o lo -m addrtype --dst-type " + TYPES6 + "{c} -j ACCEPT\n" + REJECT6 + "-A NETFENCE-IN -i lo{c} -j ACCEPT\n" + DROP;
    static final String NOTHING_BUT_LOOPBACK4 = RESOLVER4 + "-A NETFENCE-OUT -o lo -m addrtype --dst-type " + TYPES4 + "{c} -j ACCEPT\n" + REJECT4 + RESOLVER_IN4
            + "-A NETFENCE-IN -i lo{c} -j ACCEPT\n" + DROP;
    static final String DEFAULT_BLOCKED4 = """
            -A NETFENCE-OUT -d 10.0.0.0/8{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-OUT -d 172.16.0.0/12{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-OUT -d 192.168.0.0/16{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-OUT -d 169.254.0.0/16{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-OUT -d 100.64.0.0/10{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-OUT -d 0.0.0.0/8{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-OUT -d 224.0.0.0/4{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-OUT -d 240.0.0.0/4{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-OUT -d 168.63.129.16/32{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-OUT -d 127.0.0.0/8{c} -j REJECT --reject-with icmp-port-unreachable
            """;
    static final String DEFAULT_BLOCKED6 = """
            -A NETFENCE-OUT -d fc00::/7{c} -j REJECT --reject-with icmp6-port-unreachable
            -A NETFENCE-OUT -d fe80::/10{c} -j REJECT --reject-with icmp6-port-unreachable
            -A NETFENCE-OUT -d 64:ff9b::/96{c} -j REJECT --reject-with icmp6-port-unreachable
            -A NETFENCE-OUT -d ::ffff:0.0.0.0/96{c} -j REJECT --reject-with icmp6-port-unreachable
            -A NETFENCE-OUT -d ff00::/8{c} -j REJECT --reject-with icmp6-port-unreachable
            """;
    static final String DNS4 = """
            -A NETFENCE-OUT -d 198.51.100.53/32 -p udp -m udp --dport 53{c} -j ACCEPT
            -A NETFENCE-OUT -d 198.51.100.53/32 -p tcp -m tcp --dport 53{c} -j ACCEPT
            """;
    static final String DNS6 = """
            -A NETFENCE-OUT -d 2001:db8::53/128 -p udp -m udp --dport 53{c} -j ACCEPT
            -A NETFENCE-OUT -d 2001:db8::53/128 -p tcp -m tcp --dport 53{c} -j ACCEPT
            """;
    static final String EP4 = "-A NETFENCE-OUT -d 198.51.100.7/32 -p tcp -m tcp --dport 443{c} -j ACCEPT\n";
    /** The cloud metadata, loopback and link-wide rejects every plan adds after a list that does not hold them, ipv4. */
    static final String METADATA4 = "-A NETFENCE-OUT -d 169.254.0.0/16{c} -j REJECT --reject-with icmp-port-unreachable\n"
            + "-A NETFENCE-OUT -d 168.63.129.16/32{c} -j REJECT --reject-with icmp-port-unreachable\n"
            + "-A NETFENCE-OUT -d 100.100.100.200/32{c} -j REJECT --reject-with icmp-port-unreachable\n"
            + "-A NETFENCE-OUT -d 127.0.0.0/8{c} -j REJECT --reject-with icmp-port-unreachable\n"
            + "-A NETFENCE-OUT -d 224.0.0.0/4{c} -j REJECT --reject-with icmp-port-unreachable\n"
            + "-A NETFENCE-OUT -d 255.255.255.255/32{c} -j REJECT --reject-with icmp-port-unreachable\n";
    /** The reject of a broadcast of the namespace's own subnets, in every ipv4 plan with outbound on. */
    static final String BCAST4 = "-A NETFENCE-OUT ! -o lo -m addrtype --dst-type BROADCAST{c} -j REJECT --reject-with icmp-port-unreachable\n";
    static final String EP6 = "-A NETFENCE-OUT -d 2001:db8::7/128 -p tcp -m tcp --dport 443{c} -j ACCEPT\n";
    /** An allowed TCP endpoint's side of a flow, picked up again after the flush (inbound off). */
    static final String RES4 = "-A NETFENCE-IN -s 198.51.100.7/32 -p tcp -m tcp --sport 443 ! --tcp-flags SYN SYN{c} -j ACCEPT\n";
    static final String RES6 = "-A NETFENCE-IN -s 2001:db8::7/128 -p tcp -m tcp --sport 443 ! --tcp-flags SYN SYN{c} -j ACCEPT\n";
    static final String BRIDGE = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\",\"[2001:db8::7]:443\"]";

    static Stream<Arguments> table() {
        return Stream.of(
                row("default preset, ipv4: nothing but loopback", "{\"schemaVersion\":1,\"preset\":\"default\"}", Family.IPV4,
                        NOTHING_BUT_LOOPBACK4),
                row("default preset, ipv6: nothing but loopback", "{\"schemaVersion\":1,\"preset\":\"default\"}", Family.IPV6,
                        NOTHING_BUT_LOOPBACK6),
                row("mode none with endpoints, ipv4: endpoints are not opened",
                        "{\"schemaVersion\":1,\"mode\":\"none\",\"allowedEndpoints\":[\"198.51.100.7:443\"]}", Family.IPV4,
                        NOTHING_BUT_LOOPBACK4),
                row("quarantine, ipv4", null, Family.IPV4, NOTHING_BUT_LOOPBACK4),
                row("quarantine, ipv6", null, Family.IPV6, NOTHING_BUT_LOOPBACK6),
                row("bridge with endpoints (dns and outbound derived on), ipv4", BRIDGE + "}", Family.IPV4,
                        LO_EST_OUT4 + EP4 + DNS4 + DEFAULT_BLOCKED4 + BCAST4 + LO_EST_IN4 + RES4 + DROP),
                row("bridge with endpoints (dns and outbound derived on), ipv6", BRIDGE + "}", Family.IPV6,
                        LO_EST_OUT6 + ND_OUT + EP6 + DNS6 + DEFAULT_BLOCKED6 + OWN_IN + LO_EST_IN + ND_IN + RES6 + DROP),
                row("bridge, dns off, ipv4", BRIDGE + ",\"dns\":false}", Family.IPV4,
                        LO_EST_OUT4 + EP4 + DEFAULT_BLOCKED4 + BCAST4 + LO_EST_IN4 + RES4 + DROP),
                row("bridge, outbound off, ipv4", BRIDGE + ",\"outbound\":false}", Family.IPV4,
                        LO_EST_OUT4 + EP4 + DNS4 + DEFAULT_BLOCKED4 + REJECT4 + LO_EST_IN4 + RES4 + DROP),
                row("bridge, dns and outbound off, ipv6", BRIDGE + ",\"dns\":false,\"outbound\":false}", Family.IPV6,
                        LO_EST_OUT6 + ND_OUT + EP6 + DEFAULT_BLOCKED6 + REJECT6 + OWN_IN + LO_EST_IN + ND_IN + RES6 + DROP),
                row("bridge, inbound on, ipv4", BRIDGE + ",\"inbound\":true}", Family.IPV4,
                        LO_EST_OUT4 + EP4 + DNS4 + DEFAULT_BLOCKED4 + BCAST4 + LO_EST_IN4),
                row("bridge, inbound on, ipv6", BRIDGE + ",\"inbound\":true}", Family.IPV6,
                        LO_EST_OUT6 + ND_OUT + EP6 + DNS6 + DEFAULT_BLOCKED6 + OWN_IN + LO_EST_IN + ND_IN),
                row("bridge without endpoints: outbound and dns derived off, ipv4",
                        "{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[\"198.18.0.0/15\",\"2001:db8::/32\"]}", Family.IPV4,
                        LO_EST_OUT4 + "-A NETFENCE-OUT -d 198.18.0.0/15{c} -j REJECT --reject-with icmp-port-unreachable\n"
                                + METADATA4 + REJECT4 + LO_EST_IN4 + DROP),
                row("container mode with a udp endpoint and explicit subnets, ipv6",
                        "{\"schemaVersion\":1,\"mode\":\"container\",\"allowedEndpoints\":[\"[2001:db8::9]:53/udp\"],"
                                + "\"blockedSubnets\":[\"198.18.0.0/15\",\"2001:db8::/32\"],\"dns\":false}", Family.IPV6,
                        LO_EST_OUT6 + ND_OUT
                                + "-A NETFENCE-OUT -d 2001:db8::9/128 -p udp -m udp --dport 53{c} -j ACCEPT\n"
                                + "-A NETFENCE-OUT -d 2001:db8::/32{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d fd00:ec2::254/128{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d fd00:ec2::23/128{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d fd20:ce::254/128{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d fe80::a9fe:a9fe/128{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d fe80::/10{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d ff00::/8{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d 64:ff9b::c612:0/111{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d 64:ff9b::a9fe:0/112{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d 64:ff9b::a83f:8110/128{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d 64:ff9b::6464:64c8/128{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d 64:ff9b::7f00:0/104{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d 64:ff9b::e000:0/100{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + "-A NETFENCE-OUT -d 64:ff9b::ffff:ffff/128{c} -j REJECT --reject-with icmp6-port-unreachable\n"
                                + OWN_IN + LO_EST_IN + ND_IN + DROP),
                row("hipaa preset, ipv4: everything else rejected, /0 written without -d",
                        "{\"schemaVersion\":1,\"preset\":\"hipaa\",\"allowedEndpoints\":[\"198.51.100.7:443\",\"[2001:db8::7]:443\"]}",
                        Family.IPV4, LO_EST_OUT4 + EP4 + DNS4 + REJECT4 + LO_EST_IN4 + RES4 + DROP),
                row("hipaa preset, ipv6: ::/0 blocks IPv6 too",
                        "{\"schemaVersion\":1,\"preset\":\"hipaa\",\"allowedEndpoints\":[\"198.51.100.7:443\",\"[2001:db8::7]:443\"]}",
                        Family.IPV6, LO_EST_OUT6 + ND_OUT + EP6 + DNS6 + REJECT6 + OWN_IN + LO_EST_IN + ND_IN + RES6 + DROP),
                row("hipaa preset without endpoints, ipv4: no dns, one reject",
                        "{\"schemaVersion\":1,\"preset\":\"hipaa\"}", Family.IPV4,
                        LO_EST_OUT4 + REJECT4 + LO_EST_IN4 + DROP),
                row("hostname resolved to both families, ipv4", "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"pypi.internal:8443\"],\"dns\":false}",
                        Family.IPV4, LO_EST_OUT4
                                + "-A NETFENCE-OUT -d 198.51.100.12/32 -p tcp -m tcp --dport 8443{c} -j ACCEPT\n"
                                + "-A NETFENCE-OUT -d 198.51.100.13/32 -p tcp -m tcp --dport 8443{c} -j ACCEPT\n"
                                + DEFAULT_BLOCKED4 + BCAST4 + LO_EST_IN4
                                + "-A NETFENCE-IN -s 198.51.100.12/32 -p tcp -m tcp --sport 8443 ! --tcp-flags SYN SYN{c} -j ACCEPT\n"
                                + "-A NETFENCE-IN -s 198.51.100.13/32 -p tcp -m tcp --sport 8443 ! --tcp-flags SYN SYN{c} -j ACCEPT\n" + DROP),
                row("hostname address inside a blocked subnet gets no rule; a literal one stays an exception, ipv4",
                        "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"pypi.internal:8443\",\"198.51.100.12:22\"],"
                                + "\"blockedSubnets\":[\"198.51.100.12/32\"],\"dns\":false}",
                        Family.IPV4, LO_EST_OUT4
                                + "-A NETFENCE-OUT -d 198.51.100.13/32 -p tcp -m tcp --dport 8443{c} -j ACCEPT\n"
                                + "-A NETFENCE-OUT -d 198.51.100.12/32 -p tcp -m tcp --dport 22{c} -j ACCEPT\n"
                                + "-A NETFENCE-OUT -d 198.51.100.12/32{c} -j REJECT --reject-with icmp-port-unreachable\n"
                                + METADATA4 + BCAST4 + LO_EST_IN4
                                + "-A NETFENCE-IN -s 198.51.100.13/32 -p tcp -m tcp --sport 8443 ! --tcp-flags SYN SYN{c} -j ACCEPT\n"
                                + "-A NETFENCE-IN -s 198.51.100.12/32 -p tcp -m tcp --sport 22 ! --tcp-flags SYN SYN{c} -j ACCEPT\n" + DROP),
                row("the policy's trusted resolver inside a blocked subnet comes before it, then the node's, ipv4",
                        BRIDGE + ",\"dnsServers\":[\"10.0.0.53\"]}", Family.IPV4, LO_EST_OUT4 + EP4
                                + "-A NETFENCE-OUT -d 10.0.0.53/32 -p udp -m udp --dport 53{c} -j ACCEPT\n"
                                + "-A NETFENCE-OUT -d 10.0.0.53/32 -p tcp -m tcp --dport 53{c} -j ACCEPT\n"
                                + DNS4 + DEFAULT_BLOCKED4 + BCAST4 + LO_EST_IN4 + RES4 + DROP),
                row("docker's loopback resolver trusted for dns: no reject ahead of loopback, ipv4",
                        BRIDGE + ",\"dnsServers\":[\"127.0.0.11\"]}", Family.IPV4, FOREIGN4 + LO_EST_OUT.replace("{types}", TYPES4) + EP4
                                + "-A NETFENCE-OUT -d 127.0.0.11/32 -p udp -m udp --dport 53{c} -j ACCEPT\n"
                                + "-A NETFENCE-OUT -d 127.0.0.11/32 -p tcp -m tcp --dport 53{c} -j ACCEPT\n"
                                + DNS4 + DEFAULT_BLOCKED4 + BCAST4 + OWN_IN + BROADCAST_IN4 + LO_EST_IN_V4 + RES4 + DROP),
                row("docker's loopback resolver named but dns off: rejected ahead of loopback, ipv4",
                        BRIDGE + ",\"dnsServers\":[\"127.0.0.11\"],\"dns\":false}", Family.IPV4,
                        LO_EST_OUT4 + EP4 + DEFAULT_BLOCKED4 + BCAST4 + LO_EST_IN4 + RES4 + DROP),
                row("hostname resolved to both families, ipv6", "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"pypi.internal:8443\"],\"dns\":false}",
                        Family.IPV6, LO_EST_OUT6 + ND_OUT
                                + "-A NETFENCE-OUT -d 2001:db8::12/128 -p tcp -m tcp --dport 8443{c} -j ACCEPT\n"
                                + DEFAULT_BLOCKED6 + OWN_IN + LO_EST_IN + ND_IN
                                + "-A NETFENCE-IN -s 2001:db8::12/128 -p tcp -m tcp --sport 8443 ! --tcp-flags SYN SYN{c} -j ACCEPT\n" + DROP));
    }

    private static Arguments row(String name, String policy, Family family, String rules) {
        return Arguments.of(name, policy, family, (HEAD + rules + FORWARD + HOOKS).replace("{c}", C));
    }

    static RuleSet pinned(RuleSet set) {
        return new RuleSet(set.family(), set.output(), set.input(), set.forward(), DIGEST);
    }

    static PlannedRules plan(String policyJson) throws Exception {
        RulePlanner planner = new RulePlanner();
        if (policyJson == null) {
            return planner.quarantine();
        }
        NetworkPolicy policy = new PolicyParser().parse(policyJson.getBytes(StandardCharsets.UTF_8));
        Map<String, List<InetAddress>> resolved = Map.of("pypi.internal", List.of(
                InetAddress.getByName("198.51.100.12"), InetAddress.getByName("2001:db8::12"),
                InetAddress.getByName("198.51.100.13"), InetAddress.getByName("198.51.100.12")));
        List<InetAddress> nameservers = List.of(InetAddress.getByName("198.51.100.53"), InetAddress.getByName("2001:db8::53"));
        return planner.plan(policy, resolved, nameservers);
    }

    static Stream<Arguments> ruleTable() {
        Cidr ll = new Cidr("fe80::", 10, Family.IPV6);
        return Stream.of(
                Arguments.of("neighbour solicitation out: link-local, hop limit 255", Family.IPV6,
                        Rule.neighbourDiscovery(Direction.OUT, 135, ll),
                        "-A NETFENCE-OUT -d fe80::/10 -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255" + C + " -j ACCEPT"),
                Arguments.of("neighbour advertisement in: any destination, hop limit 255", Family.IPV6,
                        Rule.neighbourDiscovery(Direction.IN, 136, null),
                        "-A NETFENCE-IN -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m hl --hl-eq 255" + C + " -j ACCEPT"),
                Arguments.of("router advertisement in: dropped, from anyone", Family.IPV6,
                        Rule.routingMessageDropped(134),
                        "-A NETFENCE-IN -p ipv6-icmp -m icmp6 --icmpv6-type 134" + C + " -j DROP"),
                Arguments.of("MLDv2 report in: link multicast, no hop limit", Family.IPV6,
                        Rule.multicastListener(Direction.IN, 143, new Cidr("ff02::", 16, Family.IPV6)),
                        "-A NETFENCE-IN -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 143" + C + " -j ACCEPT"),
                Arguments.of("a hop limit on IPv4 is the TTL", Family.IPV4,
                        new Rule(Direction.OUT, Transport.UDP, new Cidr("198.51.100.53", 32, Family.IPV4), 53, false, false,
                                false, null, 255, Verdict.ACCEPT),
                        "-A NETFENCE-OUT -d 198.51.100.53/32 -p udp -m udp --dport 53 -m ttl --ttl-eq 255" + C + " -j ACCEPT"),
                Arguments.of("everything forwarded: dropped", Family.IPV4, Rule.catchAll(Direction.FORWARD, Verdict.DROP),
                        "-A NETFENCE-FWD" + C + " -j DROP"),
                Arguments.of("a broadcast of the namespace's own subnets, off lo: rejected", Family.IPV4,
                        Rule.broadcastToOutside(),
                        "-A NETFENCE-OUT ! -o lo -m addrtype --dst-type BROADCAST" + C + " -j REJECT --reject-with icmp-port-unreachable"),
                Arguments.of("blocked IPv4-mapped range, written as iptables-save prints it", Family.IPV6,
                        Rule.rejectOut(new Cidr("::ffff:0.0.0.0", 96, Family.IPV6)),
                        "-A NETFENCE-OUT -d ::ffff:0.0.0.0/96" + C + " -j REJECT --reject-with icmp6-port-unreachable"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ruleTable")
    void rendersEachMatchOfTheRuleModelExactly(String name, Family family, Rule rule, String expected) {
        Direction d = rule.direction();
        RuleSet set = new RuleSet(family, d == Direction.OUT ? List.of(rule) : List.of(),
                d == Direction.IN ? List.of(rule) : List.of(), d == Direction.FORWARD ? List.of(rule) : List.of(), DIGEST);
        assertThat(new RestoreRenderer().lines(set, d)).containsExactly(expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void rendersExactlyTheExpectedRestoreInput(String name, String policyJson, Family family, String expected) throws Exception {
        RuleSet set = pinned(plan(policyJson).forFamily(family));
        assertThat(new RestoreRenderer().render(set, true)).isEqualTo(expected);
    }
}
