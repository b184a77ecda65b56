package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import dev.netfence.rules.RuleSet;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Policy (or quarantine) to nft transaction text, end to end through the planner, one row per
 * mode/preset/flag combination with the exact text expected: the table replaced in one
 * transaction, both families in one inet chain per hook, each family's rules in the planner's
 * order. {@code {c}} stands for the comment every rule carries; the digest is pinned.
 */
class NftRendererTest {
    static final String DIGEST = "sha256:0123456789ab" + "0".repeat(52);
    static final String C = " comment \"netfence:0123456789ab\"";
    /** The plan's connection mark: the digest's first 32 bits. */
    static final String M = "0x01234567";
    static final String HEAD = """
            table inet netfence
            delete table inet netfence
            table inet netfence {
            \tchain output {
            \t\ttype filter hook output priority filter; policy accept;
            """;
    static final String MIDDLE = """
            \t}
            \tchain input {
            \t\ttype filter hook input priority filter; policy accept;
            """;
    /** The forward chain, the same in every plan: a sandbox routes nothing, in either family. */
    static final String TAIL = """
            \t}
            \tchain forward {
            \t\ttype filter hook forward priority filter; policy accept;
            \t\tmeta nfproto ipv4 drop{c}
            \t\tmeta nfproto ipv6 drop{c}
            \t}
            }
            """;
    static final String LO_EST4 = """
            \t\tmeta nfproto ipv4 meta oiftype loopback fib daddr type != unicast accept{c}
            \t\tmeta nfproto ipv4 ct state established,related ct direction reply ct mark {m} accept{c}
            """;
    /** Docker's loopback resolver, rejected ahead of loopback unless trusted for DNS (IPv4 only). */
    static final String RESOLVER4 = "\t\tip daddr 127.0.0.11 reject with icmp port-unreachable{c}\n";
    /** What is sent from a source that is neither the namespace's own nor unspecified: dropped first. */
    static final String FOREIGN4 = "\t\tip saddr != 0.0.0.0 fib saddr type != local drop{c}\n";
    static final String FOREIGN6 = "\t\tip6 saddr != :: fib saddr type != local drop{c}\n";
    static final String LO_EST_OUT4 = FOREIGN4 + RESOLVER4 + LO_EST4;
    /** IPv6 through lo only to a local destination (not anycast, unreachable, blackhole or prohibit: see NftExpr). */
    static final String LO_EST_OUT6 = FOREIGN6 + LO_EST4.replace("ipv4", "ipv6").replace("type != unicast", "type local");
    static final String RESOLVER_IN4 = "\t\tip daddr 127.0.0.11 drop{c}\n";
    /** What arrives from one of the namespace's own addresses, not on lo: dropped first on input (not in the quarantine). */
    static final String OWN_IN4 = "\t\tmeta nfproto ipv4 meta iiftype != loopback fib saddr type local drop{c}\n";
    static final String OWN_IN6 = OWN_IN4.replace("ipv4", "ipv6");
    /** Loopback and established on IPv4 input, with the redirect drop between them (a redirect quoting a flow is its reply). */
    static final String LO_EST_IN4_BARE = """
            \t\tmeta nfproto ipv4 meta iiftype loopback accept{c}
            \t\ticmp type redirect drop{c}
            \t\tmeta nfproto ipv4 ct state established,related ct direction reply ct mark {m} accept{c}
            """;
    /** What arrives from a broadcast address, not on lo: dropped right after (IPv4; not in the quarantine). */
    static final String BROADCAST_IN4 = "\t\tip saddr != 0.0.0.0/8 meta iiftype != loopback fib saddr type broadcast drop{c}\n";
    static final String LO_EST_IN4 = OWN_IN4 + BROADCAST_IN4 + RESOLVER_IN4 + LO_EST_IN4_BARE;
    static final String LO_EST_IN6 = OWN_IN6 + LO_EST4.replace("ipv4", "ipv6").replace("oiftype loopback fib daddr type != unicast", "iiftype loopback");
    static final String ND_OUT = """
            \t\tip6 daddr fe80::/10 icmpv6 type nd-neighbor-solicit ip6 hoplimit 255 ct mark set {m} accept{c}
            \t\tip6 daddr ff02::/16 icmpv6 type nd-neighbor-solicit ip6 hoplimit 255 ct mark set {m} accept{c}
            \t\tip6 daddr fe80::/10 icmpv6 type nd-neighbor-advert ip6 hoplimit 255 ct mark set {m} accept{c}
            \t\tip6 daddr ff02::/16 icmpv6 type nd-neighbor-advert ip6 hoplimit 255 ct mark set {m} accept{c}
            \t\tip6 daddr ff02::/16 icmpv6 type mld-listener-report ct mark set {m} accept{c}
            \t\tip6 daddr ff02::/16 icmpv6 type mld-listener-done ct mark set {m} accept{c}
            \t\tip6 daddr ff02::/16 icmpv6 type mld2-listener-report ct mark set {m} accept{c}
            """;
    static final String ND_IN = """
            \t\ticmpv6 type nd-router-advert drop{c}
            \t\ticmpv6 type nd-redirect drop{c}
            \t\ticmpv6 type nd-neighbor-solicit ip6 hoplimit 255 ct mark set {m} accept{c}
            \t\ticmpv6 type nd-neighbor-advert ip6 hoplimit 255 ct mark set {m} accept{c}
            \t\tip6 daddr ff02::/16 icmpv6 type mld-listener-query ct mark set {m} accept{c}
            \t\tip6 daddr ff02::/16 icmpv6 type mld-listener-report ct mark set {m} accept{c}
            \t\tip6 daddr ff02::/16 icmpv6 type mld-listener-done ct mark set {m} accept{c}
            \t\tip6 daddr ff02::/16 icmpv6 type mld2-listener-report ct mark set {m} accept{c}
            """;
    static final String REJECT4 = "\t\treject with icmp port-unreachable{c}\n";
    static final String REJECT6 = "\t\treject with icmpv6 port-unreachable{c}\n";
    static final String DROP4 = "\t\tmeta nfproto ipv4 drop{c}\n";
    static final String DROP6 = "\t\tmeta nfproto ipv6 drop{c}\n";
    static final String DEFAULT_BLOCKED4 = """
            \t\tip daddr 10.0.0.0/8 reject with icmp port-unreachable{c}
            \t\tip daddr 172.16.0.0/12 reject with icmp port-unreachable{c}
            \t\tip daddr 192.168.0.0/16 reject with icmp port-unreachable{c}
            \t\tip daddr 169.254.0.0/16 reject with icmp port-unreachable{c}
            \t\tip daddr 100.64.0.0/10 reject with icmp port-unreachable{c}
            \t\tip daddr 0.0.0.0/8 reject with icmp port-unreachable{c}
            \t\tip daddr 224.0.0.0/4 reject with icmp port-unreachable{c}
            \t\tip daddr 240.0.0.0/4 reject with icmp port-unreachable{c}
            \t\tip daddr 168.63.129.16 reject with icmp port-unreachable{c}
            \t\tip daddr 127.0.0.0/8 reject with icmp port-unreachable{c}
            """;
    /** The reject of a broadcast of the namespace's own subnets, in every ipv4 plan with outbound on. */
    static final String BCAST4 = "\t\tmeta oiftype != loopback fib daddr type broadcast reject with icmp port-unreachable{c}\n";
    static final String DEFAULT_BLOCKED6 = """
            \t\tip6 daddr fc00::/7 reject with icmpv6 port-unreachable{c}
            \t\tip6 daddr fe80::/10 reject with icmpv6 port-unreachable{c}
            \t\tip6 daddr 64:ff9b::/96 reject with icmpv6 port-unreachable{c}
            \t\tip6 daddr ::ffff:0.0.0.0/96 reject with icmpv6 port-unreachable{c}
            \t\tip6 daddr ff00::/8 reject with icmpv6 port-unreachable{c}
            """;
    static final String DNS4 = """
            \t\tip daddr 198.51.100.53 udp dport 53 ct mark set {m} accept{c}
            \t\tip daddr 198.51.100.53 tcp dport 53 ct mark set {m} accept{c}
            """;
    static final String DNS6 = """
            \t\tip6 daddr 2001:db8::53 udp dport 53 ct mark set {m} accept{c}
            \t\tip6 daddr 2001:db8::53 tcp dport 53 ct mark set {m} accept{c}
            """;
    static final String EP4 = "\t\tip daddr 198.51.100.7 tcp dport 443 ct mark set {m} accept{c}\n";
    static final String EP6 = "\t\tip6 daddr 2001:db8::7 tcp dport 443 ct mark set {m} accept{c}\n";
    static final String LOOPBACK_ONLY_OUT = RESOLVER4 + "\t\tmeta nfproto ipv4 meta oiftype loopback fib daddr type != unicast accept{c}\n" + REJECT4
            + "\t\tmeta nfproto ipv6 meta oiftype loopback fib daddr type local accept{c}\n" + REJECT6;
    static final String LOOPBACK_ONLY_IN = RESOLVER_IN4 + "\t\tmeta nfproto ipv4 meta iiftype loopback accept{c}\n" + DROP4
            + "\t\tmeta nfproto ipv6 meta iiftype loopback accept{c}\n" + DROP6;
    /** An allowed TCP endpoint's side of a flow, picked up again after the flush (inbound off). */
    static final String RESUME4 = "\t\tip saddr 198.51.100.7 tcp sport 443 tcp flags ! syn ct mark set {m} accept{c}\n";
    static final String RESUME6 = "\t\tip6 saddr 2001:db8::7 tcp sport 443 tcp flags ! syn ct mark set {m} accept{c}\n";
    /**
     * The last rule of a chain whose established accept takes this plan's mark: what its policy
     * accept lets by (outbound or inbound on) is this plan's connection too.
     */
    static final String END = "\t\tct mark set {m}{c}\n";
    static final String BRIDGE = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\",\"[2001:db8::7]:443\"]";

