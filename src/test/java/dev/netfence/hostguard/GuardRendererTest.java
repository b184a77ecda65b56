package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.policy.Cidr;
import dev.netfence.policy.Family;
import dev.netfence.rules.Direction;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.Rule;
import dev.netfence.rules.RulePlanner;
import dev.netfence.rules.RuleSet;
import dev.netfence.rules.Transport;
import dev.netfence.rules.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Plan to host-guard chain body, one row per shape of NETFENCE-OUT, with the exact text nft
 * prints back ({@code {c}} stands for the comment every rule carries; the digest is pinned).
 */
class GuardRendererTest {
    static final String DIGEST = "sha256:0123456789ab" + "0".repeat(52);
    static final String C = " comment \"netfence:0123456789ab\"";
    static final String L2 = """
            ether type { 8021q, 8021ad } drop{c}
            meta protocol arp accept{c}
            meta protocol != { ip, ip6 } drop{c}
            ip daddr 127.0.0.0/8 drop{c}
            ip hdrlength != { 5, 6 } drop{c}
            ip hdrlength 6 @nh,160,32 != 0x94040000 drop{c}
            exthdr rt exists drop{c}
            """;
    static final String ND = """
            ip6 daddr { fe80::/10, ff02::/16 } icmpv6 type nd-router-solicit ip6 hoplimit 255 accept{c}
            ip6 daddr fe80::/10 icmpv6 type nd-neighbor-solicit ip6 hoplimit 255 accept{c}
            ip6 daddr ff02::/16 icmpv6 type nd-neighbor-advert ip6 hoplimit 255 accept{c}
            """;

