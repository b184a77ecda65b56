package dev.netfence.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.netfence.policy.Cidr;
import dev.netfence.policy.Endpoint;
import dev.netfence.policy.IpAddresses;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.policy.PolicyValidationException;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import dev.netfence.rules.RuleSet;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.statistics.StatisticsReport;

/**
 * Properties over fuzzed policies: (a) whatever validation accepts renders only to strict tokens
 * iptables accepts (addresses of hex, digits, dots and colons; prefixes and ports in range), and
 * (b) no string from a policy reaches the restore text except as such a validated token: input
 * with spaces, quotes, {@code ;}, {@code $(…)}, newlines, NUL, very long or non-ASCII text is
 * either rejected or leaves no trace of those characters in the output.
 */
class RenderedTokensProperties {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final PolicyParser PARSER = new PolicyParser();
    private static final String TAIL = "( -m comment --comment \"netfence:[0-9a-f]{12}\") -j (ACCEPT|DROP|REJECT --reject-with icmp6?-port-unreachable)";
    private static final Pattern RULE = Pattern.compile("-A NETFENCE-(OUT|IN|FWD)( ! -s (0\\.0\\.0\\.0/32|::/128))?"
            + "( -s [0-9a-f:.]+/[0-9]{1,3})?"
            + "( -d [0-9a-f:.]+/[0-9]{1,3})?( -i lo| ! -i lo -m addrtype --src-type LOCAL| ! -s 0\\.0\\.0\\.0/8 ! -i lo -m addrtype --src-type BROADCAST| ! -o lo -m addrtype --dst-type BROADCAST| -o lo -m addrtype --dst-type LOCAL(,BROADCAST,MULTICAST)?)?( -m addrtype ! --src-type LOCAL)?( -p (tcp|udp|icmp|ipv6-icmp))?"
            + "( -m (tcp|udp) --dport [0-9]{1,5}| -m tcp --sport [0-9]{1,5} ! --tcp-flags SYN SYN"
            + "| -m icmp6 --icmpv6-type (13[0-7]|143)| -m icmp --icmp-type 5)?( -m hl --hl-eq 255)?"
            + "( -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY)?" + TAIL);
    private static final Pattern FRAME = Pattern.compile("\\*filter|:NETFENCE-(OUT|IN|FWD) - \\[0:0\\]|-F NETFENCE-(OUT|IN|FWD)"
            + "|-I OUTPUT 1 -j NETFENCE-OUT|-I INPUT 1 -j NETFENCE-IN|-I FORWARD 1 -j NETFENCE-FWD|COMMIT");
    private static final List<String> HOSTILE = List.of(" ", "\"", "'", ";", "$(reboot)", "`id`", "\n", "\r", "\u0000", "\t",
            "|", "&", "\\", "é", "ü", "\u202e", "日本", "-j ACCEPT", "--comment", "#", "*", "%eth0", "x".repeat(300));
    private static final List<String> PIECES = List.of("198.51.100.7", "10.0.0.0", "2001:db8::7", "::", "fe80::", "[", "]", ":",
            "443", "0", "65535", "99999", "/", "8", "32", "128", "/udp", "/tcp", "pypi.internal", "a-b.example", ".", "-", "1.2.3.4",
            "::ffff:1.2.3.4", "::1.2.3.4", "ABC", "0x10");

