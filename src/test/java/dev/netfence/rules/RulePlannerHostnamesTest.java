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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The hosts {@link RulePlanner} allows a hostname endpoint at ({@link EndpointAddresses}): each
 * resolved address in its own family, none inside the policy's blocked subnets (the default list's
 * where the policy blocks a whole family) or where a hostname's address is never allowed, a NAT64
 * answer judged by the IPv4 address inside it, each refusal with its warning, and a hostname
 * without resolved addresses refused; a literal endpoint there stays the author's exception.
 */
class RulePlannerHostnamesTest extends RulePlannerFixture {
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
    void aHostnameAddressInsideABlockedSubnetGetsNoRuleAndAWarningWhileALiteralOneStaysAnException() throws Exception {
        Endpoint literal = new Endpoint("10.1.2.3", Family.IPV4, 443, Protocol.TCP);
        NetworkPolicy p = new NetworkPolicy(NetworkMode.BRIDGE, List.of(NAME, literal),
                List.of(new Cidr("10.0.0.0", 8, Family.IPV4), new Cidr("fc00::", 7, Family.IPV6)), false, false, false);
        PlannedRules plan = planner.plan(p,
                Map.of("pypi.internal", List.of(ip("10.9.9.9"), ip("198.51.100.12"), ip("fd00::1"), ip("2001:db8::12"))),
                List.of());
        assertThat(plan.forFamily(Family.IPV4).output())
                .contains(Rule.allowOut(new Cidr("10.1.2.3", 32, Family.IPV4), Transport.TCP, 443),
                        Rule.allowOut(new Cidr("198.51.100.12", 32, Family.IPV4), Transport.TCP, 443))
                .doesNotContain(Rule.allowOut(new Cidr("10.9.9.9", 32, Family.IPV4), Transport.TCP, 443));
        assertThat(plan.forFamily(Family.IPV6).output())
                .contains(Rule.allowOut(new Cidr("2001:db8::12", 128, Family.IPV6), Transport.TCP, 443))
                .doesNotContain(Rule.allowOut(new Cidr("fd00::1", 128, Family.IPV6), Transport.TCP, 443));
        assertThat(plan.warnings()).containsExactly(
                "allowedEndpoints: pypi.internal resolved to 10.9.9.9, inside blocked subnet 10.0.0.0/8: not allowed",
                "allowedEndpoints: pypi.internal resolved to fd00::1, inside blocked subnet fc00::/7: not allowed");
    }

    @Test
    void whereAWholeFamilyIsBlockedHostnamesReachTheInternetButNotTheDefaultBlockedRanges() throws Exception {
        NetworkPolicy hipaa = Presets.hipaa(List.of(NAME));
        PlannedRules plan = planner.plan(hipaa,
                Map.of("pypi.internal", List.of(ip("169.254.169.254"), ip("198.51.100.12"))), List.of());
        assertThat(plan.forFamily(Family.IPV4).output())
                .contains(Rule.allowOut(new Cidr("198.51.100.12", 32, Family.IPV4), Transport.TCP, 443))
                .doesNotContain(Rule.allowOut(new Cidr("169.254.169.254", 32, Family.IPV4), Transport.TCP, 443));
        assertThat(plan.warnings()).contains("allowedEndpoints: pypi.internal resolved to 169.254.169.254,"
                + " inside blocked subnet 169.254.0.0/16: not allowed");
    }

    @Test
    void aHostnameAddressWhereNoServiceIsIsRefusedEvenWhereTheListLeavesThatRangeOut() throws Exception {
        NetworkPolicy p = new NetworkPolicy(NetworkMode.BRIDGE, List.of(NAME),
                List.of(new Cidr("10.0.0.0", 8, Family.IPV4), new Cidr("2001:db8:dead::", 48, Family.IPV6)), false, false, false);
        PlannedRules plan = planner.plan(p, Map.of("pypi.internal", List.of(ip("169.254.169.254"), ip("224.0.0.251"),
                ip("100.100.100.200"), ip("168.63.129.16"), ip("198.51.100.12"), ip("fe80::1"), ip("fd00:ec2::254"),
                ip("64:ff9b::a9fe:a9fe"), ip("64:ff9b::c633:640c"), ip("2001:db8::12"))), List.of());
        assertThat(plan.forFamily(Family.IPV4).output())
                .contains(Rule.allowOut(new Cidr("198.51.100.12", 32, Family.IPV4), Transport.TCP, 443))
                .noneMatch(r -> r.destination() != null && List.of("169.254.169.254", "224.0.0.251")
                        .contains(r.destination().address()))
                .noneMatch(r -> r.destination() != null && r.destination().address().equals("64:ff9b::7f00:1"));
        assertThat(plan.forFamily(Family.IPV6).output())
                .contains(Rule.allowOut(new Cidr("2001:db8::12", 128, Family.IPV6), Transport.TCP, 443),
                        Rule.allowOut(new Cidr("64:ff9b::c633:640c", 128, Family.IPV6), Transport.TCP, 443))
                .noneMatch(r -> r.destination() != null && List.of("fe80::1", "64:ff9b::a9fe:a9fe")
                        .contains(r.destination().address()));
        String never = " (loopback, link-local, metadata, multicast, reserved or IPv4 transition), where a hostname's address is"
                + " never allowed";
        assertThat(plan.warnings()).containsExactly(
                "allowedEndpoints: pypi.internal resolved to 169.254.169.254, inside 169.254.0.0/16" + never,
                "allowedEndpoints: pypi.internal resolved to 224.0.0.251, inside 224.0.0.0/4" + never,
                "allowedEndpoints: pypi.internal resolved to 100.100.100.200, inside 100.100.100.200/32" + never,
                "allowedEndpoints: pypi.internal resolved to 168.63.129.16, inside 168.63.129.16/32" + never,
                "allowedEndpoints: pypi.internal resolved to fe80::1, inside fe80::/10" + never,
                "allowedEndpoints: pypi.internal resolved to fd00:ec2::254, inside fd00:ec2::254/128" + never,
                "allowedEndpoints: pypi.internal resolved to 64:ff9b::a9fe:a9fe, inside 169.254.0.0/16 (loopback,"
                        + " link-local, metadata, multicast, reserved or IPv4 transition, through NAT64), where a hostname's address"
                        + " is never allowed");
    }

