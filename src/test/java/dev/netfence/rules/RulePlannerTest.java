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

class RulePlannerTest {
    private final RulePlanner planner = new RulePlanner();
    private static final Endpoint V4 = new Endpoint("198.51.100.7", Family.IPV4, 443, Protocol.TCP);
    private static final Endpoint NAME = new Endpoint("pypi.internal", null, 443, Protocol.TCP);

    private static NetworkPolicy bridge(List<Endpoint> endpoints, boolean dns, boolean outbound, boolean inbound) {
        return new NetworkPolicy(NetworkMode.BRIDGE, endpoints, Presets.defaultBlockedSubnets(), dns, outbound, inbound);
    }

    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

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
                Rule.loopback(Direction.OUT),
                Rule.established(Direction.OUT),
                Rule.allowOut(new Cidr("10.1.2.3", 32, Family.IPV4), Transport.TCP, 443),
                Rule.allowOut(new Cidr("10.0.0.2", 32, Family.IPV4), Transport.UDP, 53),
                Rule.allowOut(new Cidr("10.0.0.2", 32, Family.IPV4), Transport.TCP, 53),
                Rule.rejectOut(new Cidr("10.0.0.0", 8, Family.IPV4)),
                Rule.catchAll(Direction.OUT, Verdict.REJECT));
    }

    @Test
    void hostnamesUseTheirResolvedAddressesInEachFamily() throws Exception {
        PlannedRules plan = planner.plan(bridge(List.of(NAME), false, false, false),
                Map.of("pypi.internal", List.of(ip("198.51.100.12"), ip("2001:db8:0::12"))), List.of());
        assertThat(plan.forFamily(Family.IPV4).output()).contains(Rule.allowOut(new Cidr("198.51.100.12", 32, Family.IPV4), Transport.TCP, 443));
        assertThat(plan.forFamily(Family.IPV6).output()).contains(Rule.allowOut(new Cidr("2001:db8::12", 128, Family.IPV6), Transport.TCP, 443));
    }

    @Test
    void aHostnameWithoutResolvedAddressesIsRefused() {
        assertThatThrownBy(() -> planner.plan(bridge(List.of(NAME), false, false, false), Map.of(), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hostname pypi.internal has no resolved addresses");
        assertThatThrownBy(() -> planner.plan(bridge(List.of(NAME), false, false, false), Map.of("pypi.internal", List.of()), List.of()))
                .hasMessage("hostname pypi.internal has no resolved addresses");
    }

    @Test
    void modeNoneIsNothingButLoopbackWhateverTheFlagsSay() {
        NetworkPolicy none = new NetworkPolicy(NetworkMode.NONE, List.of(V4), List.of(), true, true, true);
        PlannedRules plan = planner.plan(none, Map.of(), List.of());
        assertThat(plan).isEqualTo(planner.quarantine());
        assertThat(plan.forFamily(Family.IPV4).output())
                .containsExactly(Rule.loopback(Direction.OUT), Rule.catchAll(Direction.OUT, Verdict.REJECT));
        assertThat(plan.forFamily(Family.IPV6).input())
                .containsExactly(Rule.loopback(Direction.IN), Rule.catchAll(Direction.IN, Verdict.DROP));
    }

    @Test
    void theQuarantineKeepsNoEstablishedConnections() {
        assertThat(planner.quarantine().byFamily().values())
                .allSatisfy(set -> assertThat(set.output()).noneMatch(Rule::established))
                .allSatisfy(set -> assertThat(set.input()).noneMatch(Rule::established));
    }

    @Test
    void neighbourDiscoveryIsAllowedBothWaysForIpv6Only() {
        PlannedRules plan = planner.plan(bridge(List.of(V4), false, true, false), Map.of(), List.of());
        for (int type : List.of(133, 134, 135, 136)) {
            assertThat(plan.forFamily(Family.IPV6).output()).contains(Rule.neighbourDiscovery(Direction.OUT, type));
            assertThat(plan.forFamily(Family.IPV6).input()).contains(Rule.neighbourDiscovery(Direction.IN, type));
        }
        assertThat(plan.forFamily(Family.IPV4).output()).noneMatch(r -> r.transport() == Transport.ICMPV6);
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
