package dev.netfence.rules;

import dev.netfence.policy.Cidr;
import dev.netfence.policy.Endpoint;
import dev.netfence.policy.Family;
import dev.netfence.policy.IpAddresses;
import dev.netfence.policy.NetworkMode;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyDigest;
import dev.netfence.policy.Protocol;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Plans the rules of a validated policy for both IP families, in the fixed order of docs/contracts.md, "Rules".
 * NETFENCE-OUT: loopback, established/related, (IPv6) neighbour discovery, allowed endpoints
 * (hostnames through the addresses they resolved to, each to its own family), DNS (udp and tcp
 * 53 to the container's nameservers, only when the policy allows DNS), blocked subnets (reject),
 * then reject-everything when outbound is off. NETFENCE-IN: loopback, established, (IPv6)
 * neighbour discovery, then drop-everything when inbound is off. Mode none keeps the seed's
 * meaning, "no network": only loopback, everything else rejected out and dropped in, whatever
 * the flags say. The quarantine is the same shape: it denies everything but loopback in both
 * families; it deliberately keeps no established rule (so connections opened under a previous
 * policy die) and no neighbour discovery (nothing non-loopback is reachable anyway).
 * Identical rules are emitted once. Pure and thread-safe.
 */
public final class RulePlanner {
    /** ICMPv6 router solicitation/advertisement, neighbour solicitation/advertisement. */
    public static final List<Integer> NEIGHBOUR_DISCOVERY_TYPES = List.of(133, 134, 135, 136);

    /** The destination port of DNS. */
    public static final int DNS_PORT = 53;

    /**
     * Plans {@code policy}.
     *
     * @param resolvedHostnames the addresses each hostname endpoint resolved to (key: the
     *     endpoint's lower-case host); every hostname endpoint needs a non-empty entry
     * @param nameservers the container's own nameservers, DNS is opened only to these
     * @throws IllegalArgumentException when a hostname endpoint has no resolved address
     */
    public PlannedRules plan(
            NetworkPolicy policy, Map<String, List<InetAddress>> resolvedHostnames, List<InetAddress> nameservers) {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(resolvedHostnames, "resolvedHostnames");
        Objects.requireNonNull(nameservers, "nameservers");
        if (policy.mode() == NetworkMode.NONE) {
            return quarantine();
        }
        Map<Family, List<Rule>> outs = new EnumMap<>(Family.class);
        Map<Family, List<Rule>> ins = new EnumMap<>(Family.class);
        for (Family family : Family.values()) {
            List<Rule> out = new ArrayList<>();
            List<Rule> in = new ArrayList<>();
            out.add(Rule.loopback(Direction.OUT));
            out.add(Rule.established(Direction.OUT));
            in.add(Rule.loopback(Direction.IN));
            in.add(Rule.established(Direction.IN));
            if (family == Family.IPV6) {
                NEIGHBOUR_DISCOVERY_TYPES.forEach(t -> out.add(Rule.neighbourDiscovery(Direction.OUT, t)));
                NEIGHBOUR_DISCOVERY_TYPES.forEach(t -> in.add(Rule.neighbourDiscovery(Direction.IN, t)));
            }
            for (Endpoint endpoint : policy.allowedEndpoints()) {
                Transport transport = endpoint.protocol() == Protocol.UDP ? Transport.UDP : Transport.TCP;
                for (Cidr host : addressesOf(endpoint, family, resolvedHostnames)) {
                    out.add(Rule.allowOut(host, transport, endpoint.port()));
                }
            }
            if (policy.dns()) {
                for (InetAddress ns : nameservers) {
                    Cidr host = hostCidr(IpAddresses.format(ns), ns.getAddress().length == 4 ? Family.IPV4 : Family.IPV6);
                    if (host.family() == family) {
                        out.add(Rule.allowOut(host, Transport.UDP, DNS_PORT));
                        out.add(Rule.allowOut(host, Transport.TCP, DNS_PORT));
                    }
                }
            }
            for (Cidr subnet : policy.blockedSubnets()) {
                if (subnet.family() == family) {
                    // a /0 "subnet" is everything: the same rule as the catch-all, so it dedupes
                    out.add(subnet.prefix() == 0 ? Rule.catchAll(Direction.OUT, Verdict.REJECT) : Rule.rejectOut(subnet));
                }
            }
            if (!policy.outbound()) {
                out.add(Rule.catchAll(Direction.OUT, Verdict.REJECT));
            }
            if (!policy.inbound()) {
                in.add(Rule.catchAll(Direction.IN, Verdict.DROP));
            }
            outs.put(family, List.copyOf(new LinkedHashSet<>(out)));
            ins.put(family, List.copyOf(new LinkedHashSet<>(in)));
        }
        return assemble(outs, ins);
    }

    /** Deny everything but loopback, both families (used to fail closed). */
    public PlannedRules quarantine() {
        Map<Family, List<Rule>> outs = new EnumMap<>(Family.class);
        Map<Family, List<Rule>> ins = new EnumMap<>(Family.class);
        for (Family family : Family.values()) {
            outs.put(family, List.of(Rule.loopback(Direction.OUT), Rule.catchAll(Direction.OUT, Verdict.REJECT)));
            ins.put(family, List.of(Rule.loopback(Direction.IN), Rule.catchAll(Direction.IN, Verdict.DROP)));
        }
        return assemble(outs, ins);
    }

    private static List<Cidr> addressesOf(
            Endpoint endpoint, Family family, Map<String, List<InetAddress>> resolvedHostnames) {
        if (!endpoint.isHostname()) {
            return endpoint.family() == family ? List.of(hostCidr(endpoint.host(), family)) : List.of();
        }
        List<InetAddress> addresses = resolvedHostnames.get(endpoint.host());
        if (addresses == null || addresses.isEmpty()) {
            throw new IllegalArgumentException("hostname " + endpoint.host() + " has no resolved addresses");
        }
        List<Cidr> out = new ArrayList<>();
        for (InetAddress a : addresses) {
            Family f = a.getAddress().length == 4 ? Family.IPV4 : Family.IPV6;
            if (f == family) {
                out.add(hostCidr(IpAddresses.format(a), f));
            }
        }
        return out;
    }

    private static Cidr hostCidr(String canonicalAddress, Family family) {
        return new Cidr(canonicalAddress, family == Family.IPV4 ? 32 : 128, family);
    }

    private static PlannedRules assemble(Map<Family, List<Rule>> outs, Map<Family, List<Rule>> ins) {
        StringBuilder canonical = new StringBuilder();
        for (Family family : Family.values()) {
            canonical.append(family.wire()).append('\n');
            outs.get(family).forEach(r -> canonical.append(r).append('\n'));
            ins.get(family).forEach(r -> canonical.append(r).append('\n'));
        }
        String digest = "sha256:" + PolicyDigest.sha256Hex(canonical.toString());
        Map<Family, RuleSet> byFamily = new EnumMap<>(Family.class);
        for (Family family : Family.values()) {
            byFamily.put(family, new RuleSet(family, outs.get(family), ins.get(family), digest));
        }
        return new PlannedRules(byFamily, digest);
    }
}
