package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.SandboxNetExtension;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A blocked IPv4 subnet reached through NAT64 (64:ff9b::/96, RFC 6052), on the real kernel with
 * real connections: the peer holds the NAT64 form of its IPv4 address, as a translator on the way
 * would deliver there. Neither the address a hostname answers with nor one the workload picks
 * itself opens the blocked IPv4 subnet, where the policy's list names IPv6 ranges of its own and
 * so leaves the well-known prefix open for NAT64 to the rest of IPv4.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
@ParameterizedClass(name = "backend {0}")
@ValueSource(strings = {"iptables-nft", "nft"})
class Nat64KernelTest {
    /** The {@code --backend} under test. */
    @Parameter
    String backend;

    private static final int PORT = 8013;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening(PORT);

    @BeforeEach
    void resetRules() {
        net().resetRules();
    }

    private static SandboxNet net() {
        return SANDBOX.net();
    }

    @Test
    void aHostnamesNat64AnswerIntoABlockedIpv4SubnetOpensNothingThere() throws Exception {
        // the peer's IPv4 address is blocked; the name answers with the NAT64 address embedding it
        String policy = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"api.sandbox.test:" + PORT
                + "\",\"[" + net().peerV6() + "]:" + PORT + "\"],\"blockedSubnets\":[\"" + net().peerV4() + "/32\",\""
                + net().blockedSubnetV6() + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
        Map<String, List<InetAddress>> dns = Map.of("api.sandbox.test",
                List.of(InetAddress.getByName(net().peerNat64())));

        EnforcementResult result = enforce(policy, dns);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(net().containerTcp(net().peerV6(), PORT)).as("the literal endpoint").isEqualTo("OK");
        assertThat(net().containerTcp(net().peerNat64(), PORT)).isEqualTo("REFUSED");
        assertThat(result.warnings()).containsExactly("allowedEndpoints: api.sandbox.test resolved to "
                + net().peerNat64() + ", inside blocked subnet " + net().peerV4() + "/32 through NAT64: not allowed");
    }

    @Test
    void anAddressTheWorkloadPicksInTheNat64FormOfABlockedIpv4SubnetIsRefusedWhereTheListNamesIpv6() throws Exception {
        // outbound open; the list names an IPv6 range, so 64:ff9b::/96 is not blocked whole
        String policy = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[\"" + net().peerV4() + "/32\",\""
                + net().blockedSubnetV6() + "\"],\"dns\":false,\"outbound\":true,\"inbound\":false}";

        EnforcementResult result = enforce(policy, Map.of());

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(net().containerTcp(net().peerV4(), PORT)).isEqualTo("REFUSED");
        assertThat(net().containerTcp(net().peerNat64(), PORT)).as("its NAT64 form").isEqualTo("REFUSED");
        assertThat(net().containerTcp(net().blockedHostV6(), PORT)).isEqualTo("REFUSED");
        assertThat(net().containerTcp(net().otherHostV4(), PORT)).as("outside the blocked subnets").isEqualTo("OK");
        assertThat(net().containerTcp(net().peerV6(), PORT)).as("outside the blocked subnets").isEqualTo("OK");
    }

    private EnforcementResult enforce(String json, Map<String, List<InetAddress>> dns) {
        return SandboxEnforcement.enforce(net(), backend, SandboxEnforcement.policy(json), List.of(), dns);
    }
}
