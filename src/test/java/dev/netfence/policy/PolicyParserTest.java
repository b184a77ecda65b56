package dev.netfence.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Each seed defect has a case here that the seed's {@code Validate()} would have accepted. */
class PolicyParserTest {
    private final PolicyParser parser = new PolicyParser();

    private NetworkPolicy parse(String json) {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private List<String> reasons(String json) {
        try {
            parse(json);
        } catch (PolicyValidationException e) {
            return e.reasons();
        }
        throw new AssertionError("expected the policy to be rejected: " + json);
    }

    private List<String> endpointReasons(String endpoint) {
        return reasons("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.1:443\",\"x.example:80\","
                + jsonString(endpoint) + "]}");
    }

    private List<String> subnetReasons(String cidr) {
        return reasons("{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[" + jsonString(cidr) + "]}");
    }

    static String jsonString(String s) {
        return new com.fasterxml.jackson.databind.node.TextNode(s).toString();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "endpoints, outbound not written: derived on, noted | {\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"]} | true",
        "outbound written true: meant, no note               | {\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"],\"outbound\":true} | false",
        "outbound written false: an allowlist, no note       | {\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"],\"outbound\":false} | false",
        "no endpoints: outbound derived off, no note         | {\"schemaVersion\":1,\"mode\":\"bridge\"} | false",
        "a preset says what it means, no note                | {\"schemaVersion\":1,\"preset\":\"hipaa\",\"allowedEndpoints\":[\"198.51.100.7:443\"]} | false",
        "everything blocked but the endpoints anyway, no note | {\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"],\"blockedSubnets\":[\"0.0.0.0/0\"]} | false",
        "one family blocked whole, the other not: noted      | {\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"],\"blockedSubnets\":[\"0.0.0.0/0\",\"2001:db8::/32\"]} | true",
        "an invalid document has no notes                    | {\"schemaVersion\":1,\"mode\":\"host\",\"allowedEndpoints\":[\"198.51.100.7:443\"]} | false"})
    void outboundDerivedOnFromListedEndpointsIsNotedForTheAuthor(String name, String json, boolean noted) {
        assertThat(parser.notes(json.getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(noted ? List.of(PolicyParser.DERIVED_OUTBOUND_NOTE) : List.of());
    }

    @ParameterizedTest(name = "{0} is rejected")
    @CsvSource(delimiter = '|', value = {
        "1.2.3.4:99999 | allowedEndpoints[2]: invalid port \"99999\" in \"1.2.3.4:99999\" (expected 1-65535)",
        "1.2.3.4:0     | allowedEndpoints[2]: invalid port \"0\" in \"1.2.3.4:0\" (expected 1-65535)",
        "1.2.3.4:      | allowedEndpoints[2]: invalid port \"\" in \"1.2.3.4:\" (expected 1-65535)",
        "1.2.3.4:-1    | allowedEndpoints[2]: invalid port \"-1\" in \"1.2.3.4:-1\" (expected 1-65535)",
        "1.2.3.4:80:90 | allowedEndpoints[2]: invalid endpoint \"1.2.3.4:80:90\" (expected host:port)",
        "1.2.3.4       | allowedEndpoints[2]: invalid endpoint \"1.2.3.4\" (expected host:port)",
        ":443          | allowedEndpoints[2]: missing host in \":443\" (expected host:port)",
        "1.2.3.256:443 | allowedEndpoints[2]: invalid IPv4 address \"1.2.3.256\" in \"1.2.3.256:443\"",
        "01.2.3.4:443  | allowedEndpoints[2]: invalid IPv4 address \"01.2.3.4\" in \"01.2.3.4:443\"",
        "1.2.3:443     | allowedEndpoints[2]: invalid IPv4 address \"1.2.3\" in \"1.2.3:443\"",
        "2001:db8::7:443 | allowedEndpoints[2]: IPv6 endpoint \"2001:db8::7:443\" must be written as [address]:port, e.g. \"[2001:db8::7]:443\"",
        "[2001:db8::g]:443 | allowedEndpoints[2]: invalid IPv6 address \"2001:db8::g\" in \"[2001:db8::g]:443\"",
        "[2001:db8::7]443 | allowedEndpoints[2]: invalid endpoint \"[2001:db8::7]443\" (expected [ipv6]:port)",
        "[::ffff:1.2.3.4]:443 | allowedEndpoints[2]: IPv4-mapped address \"::ffff:1.2.3.4\" in \"[::ffff:1.2.3.4]:443\" (write the IPv4 address instead)",
        "1.2.3.4:53/sctp | allowedEndpoints[2]: invalid protocol \"sctp\" in \"1.2.3.4:53/sctp\" (expected tcp or udp)",
        "-bad.example:443 | allowedEndpoints[2]: invalid hostname \"-bad.example\" in \"-bad.example:443\" (labels are letters, digits and inner hyphens)",
        "bad_name.example:443 | allowedEndpoints[2]: invalid hostname \"bad_name.example\" in \"bad_name.example:443\" (labels are letters, digits and inner hyphens)",
        "a..example:443 | allowedEndpoints[2]: invalid hostname \"a..example\" in \"a..example:443\" (empty label)",
        "example.com.:443 | allowedEndpoints[2]: invalid hostname \"example.com.\" in \"example.com.:443\" (trailing dot)",
        "$(reboot):443 | allowedEndpoints[2]: invalid hostname \"$(reboot)\" in \"$(reboot):443\" (labels are letters, digits and inner hyphens)",
    })
    void badEndpointsAreRejectedNamingTheFieldAndTheValue(String endpoint, String reason) {
        assertThat(endpointReasons(endpoint)).containsExactly(reason);
    }

    @Test
    void anIpv6EndpointWithoutBracketsIsRejectedWithAHint() {
        assertThat(endpointReasons("2001:db8::7"))
                .containsExactly("allowedEndpoints[2]: IPv6 endpoint \"2001:db8::7\" must be written as [address]:port, e.g. \"[2001:db8::7]:443\"");
    }

    @Test
    void aHostnameLabelLongerThan63CharactersIsRejected() {
        String label = "a".repeat(64);
        assertThat(endpointReasons(label + ".example:443").get(0)).endsWith("(label longer than 63 characters)");
    }

    @Test
    void aHostnameLongerThan253CharactersIsRejected() {
        String name = IntStream.range(0, 4).mapToObj(i -> "a".repeat(63)).collect(Collectors.joining("."));
        assertThat(endpointReasons(name + ":443").get(0)).endsWith("(longer than 253 characters)");
    }

    @Test
    void validEndpointsAreCanonicalised() {
        NetworkPolicy p = parse("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":["
                + "\"198.51.100.7:443\",\"[2001:DB8:0:0::7]:443\",\"PyPI.Internal:443/tcp\",\"198.51.100.9:53/udp\",\"[::1.2.3.4]:8080\"]}");
        assertThat(p.allowedEndpoints()).containsExactly(
                new Endpoint("198.51.100.7", Family.IPV4, 443, Protocol.TCP),
                new Endpoint("2001:db8::7", Family.IPV6, 443, Protocol.TCP),
                new Endpoint("pypi.internal", null, 443, Protocol.TCP),
                new Endpoint("198.51.100.9", Family.IPV4, 53, Protocol.UDP),
                new Endpoint("::1.2.3.4", Family.IPV6, 8080, Protocol.TCP));
    }

    @ParameterizedTest(name = "{0} is rejected")
    @CsvSource(delimiter = '|', value = {
        "10.0.0.0/33   | blockedSubnets[0]: invalid prefix \"33\" in \"10.0.0.0/33\" (expected 0-32)",
        "fc00::/129    | blockedSubnets[0]: invalid prefix \"129\" in \"fc00::/129\" (expected 0-128)",
        "10.0.0.0/-1   | blockedSubnets[0]: invalid prefix \"-1\" in \"10.0.0.0/-1\" (expected 0-32)",
        "10.0.0.0/     | blockedSubnets[0]: invalid prefix \"\" in \"10.0.0.0/\" (expected 0-32)",
        "10.0.0.0/08   | blockedSubnets[0]: invalid prefix \"08\" in \"10.0.0.0/08\" (expected 0-32)",
        "10.0.0.1/8    | blockedSubnets[0]: host bits set in \"10.0.0.1/8\" (did you mean \"10.0.0.0/8\"?)",
        "fe80::1/10    | blockedSubnets[0]: host bits set in \"fe80::1/10\" (did you mean \"fe80::/10\"?)",
        "abc/8         | blockedSubnets[0]: invalid address \"abc\" in \"abc/8\" (expected an IPv4 or IPv6 network address)",
        "10.0.0.0      | blockedSubnets[0]: invalid CIDR \"10.0.0.0\" (expected address/prefix, e.g. \"10.0.0.0/8\")",
        "10.0.0.0/8/8  | blockedSubnets[0]: invalid prefix \"8/8\" in \"10.0.0.0/8/8\" (expected 0-32)",
        "300.0.0.0/8   | blockedSubnets[0]: invalid address \"300.0.0.0\" in \"300.0.0.0/8\" (expected an IPv4 or IPv6 network address)",
    })
    void badSubnetsAreRejectedNamingTheFieldAndTheValue(String cidr, String reason) {
        assertThat(subnetReasons(cidr)).containsExactly(reason);
    }

    @Test
    void validSubnetsOfBothFamiliesAreCanonicalised() {
        NetworkPolicy p = parse("{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":"
                + "[\"10.0.0.0/8\",\"0.0.0.0/0\",\"FC00::/7\",\"2001:db8:0:0:0:0:0:0/32\",\"::/0\"]}");
        assertThat(p.blockedSubnets()).extracting(Cidr::toString)
                .containsExactly("10.0.0.0/8", "0.0.0.0/0", "fc00::/7", "2001:db8::/32", "::/0");
    }

    @Test
    void hostModeIsRefusedWithTheSeedsMessage() {
        assertThat(reasons("{\"schemaVersion\":1,\"mode\":\"host\"}"))
                .containsExactly("mode: host network mode is not allowed for security reasons");
    }

    @Test
    void anUnknownModeIsRejectedByTheSchema() {
        assertThat(reasons("{\"schemaVersion\":1,\"mode\":\"macvlan\"}")).singleElement().asString()
                .startsWith("mode:");
    }

    @Test
    void aNumberBeyondADoublesRangeIsRejectedNotThrown() {
        // read as infinity, which the schema validator threw on (a policy record would have escaped the store's decoder)
        assertThat(reasons("{\"schemaVersion\":1e400,\"mode\":\"bridge\"}")).singleElement().asString()
                .startsWith("policy: the document cannot be validated");
    }

    @Test
    void moreThan512EndpointsAreRejected() {
        String eps = IntStream.range(0, 513).mapToObj(i -> "\"198.51.100.1:" + (i + 1) + "\"").collect(Collectors.joining(","));
        assertThat(reasons("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[" + eps + "]}"))
                .singleElement().asString().startsWith("allowedEndpoints:").contains("512");
    }

    @Test
    void exactly512EndpointsAndSubnetsAreAccepted() {
        String eps = IntStream.range(0, 512).mapToObj(i -> "\"198.51.100.1:" + (i + 1) + "\"").collect(Collectors.joining(","));
        String nets = IntStream.range(0, 512).mapToObj(i -> "\"10." + (i / 256) + "." + (i % 256) + ".0/24\"").collect(Collectors.joining(","));
        NetworkPolicy p = parse("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[" + eps + "],\"blockedSubnets\":[" + nets + "]}");
        assertThat(p.allowedEndpoints()).hasSize(512);
        assertThat(p.blockedSubnets()).hasSize(512 + 5).startsWith(new Cidr("10.0.0.0", 24, Family.IPV4))
                .endsWith(new Cidr("ff00::", 8, Family.IPV6)); // IPv6 named nowhere: its default ranges
    }

    @Test
    void moreThan512SubnetsAreRejected() {
        String nets = IntStream.range(0, 513).mapToObj(i -> "\"10." + (i / 256) + "." + (i % 256) + ".0/24\"").collect(Collectors.joining(","));
        assertThat(reasons("{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[" + nets + "]}"))
                .singleElement().asString().startsWith("blockedSubnets:").contains("512");
    }

    @ParameterizedTest(name = "dnsServers {0} is rejected")
    @CsvSource(delimiter = '|', value = {
        "resolver.example | dnsServers[1]: invalid address \"resolver.example\" (expected an IPv4 or IPv6 address, e.g. \"10.88.0.1\")",
        "10.0.0.256       | dnsServers[1]: invalid address \"10.0.0.256\" (expected an IPv4 or IPv6 address, e.g. \"10.88.0.1\")",
        "10.88.0.1:53     | dnsServers[1]: invalid address \"10.88.0.1:53\" (expected an IPv4 or IPv6 address, e.g. \"10.88.0.1\")",
        "[2001:db8::53]   | dnsServers[1]: invalid address \"[2001:db8::53]\" (expected an IPv4 or IPv6 address, e.g. \"10.88.0.1\")",
        "fe80::1%eth0     | dnsServers[1]: invalid address \"fe80::1%eth0\" (expected an IPv4 or IPv6 address, e.g. \"10.88.0.1\")",
        "0.0.0.0          | dnsServers[1]: unspecified address \"0.0.0.0\" cannot be a resolver",
        "::               | dnsServers[1]: unspecified address \"::\" cannot be a resolver",
        "224.0.0.251      | dnsServers[1]: multicast address \"224.0.0.251\" cannot be a resolver",
        "ff02::fb         | dnsServers[1]: multicast address \"ff02::fb\" cannot be a resolver",
        "255.255.255.255  | dnsServers[1]: broadcast address \"255.255.255.255\" cannot be a resolver",
        "::ffff:10.0.0.53 | dnsServers[1]: IPv4-mapped address \"::ffff:10.0.0.53\" (write the IPv4 address instead)",
    })
    void badDnsServersAreRejectedNamingTheFieldAndTheValue(String address, String reason) {
        assertThat(reasons("{\"schemaVersion\":1,\"mode\":\"bridge\",\"dnsServers\":[\"10.88.0.1\"," + jsonString(address) + "]}"))
                .containsExactly(reason);
    }

    @Test
    void dnsServersOfBothFamiliesAreCanonicalisedAndKeptOnceInOrder() throws Exception {
        NetworkPolicy p = parse("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"],"
                + "\"dnsServers\":[\"10.88.0.1\",\"2001:DB8:0::53\",\"10.88.0.1\"]}");
        assertThat(p.dnsServers()).extracting(IpAddresses::format).containsExactly("10.88.0.1", "2001:db8::53");
        assertThat(p.dns()).isTrue();
        NetworkPolicy hipaa = parse("{\"schemaVersion\":1,\"preset\":\"hipaa\",\"allowedEndpoints\":[\"198.51.100.7:443\"],"
                + "\"dnsServers\":[\"10.88.0.1\"]}");
        assertThat(hipaa.dnsServers()).extracting(IpAddresses::format).containsExactly("10.88.0.1");
        assertThat(reasons("{\"schemaVersion\":1,\"preset\":\"default\",\"dnsServers\":[\"10.88.0.1\"]}"))
                .containsExactly("dnsServers: not allowed with preset \"default\" (it takes no other fields)");
    }

    @Test
    void moreThan16DnsServersAreRejected() {
        String list = IntStream.range(0, 17).mapToObj(i -> "\"10.88.0." + (i + 1) + "\"").collect(Collectors.joining(","));
        assertThat(reasons("{\"schemaVersion\":1,\"mode\":\"bridge\",\"dnsServers\":[" + list + "]}"))
                .singleElement().asString().startsWith("dnsServers:").contains("16");
    }

    @Test
    void trustedResolversChangeThePolicyDigestOnlyWhenListed() {
        String base = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"]";
        String plain = PolicyDigest.canonicalJson(parse(base + "}"));
        assertThat(plain).doesNotContain("dnsServers");
        assertThat(PolicyDigest.of(parse(base + ",\"dnsServers\":[\"10.88.0.1\"]}")))
                .isNotEqualTo(PolicyDigest.of(parse(base + "}")));
    }

    @Test
    void everyProblemIsReportedNotJustTheFirst() {
        assertThat(reasons("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"1.2.3.4:0\",\"ok.example:1\",\"x:y\"],"
                + "\"blockedSubnets\":[\"10.0.0.1/8\"]}"))
                .containsExactly(
                        "allowedEndpoints[0]: invalid port \"0\" in \"1.2.3.4:0\" (expected 1-65535)",
                        "allowedEndpoints[2]: invalid port \"y\" in \"x:y\" (expected 1-65535)",
                        "blockedSubnets[0]: host bits set in \"10.0.0.1/8\" (did you mean \"10.0.0.0/8\"?)");
    }

    @Test
    void wrongTypesUnknownFieldsAndAMissingVersionAreSchemaErrors() {
        assertThat(reasons("{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":\"yes\"}")).singleElement().asString().startsWith("dns:");
        assertThat(reasons("{\"schemaVersion\":1,\"outbond\":true}")).singleElement().asString().contains("outbond");
        assertThat(reasons("{\"mode\":\"bridge\"}")).containsExactly("policy: required property 'schemaVersion' not found");
        assertThat(reasons("{\"schemaVersion\":2}")).singleElement().asString().startsWith("schemaVersion:");
        assertThat(reasons("[]")).isNotEmpty();
    }

    @Test
    void aPresetCannotBeMixedWithExplicitFields() {
        assertThat(reasons("{\"schemaVersion\":1,\"preset\":\"default\",\"mode\":\"bridge\"}"))
                .containsExactly("mode: not allowed with preset \"default\" (it takes no other fields)");
        assertThat(reasons("{\"schemaVersion\":1,\"preset\":\"hipaa\",\"outbound\":true}"))
                .containsExactly("outbound: not allowed with preset \"hipaa\" (it takes only allowedEndpoints and dnsServers)");
    }

    @Test
    void modeNoneCannotOpenTheNetworkWithAnExplicitFlag() {
        assertThat(reasons("{\"schemaVersion\":1,\"mode\":\"none\",\"outbound\":true,\"inbound\":true}")).containsExactly(
                "outbound: true is not allowed with mode \"none\" (mode none permits no network but loopback; use mode bridge or container)",
                "inbound: true is not allowed with mode \"none\" (mode none permits no network but loopback; use mode bridge or container)");
    }

    @Test
    void malformedJsonAndTrailingGarbageAreRejected() {
        assertThat(reasons("{\"schemaVersion\":1")).singleElement().asString().startsWith("policy is not valid JSON");
        assertThat(reasons("{\"schemaVersion\":1} {}")).singleElement().asString().startsWith("policy is not valid JSON");
        assertThat(reasons("")).isNotEmpty();
    }

    @Test
    void aFieldNamedTwiceIsRefusedSoALaterCopyCannotQuietlyOpenWhatTheFirstClosed() {
        assertThat(reasons("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.45.10:443\"],"
                + "\"blockedSubnets\":[\"0.0.0.0/0\"],\"outbound\":false,\"dns\":false,\"blockedSubnets\":[],"
                + "\"outbound\":true}")).singleElement().asString()
                .startsWith("policy is not valid JSON: Duplicate field 'blockedSubnets'");
        assertThat(parse("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.45.10:443\"],"
                + "\"blockedSubnets\":[\"0.0.0.0/0\"],\"outbound\":false,\"dns\":false}").outbound()).isFalse();
    }

    @Test
    void aDocumentOverOneMebibyteIsRefusedBeforeParsing() {
        byte[] big = new byte[PolicyParser.MAX_DOCUMENT_BYTES + 1];
        assertThatThrownBy(() -> parser.parse(big)).isInstanceOf(PolicyValidationException.class)
                .hasMessageContaining("bytes (at most");
    }
}
