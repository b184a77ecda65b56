package dev.netfence.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Omitted flags follow the seed's {@code NetworkPolicyFromSandbox}; presets equal the seed's
 * {@code DefaultNetworkPolicy} and {@code HIPAACompliantPolicy} (plus the IPv6 ranges).
 */
class DerivationAndPresetsTest {
    /** The seed's list, widened on purpose (issue 12): metadata, CGNAT, special and multicast ranges, NAT64. */
    private static final List<String> DEFAULT_BLOCKED = List.of("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
            "169.254.0.0/16", "100.64.0.0/10", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4",
            "fc00::/7", "fe80::/10", "64:ff9b::/96", "::ffff:0.0.0.0/96", "ff00::/8");

    private final PolicyParser parser = new PolicyParser();

    private NetworkPolicy parse(String json) {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    /** mode (- = omitted), endpoints?, explicit flags JSON, expected dns/outbound/inbound. */
    @ParameterizedTest(name = "mode={0} endpoints={1} flags={2} -> dns={3} outbound={4} inbound={5}")
    @CsvSource(delimiter = '|', value = {
        "-         | false | ''                                   | false | false | false",
        "-         | true  | ''                                   | false | false | false",
        "none      | true  | ''                                   | false | false | false",
        "bridge    | false | ''                                   | false | false | false",
        "bridge    | true  | ''                                   | true  | true  | false",
        "container | true  | ''                                   | true  | true  | false",
        "container | false | ''                                   | false | false | false",
        "bridge    | true  | ',\"dns\":false'                     | false | true  | false",
        "bridge    | true  | ',\"outbound\":false'                | true  | false | false",
        "bridge    | false | ',\"outbound\":true,\"dns\":true'    | true  | true  | false",
        "bridge    | false | ',\"inbound\":true'                  | false | false | true",
        "none      | false | ',\"dns\":false,\"outbound\":false'  | false | false | false",
    })
    void omittedFlagsAreDerivedLikeTheSeedAndExplicitFlagsWin(
            String mode, boolean endpoints, String flags, boolean dns, boolean outbound, boolean inbound) {
        String json = "{\"schemaVersion\":1"
                + (mode.equals("-") ? "" : ",\"mode\":\"" + mode + "\"")
                + (endpoints ? ",\"allowedEndpoints\":[\"198.51.100.7:443\"]" : "")
                + flags + "}";
        NetworkPolicy p = parse(json);
        assertThat(p.mode().wire()).isEqualTo(mode.equals("-") ? "none" : mode);
        assertThat(p.dns()).as("dns").isEqualTo(dns);
        assertThat(p.outbound()).as("outbound").isEqualTo(outbound);
        assertThat(p.inbound()).as("inbound").isEqualTo(inbound);
    }

    @Test
    void omittedOrEmptyBlockedSubnetsMeanTheDefaultListWithTheIpv6Ranges() {
        assertThat(parse("{\"schemaVersion\":1,\"mode\":\"bridge\"}").blockedSubnets())
                .extracting(Cidr::toString).containsExactlyElementsOf(DEFAULT_BLOCKED);
        assertThat(parse("{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[]}").blockedSubnets())
                .extracting(Cidr::toString).containsExactlyElementsOf(DEFAULT_BLOCKED);
    }

    /**
     * written list -> the list in force, family by family: IPv6 named nowhere is blocked whole
     * where the list blocks all of IPv4, as the seed's 0.0.0.0/0 does (it meant everything; two /1s
     * mean the same, a gap does not), else a family named nowhere
     * keeps the default list's ranges of that family (::/0 alone turns IPv6 off, not IPv4); a
     * family the list names is exactly as written.
     */
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "0.0.0.0/0                     | 0.0.0.0/0 ::/0",
        "::/0                          | ::/0 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 169.254.0.0/16 100.64.0.0/10"
                + " 0.0.0.0/8 224.0.0.0/4 240.0.0.0/4",
        "0.0.0.0/0 fc00::/7            | 0.0.0.0/0 fc00::/7",
        "0.0.0.0/1 128.0.0.0/1         | 0.0.0.0/1 128.0.0.0/1 ::/0",
        "0.0.0.0/1 128.0.0.0/2         | 0.0.0.0/1 128.0.0.0/2 fc00::/7 fe80::/10 64:ff9b::/96 ::ffff:0.0.0.0/96 ff00::/8",
        "198.18.0.0/15                 | 198.18.0.0/15 fc00::/7 fe80::/10 64:ff9b::/96 ::ffff:0.0.0.0/96 ff00::/8",
        "2001:db8::/32                 | 2001:db8::/32 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 169.254.0.0/16"
                + " 100.64.0.0/10 0.0.0.0/8 224.0.0.0/4 240.0.0.0/4",
        "10.0.0.0/8 ::/128             | 10.0.0.0/8 ::/128",
        "2001:db8::/32 198.18.0.0/15   | 2001:db8::/32 198.18.0.0/15",
    })
    void aFamilyTheWrittenListNamesNothingOfIsClosedNotLeftOpen(String written, String inForce) {
        String list = String.join(",", java.util.Arrays.stream(written.split(" ")).map(c -> "\"" + c + "\"").toList());
        assertThat(parse("{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[" + list + "]}").blockedSubnets())
                .extracting(Cidr::toString).containsExactly(inForce.split(" "));
    }

    @Test
    void theDefaultPresetIsTheSeedsDefaultNetworkPolicy() {
        NetworkPolicy p = parse("{\"schemaVersion\":1,\"preset\":\"default\"}");
        assertThat(p).isEqualTo(Presets.defaultPolicy());
        assertThat(p.mode()).isEqualTo(NetworkMode.NONE);
        assertThat(p.allowedEndpoints()).isEmpty();
        assertThat(p.blockedSubnets()).extracting(Cidr::toString).containsExactlyElementsOf(DEFAULT_BLOCKED);
        assertThat(List.of(p.dns(), p.outbound(), p.inbound())).containsOnly(false);
    }

    @Test
    void theHipaaPresetWithEndpointsBlocksEverythingElseInBothFamiliesAndOpensDnsAndOutbound() {
        NetworkPolicy p = parse("{\"schemaVersion\":1,\"preset\":\"hipaa\",\"allowedEndpoints\":[\"198.51.100.7:443\",\"[2001:db8::7]:443\"]}");
        assertThat(p.mode()).isEqualTo(NetworkMode.BRIDGE);
        assertThat(p.allowedEndpoints()).extracting(Endpoint::toString).containsExactly("198.51.100.7:443", "[2001:db8::7]:443");
        assertThat(p.blockedSubnets()).extracting(Cidr::toString).containsExactly("0.0.0.0/0", "::/0");
        assertThat(p.dns()).isTrue();
        assertThat(p.outbound()).isTrue();
        assertThat(p.inbound()).isFalse();
    }

    @Test
    void theHipaaPresetWithoutEndpointsKeepsDnsAndOutboundOff() {
        NetworkPolicy p = parse("{\"schemaVersion\":1,\"preset\":\"hipaa\"}");
        assertThat(p).isEqualTo(Presets.hipaa(List.of()));
        assertThat(p.dns()).isFalse();
        assertThat(p.outbound()).isFalse();
        assertThat(p.blockedSubnets()).extracting(Cidr::toString).containsExactly("0.0.0.0/0", "::/0");
    }

    @Test
    void theHipaaPresetStillValidatesItsEndpoints() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> parse("{\"schemaVersion\":1,\"preset\":\"hipaa\",\"allowedEndpoints\":[\"1.2.3.4:99999\"]}"))
                .isInstanceOf(PolicyValidationException.class)
                .hasMessage("allowedEndpoints[0]: invalid port \"99999\" in \"1.2.3.4:99999\" (expected 1-65535)");
    }
}
