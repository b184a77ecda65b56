package dev.netfence.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.policy.Cidr;
import dev.netfence.policy.Endpoint;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkMode;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.Presets;
import dev.netfence.policy.Protocol;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The rules {@link RulePlanner} plans for a policy: both families always, in the order of
 * docs/contracts.md (own-source drops, Docker's loopback resolver, loopback, established, ICMPv6,
 * endpoints, DNS to the trusted resolvers, blocked subnets with the metadata ranges and their
 * NAT64 forms, the catch-alls), mode none and the quarantine, and a digest that follows the rules.
 * The hosts a hostname endpoint is allowed at are {@link RulePlannerHostnamesTest}'s.
 */
class RulePlannerTest extends RulePlannerFixture {
    @Test
    void everyPlanCoversBothFamiliesSoIpv6IsNeverLeftOpen() {
        PlannedRules plan = planner.plan(bridge(List.of(V4), false, false, false), Map.of(), List.of());
        assertThat(plan.families()).containsExactly(Family.IPV4, Family.IPV6);
        RuleSet v6 = plan.forFamily(Family.IPV6);
        assertThat(v6.output()).last().isEqualTo(Rule.catchAll(Direction.OUT, Verdict.REJECT));
        assertThat(v6.input()).last().isEqualTo(Rule.catchAll(Direction.IN, Verdict.DROP));
        assertThat(plan.ruleCount()).isEqualTo(plan.forFamily(Family.IPV4).size() + v6.size());
    }

    @Test
    void dnsIsOpenedOnlyToTheGivenNameserversAndOnlyWhenThePolicyAllowsIt() throws Exception {
        List<InetAddress> ns = List.of(ip("198.51.100.53"));
        Rule udp = Rule.allowOut(new Cidr("198.51.100.53", 32, Family.IPV4), Transport.UDP, 53);
        Rule tcp = Rule.allowOut(new Cidr("198.51.100.53", 32, Family.IPV4), Transport.TCP, 53);
        assertThat(planner.plan(bridge(List.of(V4), true, false, false), Map.of(), ns).forFamily(Family.IPV4).output())
                .contains(udp, tcp);
        assertThat(planner.plan(bridge(List.of(V4), false, false, false), Map.of(), ns).forFamily(Family.IPV4).output())
                .doesNotContain(udp, tcp);
        assertThat(planner.plan(bridge(List.of(V4), true, false, false), Map.of(), List.of()).forFamily(Family.IPV4).output())
                .noneMatch(r -> r.port() != null && r.port() == 53);
    }

    @Test
    void allowedEndpointsComeBeforeBlockedSubnetsWhichComeBeforeTheDefault() throws Exception {
        NetworkPolicy p = new NetworkPolicy(NetworkMode.BRIDGE,
                List.of(new Endpoint("10.1.2.3", Family.IPV4, 443, Protocol.TCP)),
                List.of(new Cidr("10.0.0.0", 8, Family.IPV4)), true, false, false);
        List<Rule> out = planner.plan(p, Map.of(), List.of(ip("10.0.0.2"))).forFamily(Family.IPV4).output();
        assertThat(out).containsExactly(
                Rule.foreignSource(),
                Rule.rejectOut(new Cidr("127.0.0.11", 32, Family.IPV4)),
                Rule.loopback(Direction.OUT),
                Rule.established(Direction.OUT),
                Rule.allowOut(new Cidr("10.1.2.3", 32, Family.IPV4), Transport.TCP, 443),
                Rule.allowOut(new Cidr("10.0.0.2", 32, Family.IPV4), Transport.UDP, 53),
                Rule.allowOut(new Cidr("10.0.0.2", 32, Family.IPV4), Transport.TCP, 53),
                Rule.rejectOut(new Cidr("10.0.0.0", 8, Family.IPV4)),
                Rule.rejectOut(new Cidr("169.254.0.0", 16, Family.IPV4)),
                Rule.rejectOut(new Cidr("168.63.129.16", 32, Family.IPV4)),
                Rule.rejectOut(new Cidr("100.100.100.200", 32, Family.IPV4)),
                Rule.rejectOut(new Cidr("127.0.0.0", 8, Family.IPV4)),
                Rule.rejectOut(new Cidr("224.0.0.0", 4, Family.IPV4)),
                Rule.rejectOut(new Cidr("255.255.255.255", 32, Family.IPV4)),
                Rule.catchAll(Direction.OUT, Verdict.REJECT));
    }