    static Stream<Arguments> table() {
        return Stream.of(
                row("default preset: nothing but loopback", "{\"schemaVersion\":1,\"preset\":\"default\"}",
                        LOOPBACK_ONLY_OUT, LOOPBACK_ONLY_IN),
                row("quarantine: nothing but loopback", null, LOOPBACK_ONLY_OUT, LOOPBACK_ONLY_IN),
                row("bridge with endpoints (dns and outbound derived on)", BRIDGE + "}",
                        LO_EST_OUT4 + EP4 + DNS4 + DEFAULT_BLOCKED4 + BCAST4 + LO_EST_OUT6 + ND_OUT + EP6 + DNS6 + DEFAULT_BLOCKED6
                                + END,
                        LO_EST_IN4 + RESUME4 + DROP4 + LO_EST_IN6 + ND_IN + RESUME6 + DROP6 + END),
                row("bridge, dns and outbound off, inbound on", BRIDGE + ",\"dns\":false,\"outbound\":false,\"inbound\":true}",
                        LO_EST_OUT4 + EP4 + DEFAULT_BLOCKED4 + REJECT4 + LO_EST_OUT6 + ND_OUT + EP6 + DEFAULT_BLOCKED6 + REJECT6
                                + END,
                        LO_EST_IN4 + LO_EST_IN6 + ND_IN + END),
                row("container mode with a udp endpoint and explicit subnets: then the metadata, loopback and link-wide ranges, then the IPv4 ones in NAT64 form",
                        "{\"schemaVersion\":1,\"mode\":\"container\",\"allowedEndpoints\":[\"[2001:db8::9]:53/udp\"],"
                                + "\"blockedSubnets\":[\"198.18.0.0/15\",\"2001:db8::/32\"],\"dns\":false}",
                        LO_EST_OUT4 + "\t\tip daddr 198.18.0.0/15 reject with icmp port-unreachable{c}\n"
                                + "\t\tip daddr 169.254.0.0/16 reject with icmp port-unreachable{c}\n"
                                + "\t\tip daddr 168.63.129.16 reject with icmp port-unreachable{c}\n"
                                + "\t\tip daddr 100.100.100.200 reject with icmp port-unreachable{c}\n"
                                + "\t\tip daddr 127.0.0.0/8 reject with icmp port-unreachable{c}\n"
                                + "\t\tip daddr 224.0.0.0/4 reject with icmp port-unreachable{c}\n"
                                + "\t\tip daddr 255.255.255.255 reject with icmp port-unreachable{c}\n" + BCAST4
                                + LO_EST_OUT6 + ND_OUT
                                + "\t\tip6 daddr 2001:db8::9 udp dport 53 ct mark set {m} accept{c}\n"
                                + "\t\tip6 daddr 2001:db8::/32 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr fd00:ec2::254 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr fd00:ec2::23 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr fd20:ce::254 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr fe80::a9fe:a9fe reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr fe80::/10 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr ff00::/8 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr 64:ff9b::c612:0/111 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr 64:ff9b::a9fe:0/112 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr 64:ff9b::a83f:8110 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr 64:ff9b::6464:64c8 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr 64:ff9b::7f00:0/104 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr 64:ff9b::e000:0/100 reject with icmpv6 port-unreachable{c}\n"
                                + "\t\tip6 daddr 64:ff9b::ffff:ffff reject with icmpv6 port-unreachable{c}\n" + END,
                        LO_EST_IN4 + DROP4 + LO_EST_IN6 + ND_IN + DROP6 + END),
                row("hipaa preset: /0 is the catch-all reject of each family",
                        "{\"schemaVersion\":1,\"preset\":\"hipaa\",\"allowedEndpoints\":[\"198.51.100.7:443\",\"[2001:db8::7]:443\"]}",
                        LO_EST_OUT4 + EP4 + DNS4 + REJECT4 + LO_EST_OUT6 + ND_OUT + EP6 + DNS6 + REJECT6 + END,
                        LO_EST_IN4 + RESUME4 + DROP4 + LO_EST_IN6 + ND_IN + RESUME6 + DROP6 + END),
                row("docker's loopback resolver trusted for dns: no reject ahead of loopback",
                        BRIDGE + ",\"dnsServers\":[\"127.0.0.11\"]}",
                        FOREIGN4 + LO_EST4 + EP4 + "\t\tip daddr 127.0.0.11 udp dport 53 ct mark set {m} accept{c}\n"
                                + "\t\tip daddr 127.0.0.11 tcp dport 53 ct mark set {m} accept{c}\n" + DNS4 + DEFAULT_BLOCKED4 + BCAST4
                                + LO_EST_OUT6 + ND_OUT + EP6 + DNS6 + DEFAULT_BLOCKED6 + END,
                        OWN_IN4 + BROADCAST_IN4 + LO_EST_IN4_BARE + RESUME4 + DROP4 + LO_EST_IN6 + ND_IN + RESUME6 + DROP6
                                + END),
                row("hostname resolved to both families", "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"pypi.internal:8443\"],\"dns\":false}",
                        LO_EST_OUT4
                                + "\t\tip daddr 198.51.100.12 tcp dport 8443 ct mark set {m} accept{c}\n"
                                + "\t\tip daddr 198.51.100.13 tcp dport 8443 ct mark set {m} accept{c}\n"
                                + DEFAULT_BLOCKED4 + BCAST4 + LO_EST_OUT6
                                + ND_OUT + "\t\tip6 daddr 2001:db8::12 tcp dport 8443 ct mark set {m} accept{c}\n" + DEFAULT_BLOCKED6
                                + END,
                        LO_EST_IN4 + "\t\tip saddr 198.51.100.12 tcp sport 8443 tcp flags ! syn ct mark set {m} accept{c}\n"
                                + "\t\tip saddr 198.51.100.13 tcp sport 8443 tcp flags ! syn ct mark set {m} accept{c}\n" + DROP4
                                + LO_EST_IN6 + ND_IN + "\t\tip6 saddr 2001:db8::12 tcp sport 8443 tcp flags ! syn ct mark set {m} accept{c}\n"
                                + DROP6 + END));
    }