    @Test
    void aHostnamesNat64AnswerIsJudgedByTheIpv4AddressInsideAgainstTheIpv4BlockedSubnets() throws Exception {
        NetworkPolicy p = new NetworkPolicy(NetworkMode.BRIDGE, List.of(NAME),
                List.of(new Cidr("10.0.0.0", 8, Family.IPV4), new Cidr("fd00::", 8, Family.IPV6)), false, false, false);
        PlannedRules plan = planner.plan(p, Map.of("pypi.internal", List.of(ip("64:ff9b::a00:5"),
                ip("64:ff9b:1::a00:5"), ip("64:ff9b::c633:640c"), ip("64:ff9b::7f00:1"))), List.of());
        assertThat(plan.forFamily(Family.IPV6).output())
                .contains(Rule.allowOut(new Cidr("64:ff9b::c633:640c", 128, Family.IPV6), Transport.TCP, 443))
                .noneMatch(r -> r.destination() != null && List.of("64:ff9b::a00:5", "64:ff9b:1::a00:5")
                        .contains(r.destination().address()));
        assertThat(plan.warnings()).containsExactly(
                "allowedEndpoints: pypi.internal resolved to 64:ff9b::a00:5, inside blocked subnet 10.0.0.0/8"
                        + " through NAT64: not allowed",
                "allowedEndpoints: pypi.internal resolved to 64:ff9b:1::a00:5, inside 64:ff9b:1::/48 (loopback,"
                        + " link-local, metadata, multicast, reserved or IPv4 transition), where a hostname's address is never allowed",
                "allowedEndpoints: pypi.internal resolved to 64:ff9b::7f00:1, inside 127.0.0.0/8 (loopback, link-local,"
                        + " metadata, multicast, reserved or IPv4 transition, through NAT64), where a hostname's address"
                        + " is never allowed");
    }

    @Test
    void aHostnameAddressInAnIpv6TransitionRangeCarryingAnIpv4DestinationIsRefused() throws Exception {
        NetworkPolicy p = new NetworkPolicy(NetworkMode.BRIDGE, List.of(NAME),
                List.of(new Cidr("10.0.0.0", 8, Family.IPV4), new Cidr("fd00::", 8, Family.IPV6)), false, false, false);
        // 6to4 and IPv4-compatible forms of 10.0.0.5, a Teredo address, an IPv4-translated one; a public address
        PlannedRules plan = planner.plan(p, Map.of("pypi.internal", List.of(ip("2002:a00:5::1"), ip("::a00:5"),
                ip("2001:0:4136:e378:8000:63bf:f5ff:fffa"), ip("::ffff:0:a00:5"), ip("2001:db8::12"))), List.of());
        assertThat(plan.forFamily(Family.IPV6).output())
                .filteredOn(r -> r.verdict() == Verdict.ACCEPT && r.port() != null && r.port() == 443)
                .containsExactly(Rule.allowOut(new Cidr("2001:db8::12", 128, Family.IPV6), Transport.TCP, 443));
        String never = " (loopback, link-local, metadata, multicast, reserved or IPv4 transition), where a hostname's address is"
                + " never allowed";
        assertThat(plan.warnings()).containsExactly(
                "allowedEndpoints: pypi.internal resolved to 2002:a00:5::1, inside 2002::/16" + never,
                "allowedEndpoints: pypi.internal resolved to ::10.0.0.5, inside ::/96" + never,
                "allowedEndpoints: pypi.internal resolved to 2001:0:4136:e378:8000:63bf:f5ff:fffa, inside 2001::/32" + never,
                "allowedEndpoints: pypi.internal resolved to ::ffff:0:a00:5, inside ::ffff:0:0:0/96" + never);
    }
}