    @Test
    void everyPlanButTheQuarantineFirstDropsWhatIsSentFromASourceThatIsNotTheNamespacesOwn() throws Exception {
        for (NetworkPolicy p : List.of(bridge(List.of(), false, false, false), bridge(List.of(NAME), true, true, true))) {
            PlannedRules plan = planner.plan(p, Map.of("pypi.internal", List.of(ip("198.51.100.12"))), List.of());
            for (Family family : Family.values()) {
                assertThat(plan.forFamily(family).output().indexOf(Rule.foreignSource())).as("%s", family).isZero();
                assertThat(plan.forFamily(family).input()).doesNotContain(Rule.foreignSource());
                // the quarantine keeps no established accept, so a forged entry opens nothing there
                assertThat(planner.quarantine().forFamily(family).output()).doesNotContain(Rule.foreignSource(),
                        Rule.established(Direction.OUT));
            }
        }
    }

    @Test
    void everyPlanButTheQuarantineFirstDropsWhatArrivesFromItsOwnAddressesNotOnLoopbackAndNothingIsForwarded()
            throws Exception {
        for (NetworkPolicy p : List.of(bridge(List.of(), false, false, false), bridge(List.of(NAME), true, true, true))) {
            PlannedRules plan = planner.plan(p, Map.of("pypi.internal", List.of(ip("198.51.100.12"))), List.of());
            for (Family family : Family.values()) {
                assertThat(plan.forFamily(family).input().indexOf(Rule.ownSourceFromOutside())).as("%s", family).isZero();
                assertThat(plan.forFamily(family).forward()).containsExactly(Rule.catchAll(Direction.FORWARD, Verdict.DROP));
                // the quarantine keeps no established accept on input: a forged reply opens nothing there
                assertThat(planner.quarantine().forFamily(family).input()).doesNotContain(Rule.ownSourceFromOutside(),
                        Rule.established(Direction.IN));
                assertThat(planner.quarantine().forFamily(family).forward())
                        .containsExactly(Rule.catchAll(Direction.FORWARD, Verdict.DROP));
            }
        }
    }