    static Stream<Arguments> table() {
        return Stream.of(
                row("quarantine: ARP only, both families dropped", pinned(new RulePlanner().quarantine()),
                        L2 + "meta protocol ip drop{c}\nmeta protocol ip6 drop{c}\n"),
                row("outbound off, endpoints and DNS accepted, blocked subnets dropped, inbound closed", plan(
                        out(Family.IPV4, established(), allow("198.51.100.7", 443, Transport.TCP),
                                allow("198.51.100.53", 53, Transport.UDP), allow("198.51.100.53", 53, Transport.TCP),
                                block("10.0.0.0", 8, Family.IPV4), reject()),
                        out(Family.IPV6, established(), nd(133, LL), nd(133, MC), nd(135, LL), nd(136, MC),
                                allow("2001:db8::7", 443, Transport.TCP), block("fc00::", 7, Family.IPV6), reject()),
                        false),
                        L2 + """
                                ip daddr 198.51.100.7 tcp dport 443 accept{c}
                                ip daddr 198.51.100.53 udp dport 53 accept{c}
                                ip daddr 198.51.100.53 tcp dport 53 accept{c}
                                ip daddr 10.0.0.0/8 drop{c}
                                meta protocol ip drop{c}
                                """ + ND + """
                                ip6 daddr 2001:db8::7 tcp dport 443 accept{c}
                                ip6 daddr fc00::/7 drop{c}
                                meta protocol ip6 drop{c}
                                """),
                row("outbound on: what only a router sends dropped, blocked subnets dropped, the rest of each family "
                        + "accepted", plan(
                        out(Family.IPV4, established(), block("10.0.0.0", 8, Family.IPV4), block("169.254.0.0", 16, Family.IPV4)),
                        out(Family.IPV6, established(), nd(135, LL), block("fe80::", 10, Family.IPV6)),
                        false),
                        L2 + """
                                meta protocol ip igmp type { membership-query, 48 } drop{c}
                                icmpv6 type { mld-listener-query, nd-router-advert, nd-redirect, router-renumbering, \
                                151, 152, 153 } drop{c}
                                ip6 daddr ff00::/8 meta l4proto ah drop{c}
                                meta l4proto pim drop{c}
                                ip daddr { 10.0.0.0/8, 169.254.0.0/16 } drop{c}
                                meta protocol ip accept{c}
                                ip6 daddr fe80::/10 icmpv6 type nd-neighbor-solicit ip6 hoplimit 255 accept{c}
                                ip6 daddr fe80::/10 drop{c}
                                meta protocol ip6 accept{c}
                                """),
                row("outbound on: a subnet's broadcast is a frame to the broadcast MAC, the rest of IPv4 accepted", plan(
                        out(Family.IPV4, established(), block("10.0.0.0", 8, Family.IPV4), Rule.broadcastToOutside()),
                        out(Family.IPV6, established(), reject()),
                        false),
                        L2 + """
                                meta protocol ip igmp type { membership-query, 48 } drop{c}
                                meta l4proto pim drop{c}
                                ip daddr 10.0.0.0/8 drop{c}
                                meta protocol ip fib daddr type broadcast drop{c}
                                meta pkttype broadcast meta protocol ip drop{c}
                                meta protocol ip accept{c}
                                meta protocol ip6 drop{c}
                                """),
                row("inbound on: established becomes TCP-with-ACK, where the planner puts it (before the subnets), never "
                        + "broadcast, multicast or a fragment (54a #4, 56 #2, #3)", plan(
                        out(Family.IPV4, established(), allow("198.51.100.7", 8080, Transport.TCP),
                                block("10.0.0.0", 8, Family.IPV4), reject()),
                        out(Family.IPV6, established(), reject()),
                        true),
                        L2 + """
                                meta pkttype != { broadcast, multicast } ip daddr != { 224.0.0.0/4, 255.255.255.255 } ip frag-off & 8191 == 0 fib daddr type != broadcast tcp flags & ack == ack accept{c}
                                ip daddr 198.51.100.7 tcp dport 8080 accept{c}
                                ip daddr 10.0.0.0/8 drop{c}
                                meta protocol ip drop{c}
                                meta pkttype != { broadcast, multicast } ip6 daddr != ff00::/8 exthdr frag missing tcp flags & ack == ack accept{c}
                                meta protocol ip6 drop{c}
                                """),
                row("runs of rules differing in one value fold into sets: endpoints per transport, subnets unless they "
                        + "overlap or touch one already in the set (11/8 touches 10/8: a new run), ICMPv6 types; "
                        + "a repeated rule is written once", plan(
                        out(Family.IPV4, established(), allow("198.51.100.9", 443, Transport.TCP),
                                allow("198.51.100.7", 8443, Transport.TCP), allow("198.51.100.9", 443, Transport.TCP),
                                allow("198.51.100.7", 53, Transport.UDP), allow("198.51.100.8", 53, Transport.UDP),
                                allow("198.51.100.9", 22, Transport.TCP), block("10.0.0.0", 8, Family.IPV4),
                                block("172.16.0.0", 12, Family.IPV4), block("11.0.0.0", 8, Family.IPV4),
                                block("10.1.0.0", 16, Family.IPV4), reject()),
                        out(Family.IPV6, established(), nd(133, LL), nd(133, MC), nd(135, LL), nd(135, MC), nd(136, LL),
                                nd(136, MC), Rule.multicastListener(Direction.OUT, 130, MC),
                                Rule.multicastListener(Direction.OUT, 143, MC), allow("2001:db8::7", 443, Transport.TCP),
                                allow("2001:db8::1", 443, Transport.TCP), reject()),
                        false),
                        L2 + """
                                ip daddr . tcp dport { 198.51.100.9 . 443, 198.51.100.7 . 8443 } accept{c}
                                ip daddr . udp dport { 198.51.100.7 . 53, 198.51.100.8 . 53 } accept{c}
                                ip daddr 198.51.100.9 tcp dport 22 accept{c}
                                ip daddr { 10.0.0.0/8, 172.16.0.0/12 } drop{c}
                                ip daddr { 11.0.0.0/8, 10.1.0.0/16 } drop{c}
                                meta protocol ip drop{c}
                                ip6 daddr { fe80::/10, ff02::/16 } icmpv6 type { nd-router-solicit, nd-neighbor-solicit, \
                                nd-neighbor-advert } ip6 hoplimit 255 accept{c}
                                ip6 daddr ff02::/16 icmpv6 type { mld-listener-query, mld2-listener-report } accept{c}
                                ip6 daddr . tcp dport { 2001:db8::7 . 443, 2001:db8::1 . 443 } accept{c}
                                meta protocol ip6 drop{c}
                                """),
                row("MLD keeps no hop-limit match; a hop limit on IPv4 is a TTL match",
                        plan(out(Family.IPV4, new Rule(Direction.OUT, Transport.UDP, new Cidr("198.51.100.9", 32, Family.IPV4),
                                        5353, false, false, false, null, 255, Verdict.ACCEPT), reject()),
                                out(Family.IPV6, Rule.multicastListener(Direction.OUT, 143, MC), reject()),
                                false),
                        L2 + "ip daddr 198.51.100.9 udp dport 5353 ip ttl 255 accept{c}\nmeta protocol ip drop{c}\n"
                                + "ip6 daddr ff02::/16 icmpv6 type mld2-listener-report accept{c}\nmeta protocol ip6 drop{c}\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void rendersExactlyTheExpectedChainBody(String name, PlannedRules plan, String expected) {
        assertThat(String.join("\n", new GuardRenderer().rules(plan)) + "\n").isEqualTo(expected.replace("{c}", C));
    }

    static Stream<Arguments> bindings() {
        return Stream.of(
                Arguments.of("one address of each family",
                        new HostSides.Binding("0a:58:0a:58:00:05", List.of("10.88.0.5"), List.of("fe80::858:aff:fe58:5")),
                        """
                        ether saddr != 0a:58:0a:58:00:05 drop{c}
                        arp saddr ether != 0a:58:0a:58:00:05 drop{c}
                        arp saddr ip != { 0.0.0.0, 10.88.0.5 } drop{c}
                        ip saddr != 10.88.0.5 drop{c}
                        ip6 saddr != { ::, fe80::858:aff:fe58:5 } drop{c}
                        arp saddr ip 0.0.0.0 arp daddr ip != 10.88.0.5 drop{c}
                        ip6 saddr :: icmpv6 type nd-neighbor-solicit @th,64,128 != 0xfe8000000000000008580afffe580005 drop{c}
                        icmpv6 type nd-neighbor-advert @th,64,128 != 0xfe8000000000000008580afffe580005 drop{c}
                        icmpv6 type nd-neighbor-advert @th,192,64 != 0x2010a580a580005 drop{c}
                        ip6 saddr != :: icmpv6 type nd-neighbor-solicit @th,192,64 != 0x1010a580a580005 drop{c}
                        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } @th,256,8 0x0-0xff drop{c}
                        icmpv6 type nd-router-solicit @th,64,64 != 0x1010a580a580005 drop{c}
                        icmpv6 type nd-router-solicit @th,128,8 0x0-0xff drop{c}
                        ip6 nexthdr != ipv6-icmp icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, \
                        nd-neighbor-advert, nd-redirect } drop{c}
                        """),
                Arguments.of("several IPv4 addresses, a global and a link-local IPv6 one",
                        new HostSides.Binding("be:db:71:64:91:e4", List.of("10.88.7.145", "10.89.0.2"),
                                List.of("2001:db8::2", "fe80::bcdb:71ff:fe64:91e4")),
                        """
                        ether saddr != be:db:71:64:91:e4 drop{c}
                        arp saddr ether != be:db:71:64:91:e4 drop{c}
                        arp saddr ip != { 0.0.0.0, 10.88.7.145, 10.89.0.2 } drop{c}
                        ip saddr != { 10.88.7.145, 10.89.0.2 } drop{c}
                        ip6 saddr != { ::, 2001:db8::2, fe80::bcdb:71ff:fe64:91e4 } drop{c}
                        arp saddr ip 0.0.0.0 arp daddr ip != { 10.88.7.145, 10.89.0.2 } drop{c}
                        ip6 saddr :: icmpv6 type nd-neighbor-solicit @th,64,128 != { 0x20010db8000000000000000000000002, \
                        0xfe80000000000000bcdb71fffe6491e4 } drop{c}
                        icmpv6 type nd-neighbor-advert @th,64,128 != { 0x20010db8000000000000000000000002, \
                        0xfe80000000000000bcdb71fffe6491e4 } drop{c}
                        icmpv6 type nd-neighbor-advert @th,192,64 != 0x201bedb716491e4 drop{c}
                        ip6 saddr != :: icmpv6 type nd-neighbor-solicit @th,192,64 != 0x101bedb716491e4 drop{c}
                        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } @th,256,8 0x0-0xff drop{c}
                        icmpv6 type nd-router-solicit @th,64,64 != 0x101bedb716491e4 drop{c}
                        icmpv6 type nd-router-solicit @th,128,8 0x0-0xff drop{c}
                        ip6 nexthdr != ipv6-icmp icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, \
                        nd-neighbor-advert, nd-redirect } drop{c}
                        """),
                Arguments.of("no address at all: only probes and unspecified sources, no IPv4",
                        new HostSides.Binding("02:00:00:00:00:01", List.of(), List.of()),
                        """
                        ether saddr != 02:00:00:00:00:01 drop{c}
                        arp saddr ether != 02:00:00:00:00:01 drop{c}
                        arp saddr ip != 0.0.0.0 drop{c}
                        meta protocol ip drop{c}
                        ip6 saddr != :: drop{c}
                        arp saddr ip 0.0.0.0 drop{c}
                        ip6 saddr :: icmpv6 type nd-neighbor-solicit drop{c}
                        icmpv6 type nd-neighbor-advert drop{c}
                        icmpv6 type nd-neighbor-advert @th,192,64 != 0x201020000000001 drop{c}
                        ip6 saddr != :: icmpv6 type nd-neighbor-solicit @th,192,64 != 0x101020000000001 drop{c}
                        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } @th,256,8 0x0-0xff drop{c}
                        icmpv6 type nd-router-solicit @th,64,64 != 0x101020000000001 drop{c}
                        icmpv6 type nd-router-solicit @th,128,8 0x0-0xff drop{c}
                        ip6 nexthdr != ipv6-icmp icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, \
                        nd-neighbor-advert, nd-redirect } drop{c}
                        """),
                Arguments.of("an IPv4-mapped IPv6 address: its number without leading zeros, as nft prints it",
                        new HostSides.Binding("02:00:00:00:00:01", List.of(), List.of("::ffff:10.0.0.1")),
                        """
                        ether saddr != 02:00:00:00:00:01 drop{c}
                        arp saddr ether != 02:00:00:00:00:01 drop{c}
                        arp saddr ip != 0.0.0.0 drop{c}
                        meta protocol ip drop{c}
                        ip6 saddr != { ::, ::ffff:10.0.0.1 } drop{c}
                        arp saddr ip 0.0.0.0 drop{c}
                        ip6 saddr :: icmpv6 type nd-neighbor-solicit @th,64,128 != 0xffff0a000001 drop{c}
                        icmpv6 type nd-neighbor-advert @th,64,128 != 0xffff0a000001 drop{c}
                        icmpv6 type nd-neighbor-advert @th,192,64 != 0x201020000000001 drop{c}
                        ip6 saddr != :: icmpv6 type nd-neighbor-solicit @th,192,64 != 0x101020000000001 drop{c}
                        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } @th,256,8 0x0-0xff drop{c}
                        icmpv6 type nd-router-solicit @th,64,64 != 0x101020000000001 drop{c}
                        icmpv6 type nd-router-solicit @th,128,8 0x0-0xff drop{c}
                        ip6 nexthdr != ipv6-icmp icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, \
                        nd-neighbor-advert, nd-redirect } drop{c}
                        """));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void bindsTheSourceOfEveryFrameToThePeersOwnAddressesBeforeAnythingElse(String name, HostSides.Binding binding,
            String expected) {
        PlannedRules plan = pinned(new RulePlanner().quarantine());
        assertThat(String.join("\n", new GuardRenderer().binding(binding, plan)) + "\n")
                .isEqualTo(expected.replace("{c}", C));
    }

    @ParameterizedTest(name = "outbound {0}")
    @CsvSource({"true, true", "false, false"})
    void whatOnlyARouterSendsIsDroppedWhereEgressIsOpenWithOrWithoutABinding(boolean outbound, boolean dropped) {
        PlannedRules plan = new RulePlanner().plan(new dev.netfence.policy.PolicyParser().parse(("{\"schemaVersion\":1,"
                + "\"mode\":\"bridge\",\"allowedEndpoints\":[],\"dns\":false,\"outbound\":" + outbound
                + ",\"inbound\":false}").getBytes(java.nio.charset.StandardCharsets.UTF_8)), Map.of(), List.of());
        String c = " comment \"netfence:" + plan.digest().substring(7, 19) + "\"";
        List<String> routerOnly = List.of("meta protocol ip igmp type { membership-query, 48 } drop" + c,
                "icmpv6 type { mld-listener-query, nd-router-advert, nd-redirect, router-renumbering, 151, 152, 153 } drop" + c,
                "ip6 daddr ff00::/8 meta l4proto ah drop" + c, "meta l4proto pim drop" + c);

        List<String> body = new GuardRenderer().rules(plan);

        if (dropped) {
            // before anything of either family is accepted, and in the body: also where no binding could be read
            assertThat(body.subList(7, 11)).isEqualTo(routerOnly);
        } else {
            assertThat(body).doesNotContainAnyElementsOf(routerOnly); // the catch-all drops them
        }
        assertThat(new GuardRenderer().binding(new HostSides.Binding("02:00:00:00:00:01", List.of("10.88.0.5"), List.of()),
                plan)).hasSize(14).noneMatch(l -> l.contains("mld-listener-query"));
    }

    @Test
    void noBindingIsRenderedWhereThePeersAddressesAreNotKnownAndABadMacIsRefused() {
        assertThat(new GuardRenderer().binding(null, pinned(new RulePlanner().quarantine()))).isEmpty();
        assertThatThrownBy(() -> new HostSides.Binding("0A:58:0a:58:00:05", List.of(), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mac must be six lower-case hex bytes separated by colons, was: 0A:58:0a:58:00:05");
        assertThatThrownBy(() -> new HostSides.Binding("0a:58:0a:58:00:05\"; drop", List.of(), List.of()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HostSides.Binding("0a:58:0a:58:00:05", List.of("10.0.0.1 } accept"), List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("ipv4 must hold IPv4 addresses, was: 10.0.0.1 } accept");
        assertThatThrownBy(() -> new HostSides.Binding("0a:58:0a:58:00:05", List.of(), List.of("10.0.0.1")))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("ipv6 must hold IPv6 addresses, was: 10.0.0.1");
    }

    @Test
    void replaceIsOneTransactionThatRecreatesOnlyTheNamedChainsAndRefillsEveryChain() {
        PlannedRules plan = new RulePlanner().quarantine();
        String c = " comment \"netfence:" + plan.digest().substring(7, 19) + "\"";
        String text = new GuardRenderer().replace(
                List.of(new GuardChain("veth3", 41, "abc123"), new GuardChain("veth4", 42, "abc123")), List.of("veth3"), plan);
        String body = """
                add chain netdev netfence %1$s {
                \tether type { 8021q, 8021ad } drop{c}
                \tmeta protocol arp accept{c}
                \tmeta protocol != { ip, ip6 } drop{c}
                \tip daddr 127.0.0.0/8 drop{c}
                \tip hdrlength != { 5, 6 } drop{c}
                \tip hdrlength 6 @nh,160,32 != 0x94040000 drop{c}
                \texthdr rt exists drop{c}
                \tmeta protocol ip drop{c}
                \tmeta protocol ip6 drop{c}
                }
                """;
        assertThat(text).isEqualTo(("""
                add table netdev netfence
                flush chain netdev netfence veth3
                delete chain netdev netfence veth3
                add chain netdev netfence veth3 { type filter hook ingress device "veth3" priority -500; policy drop; \
                comment "netfence container=abc123 ifindex=41"; }
                flush chain netdev netfence veth3
                """ + body.formatted("veth3") + """
                add chain netdev netfence veth4 { type filter hook ingress device "veth4" priority -500; policy drop; \
                comment "netfence container=abc123 ifindex=42"; }
                flush chain netdev netfence veth4
                """ + body.formatted("veth4")).replace("{c}", c));
    }

    @Test
    void theCanonicalFormSortsTheElementsOfEverySetSoAListingInNftsOwnOrderCompares() {
        String written = "\t\tip daddr . tcp dport { 198.51.100.9 . 443, 198.51.100.7 . 8443 } accept comment \"netfence:x\"\n"
                + "\t\tmeta protocol != { ip, ip6 } drop\n";
        String listed = "\t\tip daddr . tcp dport { 198.51.100.7 . 8443, 198.51.100.9 . 443 } accept comment \"netfence:x\"\n"
                + "\t\tmeta protocol != { ip, ip6 } drop\n";
        assertThat(GuardRenderer.canonical(listed)).isEqualTo(GuardRenderer.canonical(written));
        assertThat(GuardRenderer.canonical(listed.replace("8443", "8444"))).isNotEqualTo(GuardRenderer.canonical(written));
        assertThat(GuardRenderer.canonical("table netdev netfence {\n\tchain v {\n\t}\n}\n"))
                .isEqualTo("table netdev netfence {\n\tchain v {\n\t}\n}\n");
    }

    @Test
    void deleteFlushesThenDeletesTheChainAndRefusesANameThatIsNotAnInterface() {
        GuardRenderer renderer = new GuardRenderer();
        assertThat(renderer.delete("veth7")).isEqualTo("flush chain netdev netfence veth7\ndelete chain netdev netfence veth7\n");
        assertThatThrownBy(() -> renderer.delete("x\"; flush ruleset"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a guard chain name");
    }

    @Test
    void showPrintsTheTableAsNftListsIt() {
        String shown = new GuardRenderer().show(new GuardChain("veth9", 7, "c1"), new RulePlanner().quarantine());
        assertThat(shown).startsWith("table netdev netfence {\n\tchain veth9 {\n\t\tcomment \"netfence container=c1 ifindex=7\"\n"
                + "\t\ttype filter hook ingress device \"veth9\" priority -500; policy drop;\n\t\tether type { 8021q, 8021ad } drop")
                .endsWith("meta protocol ip6 drop comment \"netfence:" + new RulePlanner().quarantine().digest().substring(7, 19)
                        + "\"\n\t}\n}\n");
    }

    private static Arguments row(String name, PlannedRules plan, String expected) {
        return Arguments.of(name, plan, expected);
    }

    private static PlannedRules plan(List<Rule> out4, List<Rule> out6, boolean inbound) {
        List<Rule> in4 = new ArrayList<>(List.of(Rule.loopback(Direction.IN), Rule.established(Direction.IN)));
        List<Rule> in6 = new ArrayList<>(in4);
        if (!inbound) {
            in4.add(Rule.catchAll(Direction.IN, Verdict.DROP));
            in6.add(Rule.catchAll(Direction.IN, Verdict.DROP));
        }
        return new PlannedRules(Map.of(Family.IPV4, new RuleSet(Family.IPV4, out4, in4, RulePlanner.FORWARD, DIGEST),
                Family.IPV6, new RuleSet(Family.IPV6, out6, in6, RulePlanner.FORWARD, DIGEST)), DIGEST);
    }

    private static PlannedRules pinned(PlannedRules plan) {
        RuleSet v4 = plan.forFamily(Family.IPV4);
        RuleSet v6 = plan.forFamily(Family.IPV6);
        return new PlannedRules(Map.of(Family.IPV4, new RuleSet(Family.IPV4, v4.output(), v4.input(), v4.forward(), DIGEST),
                Family.IPV6, new RuleSet(Family.IPV6, v6.output(), v6.input(), v6.forward(), DIGEST)), DIGEST);
    }

    private static List<Rule> out(Family family, Rule... rules) {
        List<Rule> out = new ArrayList<>(List.of(Rule.loopback(Direction.OUT)));
        out.addAll(List.of(rules));
        return out;
    }

    private static Rule established() {
        return Rule.established(Direction.OUT);
    }

    static final Cidr LL = new Cidr("fe80::", 10, Family.IPV6);
    static final Cidr MC = new Cidr("ff02::", 16, Family.IPV6);

    private static Rule nd(int type, Cidr destination) {
        return Rule.neighbourDiscovery(Direction.OUT, type, destination);
    }

    private static Rule allow(String address, int port, Transport transport) {
        Family family = address.contains(":") ? Family.IPV6 : Family.IPV4;
        return Rule.allowOut(new Cidr(address, family == Family.IPV4 ? 32 : 128, family), transport, port);
    }

    private static Rule block(String address, int prefix, Family family) {
        return Rule.rejectOut(new Cidr(address, prefix, family));
    }

    private static Rule reject() {
        return Rule.catchAll(Direction.OUT, Verdict.REJECT);
    }
}