    @Provide
    Arbitrary<String> fuzz() {
        Arbitrary<String> piece = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.of(PIECES)),
                Tuple.of(2, Arbitraries.of(HOSTILE)),
                Tuple.of(1, Arbitraries.strings().ofMaxLength(6)));
        return piece.list().ofMinSize(1).ofMaxSize(7).map(l -> String.join("", l));
    }

    /** Well-formed endpoints of every kind, with ports slightly out of range now and then. */
    static Arbitrary<String> wellFormedEndpoint() {
        Arbitrary<String> v4 = Arbitraries.bytes().array(byte[].class).ofSize(4).map(IpAddresses::format);
        Arbitrary<String> v6 = Arbitraries.bytes().array(byte[].class).ofSize(16)
                .filter(b -> !IpAddresses.isIpv4Mapped(b)).map(b -> "[" + IpAddresses.format(b) + "]");
        Arbitrary<String> name = Arbitraries.strings().withChars("abcxyz019-").ofMinLength(1).ofMaxLength(10)
                .list().ofMinSize(1).ofMaxSize(3).map(l -> String.join(".", l));
        Arbitrary<Integer> port = Arbitraries.frequencyOf(Tuple.of(9, Arbitraries.integers().between(1, 65535)),
                Tuple.of(1, Arbitraries.integers().between(0, 99999)));
        return Combinators.combine(Arbitraries.oneOf(v4, v6, name), port, Arbitraries.of("", "/tcp", "/udp"))
                .as((h, p, proto) -> h + ":" + p + proto);
    }

    /** Well-formed CIDRs of both families, host bits cleared. */
    static Arbitrary<String> wellFormedCidr() {
        Arbitrary<byte[]> addr = Arbitraries.oneOf(Arbitraries.bytes().array(byte[].class).ofSize(4),
                Arbitraries.bytes().array(byte[].class).ofSize(16));
        return addr.flatMap(b -> Arbitraries.integers().between(0, b.length * 8).map(prefix -> {
            java.math.BigInteger v = new java.math.BigInteger(1, b);
            int bits = b.length * 8;
            v = v.shiftRight(bits - prefix).shiftLeft(bits - prefix);
            byte[] raw = v.toByteArray();
            byte[] masked = new byte[b.length];
            int n = Math.min(raw.length, masked.length);
            System.arraycopy(raw, raw.length - n, masked, masked.length - n, n);
            return IpAddresses.format(masked) + "/" + prefix;
        }));
    }

    /** A well-formed value with a hostile fragment spliced in somewhere. */
    static Arbitrary<String> spliced(Arbitrary<String> valid) {
        return Combinators.combine(valid, Arbitraries.of(HOSTILE), Arbitraries.integers().between(0, 1000))
                .as((v, h, at) -> v.substring(0, at % (v.length() + 1)) + h + v.substring(at % (v.length() + 1)));
    }

    @Provide
    Arbitrary<String> endpoints() {
        return Arbitraries.frequencyOf(Tuple.of(5, wellFormedEndpoint()), Tuple.of(2, spliced(wellFormedEndpoint())),
                Tuple.of(2, fuzz()));
    }

    @Provide
    Arbitrary<String> cidrs() {
        return Arbitraries.frequencyOf(Tuple.of(5, wellFormedCidr()), Tuple.of(2, spliced(wellFormedCidr())),
                Tuple.of(2, fuzz()));
    }

    @Provide
    Arbitrary<ObjectNode> policies() {
        Arbitrary<List<String>> endpoints = endpoints().list().ofMaxSize(3);
        Arbitrary<List<String>> subnets = cidrs().list().ofMaxSize(3);
        Arbitrary<String> mode = Arbitraries.frequencyOf(Tuple.of(6, Arbitraries.of("none", "bridge", "container", "host")),
                Tuple.of(1, fuzz()));
        Arbitrary<Boolean> flag = Arbitraries.of(true, false);
        return Combinators.combine(endpoints, subnets, mode, flag, flag).as((eps, nets, m, dns, out) -> {
            ObjectNode n = MAPPER.createObjectNode().put("schemaVersion", 1).put("mode", m);
            ArrayNode e = n.putArray("allowedEndpoints");
            eps.forEach(e::add);
            ArrayNode s = n.putArray("blockedSubnets");
            nets.forEach(s::add);
            if (!m.equals("none")) {
                n.put("dns", dns).put("outbound", out);
            }
            return n;
        });
    }

    @Property(tries = 500)
    @StatisticsReport(onFailureOnly = true)
    void aFuzzedPolicyIsRejectedOrRendersOnlyStrictTokens(@ForAll("policies") ObjectNode document) throws Exception {
        // the property must not pass vacuously: enough fuzzed policies have to be accepted
        Statistics.coverage(c -> c.check("accepted").percentage(p -> p > 10));
        NetworkPolicy policy;
        try {
            policy = PARSER.parse(document);
        } catch (PolicyValidationException e) {
            Statistics.collect("rejected");
            assertThat(e.reasons()).isNotEmpty().allSatisfy(r -> assertThat(r).doesNotContain("\n", "\u0000", "\r"));
            return;
        }
        Statistics.collect(policy.allowedEndpoints().isEmpty() && policy.blockedSubnets().size() == 5 ? "accepted, defaults" : "accepted");
        assertThat(policy.mode().wire()).isIn("none", "bridge", "container");
        Map<String, List<InetAddress>> resolved = new HashMap<>();
        for (Endpoint ep : policy.allowedEndpoints()) {
            if (ep.isHostname()) {
                resolved.put(ep.host(), List.of(InetAddress.getByAddress(new byte[] {(byte) 198, 51, 100, 12})));
            }
        }
        PlannedRules plan = new RulePlanner().plan(policy, resolved, List.of());
        for (RuleSet set : plan.byFamily().values()) {
            String text = new RestoreRenderer().render(set, true);
            assertThat(text).matches("[A-Za-z0-9 :./\\-\\[\\]\",*!\n]+");
            for (String line : text.split("\n")) {
                assertThat(line).matches(l -> RULE.matcher(l).matches() || FRAME.matcher(l).matches(), "a strict restore line");
            }
            // every destination is an IP literal of this family with a prefix in range: hostnames
            // never reach iptables (which would resolve them itself), only their addresses
            java.util.regex.Matcher d = Pattern.compile(" -d ([^ /]+)/([0-9]+) ").matcher(text);
            while (d.find()) {
                byte[] literal = set.family() == dev.netfence.policy.Family.IPV4
                        ? IpAddresses.parseIpv4(d.group(1)) : IpAddresses.parseIpv6(d.group(1));
                assertThat(literal).as(d.group(1)).isNotNull();
                assertThat(IpAddresses.format(literal)).isEqualTo(d.group(1));
                assertThat(Integer.parseInt(d.group(2))).isBetween(1, literal.length * 8);
            }
        }
    }

    @Property(tries = 500)
    void anAcceptedEndpointIsAStrictTokenInRange(@ForAll("endpoints") String raw) {
        var parsed = dev.netfence.policy.PolicyValues.endpoint(raw);
        Statistics.coverage(c -> c.check(true).percentage(p -> p > 20));
        Statistics.collect(parsed.ok());
        if (!parsed.ok()) {
            assertThat(parsed.error()).doesNotContain("\n", "\u0000");
            return;
        }
        Endpoint e = parsed.value();
        assertThat(e.port()).isBetween(1, 65535);
        if (e.isHostname()) {
            assertThat(e.host()).matches("[a-z0-9.-]{1,253}").doesNotStartWith("-").doesNotEndWith(".");
        } else {
            assertThat(e.host()).matches("[0-9a-f:.]+");
        }
    }

    @Property(tries = 500)
    void anAcceptedCidrIsANetworkAddressWithAPrefixInRange(@ForAll("cidrs") String raw) throws Exception {
        var parsed = dev.netfence.policy.PolicyValues.cidr(raw);
        Statistics.coverage(c -> c.check(true).percentage(p -> p > 20));
        Statistics.collect(parsed.ok());
        if (!parsed.ok()) {
            return;
        }
        Cidr c = parsed.value();
        assertThat(c.address()).matches("[0-9a-f:.]+");
        byte[] bytes = InetAddress.getByName(c.address()).getAddress(); // a literal: no DNS
        int bits = c.family() == dev.netfence.policy.Family.IPV4 ? 32 : 128;
        assertThat(c.prefix()).isBetween(0, bits);
        java.math.BigInteger value = new java.math.BigInteger(1, bytes);
        assertThat(value.mod(java.math.BigInteger.ONE.shiftLeft(bits - c.prefix()))).isZero();
    }

    @Property(tries = 300)
    void aFuzzedModeIsRejectedUnlessItIsAKnownSafeMode(@ForAll("fuzz") String mode) {
        ObjectNode n = MAPPER.createObjectNode().put("schemaVersion", 1).put("mode", mode);
        try {
            assertThat(PARSER.parse(n).mode().wire()).isEqualTo(mode);
        } catch (PolicyValidationException e) {
            assertThat(e.reasons()).singleElement().asString().startsWith("mode:");
        }
    }
}