    @Test
    void aSubnetsBroadcastIsRejectedAfterTheBlockedSubnetsOfAnIpv4EgressLeftOpenOnly() {
        List<Cidr> list = List.of(new Cidr("10.88.0.1", 32, Family.IPV4), new Cidr("2001:db8::", 32, Family.IPV6));
        List<Rule> open = planner.plan(new NetworkPolicy(NetworkMode.BRIDGE, List.of(), list, false, true, false), Map.of(),
                List.of()).forFamily(Family.IPV4).output();
        assertThat(open).endsWith(Rule.rejectOut(new Cidr("255.255.255.255", 32, Family.IPV4)), Rule.broadcastToOutside());
        assertThat(planner.plan(new NetworkPolicy(NetworkMode.BRIDGE, List.of(), list, false, false, false), Map.of(),
                List.of()).forFamily(Family.IPV4).output()).as("outbound off: the catch-all rejects it")
                .doesNotContain(Rule.broadcastToOutside());
        List<Cidr> whole = List.of(new Cidr("0.0.0.0", 0, Family.IPV4), new Cidr("::", 0, Family.IPV6));
        assertThat(planner.plan(new NetworkPolicy(NetworkMode.BRIDGE, List.of(), whole, false, true, false), Map.of(),
                List.of()).forFamily(Family.IPV4).output()).as("IPv4 blocked whole").doesNotContain(Rule.broadcastToOutside());
        assertThat(planner.plan(new NetworkPolicy(NetworkMode.BRIDGE, List.of(), list, false, true, false), Map.of(),
                List.of()).forFamily(Family.IPV6).output()).doesNotContain(Rule.broadcastToOutside());
        assertThatThrownBy(() -> new Rule(Direction.IN, Transport.ANY, null, null, false, false, false, null, null,
                Verdict.DROP, null, null, false, false, false, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("broadcastDestinationOffLoopback needs direction OUT, was: IN");
    }

    @Test
    void theCloudMetadataLoopbackAndLinkWideRangesAreRejectedAfterAnyListThatDoesNotHoldThem() {
        List<Cidr> seeds = List.of(new Cidr("10.0.0.0", 8, Family.IPV4), new Cidr("172.16.0.0", 12, Family.IPV4),
                new Cidr("192.168.0.0", 16, Family.IPV4), new Cidr("2001:db8::", 32, Family.IPV6),
                new Cidr("fd00:ec2::254", 128, Family.IPV6));
        assertThat(RulePlanner.withAlwaysBlocked(seeds)).containsExactly(seeds.get(0), seeds.get(1), seeds.get(2),
                seeds.get(3), seeds.get(4), new Cidr("169.254.0.0", 16, Family.IPV4),
                new Cidr("168.63.129.16", 32, Family.IPV4), new Cidr("100.100.100.200", 32, Family.IPV4),
                new Cidr("fd00:ec2::23", 128, Family.IPV6),
                new Cidr("fd20:ce::254", 128, Family.IPV6), new Cidr("fe80::a9fe:a9fe", 128, Family.IPV6),
                new Cidr("127.0.0.0", 8, Family.IPV4), new Cidr("224.0.0.0", 4, Family.IPV4),
                new Cidr("255.255.255.255", 32, Family.IPV4), new Cidr("fe80::", 10, Family.IPV6),
                new Cidr("ff00::", 8, Family.IPV6));
        // the default list holds them all but Azure's WireServer (a public address) and IPv4 loopback (multicast
        // in 224.0.0.0/4 and ff00::/8, the limited broadcast in 240.0.0.0/4); a whole family holds them all
        assertThat(RulePlanner.withAlwaysBlocked(Presets.defaultBlockedSubnets())).containsExactlyElementsOf(
                java.util.stream.Stream.concat(Presets.defaultBlockedSubnets().stream(),
                        java.util.stream.Stream.of(new Cidr("168.63.129.16", 32, Family.IPV4),
                                new Cidr("127.0.0.0", 8, Family.IPV4))).toList());
        List<Cidr> whole = List.of(new Cidr("0.0.0.0", 0, Family.IPV4), new Cidr("::", 0, Family.IPV6));
        assertThat(RulePlanner.withAlwaysBlocked(whole)).isEqualTo(whole);
        // a literal endpoint there stays the author's exception: its accept comes first
        NetworkPolicy p = new NetworkPolicy(NetworkMode.BRIDGE,
                List.of(new Endpoint("169.254.169.254", Family.IPV4, 80, Protocol.TCP)), seeds, false, true, false);
        List<Rule> out = planner.plan(p, Map.of(), List.of()).forFamily(Family.IPV4).output();
        assertThat(out.indexOf(Rule.allowOut(new Cidr("169.254.169.254", 32, Family.IPV4), Transport.TCP, 80)))
                .isNotNegative().isLessThan(out.indexOf(Rule.rejectOut(new Cidr("169.254.0.0", 16, Family.IPV4))));
    }

    @Test
    void dockersLoopbackResolverIsRejectedOutAndDroppedInAheadOfLoopbackUnlessTrustedForDns() throws Exception {
        Rule reject = Rule.rejectOut(new Cidr("127.0.0.11", 32, Family.IPV4));
        NetworkPolicy dnsOn = bridge(List.of(V4), true, true, false);
        NetworkPolicy dnsOff = bridge(List.of(V4), false, true, false);
        // not trusted: first rule of IPv4 egress after the foreign-source drop, none in IPv6 or ingress
        PlannedRules untrusted = planner.plan(dnsOn, Map.of(), List.of(ip("198.51.100.53")));
        assertThat(untrusted.forFamily(Family.IPV4).output()).startsWith(Rule.foreignSource(), reject);
        assertThat(untrusted.forFamily(Family.IPV6).output()).noneMatch(r -> r.destination() != null
                && r.destination().family() == Family.IPV4);
        Rule drop = Rule.dropIn(new Cidr("127.0.0.11", 32, Family.IPV4));
        assertThat(untrusted.forFamily(Family.IPV4).input()).as("dropped on input too, first after own and broadcast sources from outside")
                .startsWith(Rule.ownSourceFromOutside(), Rule.broadcastSourceFromOutside(), drop);
        assertThat(untrusted.forFamily(Family.IPV6).input()).doesNotContain(drop);
        // trusted by the node (or the policy) with dns on: reached through the loopback accept
        assertThat(planner.plan(dnsOn, Map.of(), List.of(ip("127.0.0.11"))).forFamily(Family.IPV4).output())
                .doesNotContain(reject).startsWith(Rule.foreignSource(), Rule.loopback(Direction.OUT));
        assertThat(planner.plan(dnsOn, Map.of(), List.of(ip("127.0.0.11"))).forFamily(Family.IPV4).input())
                .doesNotContain(drop).startsWith(Rule.ownSourceFromOutside(), Rule.broadcastSourceFromOutside(),
                        Rule.loopback(Direction.IN));
        // trusted, but the policy turns DNS off: rejected again
        assertThat(planner.plan(dnsOff, Map.of(), List.of(ip("127.0.0.11"))).forFamily(Family.IPV4).output())
                .startsWith(Rule.foreignSource(), reject, Rule.loopback(Direction.OUT));
        // the quarantine and mode none: always
        assertThat(planner.quarantine().forFamily(Family.IPV4).output()).startsWith(reject);
        assertThat(planner.quarantine().forFamily(Family.IPV4).input()).startsWith(drop);
    }

    @Test
    void theDefaultBlockedListWidensTheSeedsOnPurpose() {
        assertThat(Presets.defaultBlockedSubnets()).extracting(Cidr::toString).containsExactly(
                "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "0.0.0.0/8",
                "224.0.0.0/4", "240.0.0.0/4", "fc00::/7", "fe80::/10", "64:ff9b::/96", "::ffff:0.0.0.0/96", "ff00::/8");
    }

    @Test
    void modeNoneIsNothingButLoopbackWhateverTheFlagsSay() {
        NetworkPolicy none = new NetworkPolicy(NetworkMode.NONE, List.of(V4), List.of(), true, true, true);
        PlannedRules plan = planner.plan(none, Map.of(), List.of());
        assertThat(plan).isEqualTo(planner.quarantine());
        assertThat(plan.forFamily(Family.IPV4).output()).containsExactly(Rule.rejectOut(RulePlanner.RUNTIME_LOOPBACK_RESOLVER),
                Rule.loopback(Direction.OUT), Rule.catchAll(Direction.OUT, Verdict.REJECT));
        assertThat(plan.forFamily(Family.IPV6).output())
                .containsExactly(Rule.loopback(Direction.OUT), Rule.catchAll(Direction.OUT, Verdict.REJECT));
        assertThat(plan.forFamily(Family.IPV4).input()).containsExactly(Rule.dropIn(RulePlanner.RUNTIME_LOOPBACK_RESOLVER),
                Rule.loopback(Direction.IN), Rule.catchAll(Direction.IN, Verdict.DROP));
        assertThat(plan.forFamily(Family.IPV6).input())
                .containsExactly(Rule.loopback(Direction.IN), Rule.catchAll(Direction.IN, Verdict.DROP));
    }

    @Test
    void theQuarantineKeepsNoEstablishedConnections() {
        assertThat(planner.quarantine().byFamily().values())
                .allSatisfy(set -> assertThat(set.output()).noneMatch(Rule::establishedReply))
                .allSatisfy(set -> assertThat(set.input()).noneMatch(Rule::establishedReply));
    }

    @Test
    void neighbourDiscoveryNeedsHopLimit255AndGoesOutOnlyToLinkLocalOrLinkMulticast() {
        PlannedRules plan = planner.plan(bridge(List.of(V4), false, true, false), Map.of(), List.of());
        List<Rule> out = plan.forFamily(Family.IPV6).output();
        List<Rule> in = plan.forFamily(Family.IPV6).input();
        for (int type : List.of(135, 136)) {
            assertThat(out).contains(Rule.neighbourDiscovery(Direction.OUT, type, RulePlanner.LINK_LOCAL),
                    Rule.neighbourDiscovery(Direction.OUT, type, RulePlanner.LINK_MULTICAST));
            assertThat(in).contains(Rule.neighbourDiscovery(Direction.IN, type, null));
        }
        assertThat(out).filteredOn(r -> r.transport() == Transport.ICMPV6 && r.icmpType() >= 133 && r.icmpType() <= 136)
                .hasSize(4)
                .allSatisfy(r -> {
                    assertThat(r.hopLimit()).isEqualTo(255);
                    assertThat(r.destination()).isIn(RulePlanner.LINK_LOCAL, RulePlanner.LINK_MULTICAST);
                });
        assertThat(in).filteredOn(r -> r.transport() == Transport.ICMPV6 && r.icmpType() >= 133 && r.icmpType() <= 136
                && r.verdict() == Verdict.ACCEPT).hasSize(2).allSatisfy(r -> assertThat(r.hopLimit()).isEqualTo(255));
        // a sandbox is not a router: it sends no router advertisement and takes no solicitation; and its IPv6
        // configuration is its runtime's: it takes no router advertisement either (nor asks for one)
        assertThat(out).noneMatch(r -> r.icmpType() != null && (r.icmpType() == 133 || r.icmpType() == 134));
        assertThat(in).noneMatch(r -> Integer.valueOf(133).equals(r.icmpType()));
        assertThat(in).filteredOn(r -> Integer.valueOf(134).equals(r.icmpType())).containsExactly(
                Rule.routingMessageDropped(134));
        assertThat(in).filteredOn(r -> Integer.valueOf(137).equals(r.icmpType())).containsExactly(
                Rule.routingMessageDropped(137));
        assertThat(plan.forFamily(Family.IPV4).output()).noneMatch(r -> r.transport() == Transport.ICMPV6);
    }

    @Test
    void aRouterAdvertisementIsDroppedAheadOfEveryAcceptWithInboundOpenToo() {
        PlannedRules plan = planner.plan(bridge(List.of(V4), false, false, true), Map.of(), List.of());
        List<Rule> in = plan.forFamily(Family.IPV6).input();

        assertThat(in).as("inbound open: nothing drops at the end").noneMatch(r -> r.equals(
                Rule.catchAll(Direction.IN, Verdict.DROP)));
        assertThat(in).contains(Rule.routingMessageDropped(134), Rule.routingMessageDropped(137));
        assertThat(in.indexOf(Rule.routingMessageDropped(134))).as("before any ICMPv6 accept").isLessThan(
                in.indexOf(Rule.neighbourDiscovery(Direction.IN, 135, null)));
        assertThat(plan.forFamily(Family.IPV4).input()).noneMatch(r -> r.transport() == Transport.ICMPV6);
    }

    @Test
    void anIpv4RedirectIsDroppedAheadOfTheEstablishedAcceptInboundOffOrOnAndNowhereElse() {
        for (boolean inbound : List.of(false, true)) {
            PlannedRules plan = planner.plan(bridge(List.of(V4), false, false, inbound), Map.of(), List.of());
            List<Rule> in = plan.forFamily(Family.IPV4).input();
            assertThat(in).filteredOn(r -> r.transport() == Transport.ICMP).containsExactly(Rule.redirectDropped());
            assertThat(in.indexOf(Rule.redirectDropped())).as("inbound %s: before the established accept", inbound)
                    .isLessThan(in.indexOf(Rule.established(Direction.IN)));
            assertThat(plan.forFamily(Family.IPV4).output()).noneMatch(r -> r.transport() == Transport.ICMP);
            assertThat(plan.forFamily(Family.IPV6).input()).noneMatch(r -> r.transport() == Transport.ICMP);
        }
        assertThat(planner.quarantine().forFamily(Family.IPV4).input()).as("no established accept to get ahead of")
                .noneMatch(r -> r.transport() == Transport.ICMP);
    }

    @Test
    void multicastListenerReportsGoOnlyToLinkMulticastBothWaysAndQueriesOnlyComeIn() {
        PlannedRules plan = planner.plan(bridge(List.of(V4), false, false, true), Map.of(), List.of());
        for (int type : List.of(130, 131, 132, 143)) {
            assertThat(plan.forFamily(Family.IPV6).input())
                    .contains(Rule.multicastListener(Direction.IN, type, RulePlanner.LINK_MULTICAST));
        }
        for (int type : List.of(131, 132, 143)) {
            assertThat(plan.forFamily(Family.IPV6).output())
                    .contains(Rule.multicastListener(Direction.OUT, type, RulePlanner.LINK_MULTICAST));
        }
        // a sandbox is no multicast router: a query from it would make a snooping bridge send it every group
        assertThat(plan.forFamily(Family.IPV6).output()).noneMatch(r -> r.icmpType() != null && r.icmpType() == 130);
    }

    @Test
    void linkLocalIcmpv6AcceptsComeBeforeTheBlockedMulticastRange() {
        List<Rule> out = planner.plan(bridge(List.of(V4), false, false, false), Map.of(), List.of())
                .forFamily(Family.IPV6).output();
        int blockedMulticast = out.indexOf(Rule.rejectOut(new Cidr("ff00::", 8, Family.IPV6)));
        assertThat(blockedMulticast).isPositive();
        assertThat(out.subList(0, blockedMulticast)).filteredOn(r -> r.transport() == Transport.ICMPV6).hasSize(7);
    }

    @Test
    void dnsGoesToThePolicysResolversThenTheNodesEachOnceEvenInsideABlockedSubnet() throws Exception {
        NetworkPolicy p = new NetworkPolicy(NetworkMode.BRIDGE, List.of(V4), List.of(new Cidr("10.0.0.0", 8, Family.IPV4)),
                true, false, false, List.of(ip("10.0.0.53"), ip("2001:db8::53")));
        PlannedRules plan = planner.plan(p, Map.of(), List.of(ip("198.51.100.53"), ip("10.0.0.53")));
        List<Rule> out = plan.forFamily(Family.IPV4).output();
        Rule reject = Rule.rejectOut(new Cidr("10.0.0.0", 8, Family.IPV4));
        assertThat(out).containsSubsequence(
                Rule.allowOut(new Cidr("10.0.0.53", 32, Family.IPV4), Transport.UDP, 53),
                Rule.allowOut(new Cidr("10.0.0.53", 32, Family.IPV4), Transport.TCP, 53),
                Rule.allowOut(new Cidr("198.51.100.53", 32, Family.IPV4), Transport.UDP, 53),
                Rule.allowOut(new Cidr("198.51.100.53", 32, Family.IPV4), Transport.TCP, 53),
                reject);
        assertThat(out).filteredOn(r -> r.port() != null && r.port() == 53).hasSize(4);
        assertThat(plan.forFamily(Family.IPV6).output())
                .contains(Rule.allowOut(new Cidr("2001:db8::53", 128, Family.IPV6), Transport.TCP, 53));
        assertThat(plan.warnings()).isEmpty();
        assertThat(RulePlanner.trustedResolvers(p, List.of(ip("198.51.100.53"), ip("10.0.0.53"))))
                .containsExactly(ip("10.0.0.53"), ip("2001:db8::53"), ip("198.51.100.53"));
    }

    @Test
    void dnsWithoutAnyTrustedResolverPlansNoDnsRuleAndSaysSo() {
        PlannedRules plan = planner.plan(bridge(List.of(V4), true, false, false), Map.of(), List.of());
        assertThat(plan.byFamily().values()).allSatisfy(set -> assertThat(set.output())
                .noneMatch(r -> r.port() != null && r.port() == 53));
        assertThat(plan.warnings()).containsExactly(RulePlanner.NO_RESOLVER_WARNING);
        assertThat(planner.plan(bridge(List.of(V4), false, false, false), Map.of(), List.of()).warnings()).isEmpty();
    }

    @Test
    void theIpv4BlockedSubnetsAreRejectedInTheirNat64FormToWhereTheIpv6PartLeavesTheWellKnownPrefixOpen() {
        NetworkPolicy p = new NetworkPolicy(NetworkMode.BRIDGE, List.of(), List.of(new Cidr("10.0.0.0", 8, Family.IPV4),
                new Cidr("192.168.1.0", 24, Family.IPV4), new Cidr("fd00::", 8, Family.IPV6)), false, true, false);
        // fd00::/8 holds the IPv6 metadata addresses but OpenStack's; the IPv4 metadata ranges get NAT64 forms too
        assertThat(planner.plan(p, Map.of(), List.of()).forFamily(Family.IPV6).output()).endsWith(
                Rule.rejectOut(new Cidr("fd00::", 8, Family.IPV6)),
                Rule.rejectOut(new Cidr("fe80::a9fe:a9fe", 128, Family.IPV6)),
                Rule.rejectOut(new Cidr("fe80::", 10, Family.IPV6)),
                Rule.rejectOut(new Cidr("ff00::", 8, Family.IPV6)),
                Rule.rejectOut(new Cidr("64:ff9b::a00:0", 104, Family.IPV6)),
                Rule.rejectOut(new Cidr("64:ff9b::c0a8:100", 120, Family.IPV6)),
                Rule.rejectOut(new Cidr("64:ff9b::a9fe:0", 112, Family.IPV6)),
                Rule.rejectOut(new Cidr("64:ff9b::a83f:8110", 128, Family.IPV6)),
                Rule.rejectOut(new Cidr("64:ff9b::6464:64c8", 128, Family.IPV6)),
                Rule.rejectOut(new Cidr("64:ff9b::7f00:0", 104, Family.IPV6)),
                Rule.rejectOut(new Cidr("64:ff9b::e000:0", 100, Family.IPV6)),
                Rule.rejectOut(new Cidr("64:ff9b::ffff:ffff", 128, Family.IPV6)));

        // a whole IPv4 blocked: the whole prefix; an IPv6 part that holds the prefix already: nothing more
        assertThat(RulePlanner.nat64Forms(List.of(new Cidr("0.0.0.0", 0, Family.IPV4),
                new Cidr("2001:db8::", 32, Family.IPV6)))).containsExactly(new Cidr("64:ff9b::", 96, Family.IPV6));
        assertThat(RulePlanner.nat64Forms(List.of(new Cidr("10.0.0.0", 8, Family.IPV4), new Cidr("64:ff9b::", 97,
                Family.IPV6)))).isEmpty();
        assertThat(RulePlanner.nat64Forms(List.of(new Cidr("10.0.0.0", 8, Family.IPV4), new Cidr("::", 0, Family.IPV6))))
                .isEmpty();
        assertThat(RulePlanner.nat64Forms(Presets.defaultBlockedSubnets())).isEmpty();
        assertThat(planner.plan(bridge(List.of(V4), false, true, false), Map.of(), List.of()).forFamily(Family.IPV6)
                .output()).noneMatch(r -> r.destination() != null && r.destination().prefix() > 96
                        && r.destination().address().startsWith("64:ff9b:"));
    }

    @Test
    void theDigestFollowsTheRulesNotTheInputs() throws Exception {
        NetworkPolicy p = bridge(List.of(V4), true, false, false);
        String a = planner.plan(p, Map.of(), List.of(ip("198.51.100.53"))).digest();
        assertThat(planner.plan(p, Map.of(), List.of(ip("198.51.100.53"))).digest()).isEqualTo(a);
        assertThat(planner.plan(p, Map.of(), List.of(ip("198.51.100.54"))).digest()).isNotEqualTo(a);
        assertThat(planner.plan(p, Map.of(), List.of(ip("198.51.100.53"))).forFamily(Family.IPV6).digest()).isEqualTo(a);
    }

    @Test
    void duplicateEndpointsYieldOneRule() {
        PlannedRules plan = planner.plan(bridge(List.of(V4, V4), false, false, false), Map.of(), List.of());
        assertThat(plan.forFamily(Family.IPV4).output())
                .filteredOn(r -> r.destination() != null && r.destination().address().equals("198.51.100.7")).hasSize(1);
    }
}
