package dev.netfence.rules;

import dev.netfence.policy.Cidr;
import dev.netfence.policy.Endpoint;
import dev.netfence.policy.Family;
import dev.netfence.policy.IpAddresses;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.Presets;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The hosts an allowed endpoint of a policy may be reached at in one IP family, for {@link
 * RulePlanner}: a literal endpoint's own address; a hostname's resolved addresses of that family,
 * less each one inside the policy's blocked subnets (the default list's where the policy blocks the
 * whole family), inside {@link Presets#neverForHostnames()}, or a NAT64 address whose IPv4 address
 * is inside one of these, each left out with a warning. Split out of the planner so that its
 * ordering of rules and this judgement of a resolver's answers read apart: an address a hostname
 * resolved to is not the policy author's choice, so it is judged before it gets a rule.
 */
final class EndpointAddresses {
    private EndpointAddresses() {
    }

    /**
     * The networks a hostname's address must not fall in: the policy's blocked subnets of
     * {@code family}; where one of them is the whole family (/0), the default list instead.
     */
    static List<Cidr> hostnameGuard(NetworkPolicy policy, Family family) {
        List<Cidr> guard = new ArrayList<>();
        boolean whole = false;
        for (Cidr subnet : policy.blockedSubnets()) {
            if (subnet.family() == family) {
                if (subnet.prefix() == 0) {
                    whole = true;
                } else {
                    guard.add(subnet);
                }
            }
        }
        if (whole) {
            Presets.defaultBlockedSubnets().stream().filter(c -> c.family() == family).forEach(guard::add);
        }
        return guard;
    }

    /**
     * The hosts a hostname endpoint's addresses of {@code family} may be allowed at: none inside
     * {@code guard} or {@link #never}, nor a NAT64 address (64:ff9b::/96) whose IPv4 address is
     * inside {@code nat64Guard} (the IPv4 blocked subnets: the translator would deliver there).
     */
    static List<Cidr> addressesOf(Endpoint endpoint, Family family,
            Map<String, List<InetAddress>> resolvedHostnames, List<Cidr> guard, List<Cidr> nat64Guard,
            Set<String> warnings) {
        if (!endpoint.isHostname()) {
            return endpoint.family() == family ? List.of(hostCidr(endpoint.host(), family)) : List.of();
        }
        List<InetAddress> addresses = resolvedHostnames.get(endpoint.host());
        if (addresses == null || addresses.isEmpty()) {
            throw new IllegalArgumentException("hostname " + endpoint.host() + " has no resolved addresses");
        }
        List<Cidr> out = new ArrayList<>();
        for (InetAddress a : addresses) {
            byte[] bytes = a.getAddress();
            if (IpAddresses.familyOf(bytes) != family) {
                continue;
            }
            byte[] inside =
                    RulePlanner.NAT64.contains(bytes) ? java.util.Arrays.copyOfRange(bytes, 12, 16) : null;
            Cidr blocked = guard.stream().filter(c -> c.contains(bytes)).findFirst()
                    .or(() -> nat64Guard.stream().filter(c -> inside != null && c.contains(inside)).findFirst())
                    .orElse(null);
            Cidr never = never(bytes);
            if (blocked != null) {
                warnings.add("allowedEndpoints: " + endpoint.host() + " resolved to " + IpAddresses.format(bytes)
                        + ", inside blocked subnet " + blocked
                        + (blocked.family() != IpAddresses.familyOf(bytes) ? " through NAT64" : "") + ": not allowed");
            } else if (never != null) {
                warnings.add("allowedEndpoints: " + endpoint.host() + " resolved to " + IpAddresses.format(bytes)
                        + ", inside " + never + " (loopback, link-local, metadata, multicast, reserved or IPv4 transition"
                        + (never.family() != IpAddresses.familyOf(bytes) ? ", through NAT64" : "")
                        + "), where a hostname's address is never allowed");
            } else {
                out.add(Cidr.host(bytes));
            }
        }
        return out;
    }

    /**
     * The range of {@link Presets#neverForHostnames()} holding {@code address}, or, for a NAT64
     * address (64:ff9b::/96), the IPv4 address inside it; null when none does.
     */
    private static Cidr never(byte[] address) {
        for (Cidr c : Presets.neverForHostnames()) {
            if (c.contains(address)) {
                return c;
            }
        }
        if (RulePlanner.NAT64.contains(address)) {
            byte[] inside = java.util.Arrays.copyOfRange(address, 12, 16);
            for (Cidr c : Presets.neverForHostnames()) {
                if (c.contains(inside)) {
                    return c;
                }
            }
        }
        return null;
    }

    private static Cidr hostCidr(String canonicalAddress, Family family) {
        return new Cidr(canonicalAddress, family == Family.IPV4 ? 32 : 128, family);
    }
}
