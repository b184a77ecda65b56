package dev.netfence.rules;

import dev.netfence.policy.Endpoint;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkMode;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.Presets;
import dev.netfence.policy.Protocol;
import java.net.InetAddress;
import java.util.List;

/**
 * What the tests of {@link RulePlanner} share: a planner, a literal IPv4 endpoint and a hostname
 * one (both TCP 443), a bridge policy over the default blocked list with the given endpoints and
 * switches, and an address from its literal.
 */
abstract class RulePlannerFixture {
    final RulePlanner planner = new RulePlanner();
    static final Endpoint V4 = new Endpoint("198.51.100.7", Family.IPV4, 443, Protocol.TCP);
    static final Endpoint NAME = new Endpoint("pypi.internal", null, 443, Protocol.TCP);

    static NetworkPolicy bridge(List<Endpoint> endpoints, boolean dns, boolean outbound, boolean inbound) {
        return new NetworkPolicy(NetworkMode.BRIDGE, endpoints, Presets.defaultBlockedSubnets(), dns, outbound, inbound);
    }

    static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }
}