    private static Arguments row(String name, String policy, String output, String input) {
        return Arguments.of(name, policy, (HEAD + output + MIDDLE + input + TAIL).replace("{c}", C).replace("{m}", M));
    }

    /** {@code plan} with the digest pinned, so rows do not depend on hashing. */
    static PlannedRules pinned(PlannedRules plan) {
        Map<Family, RuleSet> sets = new EnumMap<>(Family.class);
        for (Family f : plan.families()) {
            RuleSet s = plan.forFamily(f);
            sets.put(f, new RuleSet(f, s.output(), s.input(), s.forward(), DIGEST));
        }
        return new PlannedRules(sets, DIGEST, plan.warnings());
    }

    static PlannedRules plan(String policyJson) throws Exception {
        RulePlanner planner = new RulePlanner();
        if (policyJson == null) {
            return pinned(planner.quarantine());
        }
        NetworkPolicy policy = new PolicyParser().parse(policyJson.getBytes(StandardCharsets.UTF_8));
        Map<String, List<InetAddress>> resolved = Map.of("pypi.internal", List.of(
                InetAddress.getByName("198.51.100.12"), InetAddress.getByName("2001:db8::12"),
                InetAddress.getByName("198.51.100.13"), InetAddress.getByName("198.51.100.12")));
        List<InetAddress> nameservers = List.of(InetAddress.getByName("198.51.100.53"), InetAddress.getByName("2001:db8::53"));
        return pinned(planner.plan(policy, resolved, nameservers));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void rendersExactlyTheExpectedTransaction(String name, String policyJson, String expected) throws Exception {
        assertThat(new NftRenderer().render(plan(policyJson))).isEqualTo(expected);
    }

    @Test
    void aMarkPastTheIntRangeIsWrittenAndReadBackAsNftListsIt() throws Exception {
        // nft -j prints a mark as an unsigned decimal; Jackson reads one past the int range as a long node
        var listed = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                "{\"match\": {\"op\": \"==\", \"left\": {\"ct\": {\"key\": \"mark\"}}, \"right\": 2309737967}}");
        assertThat(NftExpr.ctMark(0x89abcdefL).json()).isEqualTo(listed);
        assertThat(NftExpr.ctMark(0x89abcdefL).text()).isEqualTo("ct mark 0x89abcdef");
        assertThat(NftExpr.ctMarkSet(1).text()).isEqualTo("ct mark set 0x00000001");
    }

    @Test
    void deletingTheTableIsIdempotentTextThatCannotFailOnAMissingTable() {
        assertThat(new NftRenderer().deleteTable()).isEqualTo("table inet netfence\ndelete table inet netfence\n");
    }

    @Test
    void iptablesLeftoversAreRemovedJumpsFirstThenTheChains() {
        String text = new NftRenderer().removeIptablesLeftovers(List.of(
                new NftRuleset.Leftover("ip", "filter", "NETFENCE-OUT", -1),
                new NftRuleset.Leftover("ip", "filter", "OUTPUT", 7),
                new NftRuleset.Leftover("ip6", "filter", "INPUT", 3)));
        assertThat(text).isEqualTo("""
                delete rule ip filter OUTPUT handle 7
                delete rule ip6 filter INPUT handle 3
                flush chain ip filter NETFENCE-OUT
                delete chain ip filter NETFENCE-OUT
                """);
    }
}
