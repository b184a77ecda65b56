package dev.netfence.rules;

import dev.netfence.policy.Cidr;
import dev.netfence.policy.Endpoint;
import dev.netfence.policy.Family;
import dev.netfence.policy.IpAddresses;
import dev.netfence.policy.NetworkMode;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyDigest;
import dev.netfence.policy.PolicyValues;
import dev.netfence.policy.Presets;
import dev.netfence.policy.Protocol;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Plans the rules of a validated policy for both IP families, in the fixed order of docs/contracts.md, "Rules".
 * NETFENCE-OUT: a drop of what is sent from a source address that is not the namespace's own
 * ({@link Rule#foreignSource}: it would forge an "established" connection to any host), (IPv4) a
 * reject of {@link #RUNTIME_LOOPBACK_RESOLVER} unless it is a trusted resolver of a policy with DNS
 * on, loopback, established/related, (IPv6) neighbour discovery and MLD, allowed
 * endpoints (hostnames through the addresses they resolved to, each to its own family), DNS
 * (udp and tcp 53 to the trusted resolvers, only when the policy allows DNS), blocked subnets
 * (reject: the policy's, then the cloud metadata ranges, IPv4 loopback and the link-wide
 * destinations (multicast, limited broadcast, IPv6 link-local) of {@link Presets#alwaysBlocked()} it does not hold,
 * then, for IPv4 with outbound on and IPv4 not blocked whole, what leaves off loopback to a broadcast address of the
 * namespace's subnets ({@link Rule#broadcastToOutside}: a subnet's broadcast reaches every host of the subnet, whatever
 * part of it the list names), then, for IPv6, the NAT64 forms of the IPv4 ones it does not hold, see {@link
 * #nat64Forms}), then reject-everything when outbound is off. NETFENCE-IN: a drop of what arrives
 * on an interface other than loopback from one of the namespace's own addresses
 * ({@link Rule#ownSourceFromOutside}: it would forge the reply of a flow to itself), (IPv4) a drop of
 * {@link #RUNTIME_LOOPBACK_RESOLVER} where OUT rejects it, loopback, established,
 * (IPv6) neighbour discovery and MLD, then drop-everything when inbound is off.
 *
 * <p>Nothing the container controls decides a rule: the DNS resolvers are the policy's
 * {@code dnsServers} plus the node's ({@code --dns-servers}), never the container's
 * resolv.conf; with none, no DNS rule is planned and the plan carries a warning. Literal
 * endpoints and trusted resolvers sit before the blocked subnets because an operator wrote them
 * (a resolver inside 10.0.0.0/8 must work: that is what trusting it means). An address a
 * hostname resolved to is not the author's choice, so one inside a blocked subnet gets no rule
 * (with a warning); where the policy blocks a whole family (a /0, as the hipaa preset does)
 * hostnames must still reach the internet, so there the addresses are checked against
 * {@link Presets#defaultBlockedSubnets()} instead; and whatever the policy blocks, none may be
 * in {@link Presets#neverForHostnames()} (loopback, link-local, where the cloud metadata service is,
 * multicast, reserved, IPv4 transition), which a custom list may leave out.
 *
 * <p>Neighbour discovery (RFC 4861) is accepted only with hop limit 255: out, neighbour
 * solicitations and advertisements to fe80::/10 or ff02::/16; in, neighbour solicitations and
 * advertisements to this host (INPUT only sees packets addressed to it; a neighbour resolving us
 * from a global address sends to that address). Router advertisements and redirects are dropped
 * in every plan, inbound open or not ({@link Rule#routingMessageDropped}; IPv4's redirects too, ahead
 * of the established accept, which would take one quoting a flow of the sandbox: {@link
 * Rule#redirectDropped}), and router solicitations
 * get no accept of their own (the blocked subnets and the catch-all judge them; the default list
 * rejects ff00::/8): a sandbox's IPv6 configuration is its runtime's. A sandbox is never a router either: it
 * sends no router advertisement and accepts no router solicitation. MLD reports and dones (131, 132, 143) are accepted to ff02::/16 both ways, MLD
 * queries (130) only in: a sandbox is no multicast router either, and a query it sent would make
 * a snooping bridge take its port for a router's and forward it every group's traffic.
 *
 * <p>Mode none keeps the seed's meaning, "no network": only loopback, everything else rejected
 * out and dropped in, whatever the flags say. The quarantine is the same shape: it denies
 * everything but loopback in both families; it deliberately keeps no established rule (so
 * connections opened under a previous policy die) and no neighbour discovery (nothing
 * non-loopback is reachable anyway). Loopback means the workload's own sockets: a runtime's
 * resolver that listens there (Docker's 127.0.0.11) is a way to DNS that no trusted-resolver rule
 * decides, so it is rejected first, in every plan but one that trusts it for DNS, and
 * dropped first on input too: a workload holding CAP_NET_RAW that writes a frame to it on
 * {@code lo} through a packet socket passes no OUTPUT hook, and where {@code route_localnet} is on
 * in the namespace the kernel delivers that frame (elsewhere it drops it as a martian).
 * Identical rules are emitted once.
 *
 * <p>NETFENCE-FWD, in every plan (the quarantine too) and both families, holds one drop: a
 * sandbox is no router. A container's namespace may forward (podman's do, for IPv4), and a
 * workload that held CAP_NET_ADMIN at any time before the apply can have routed a namespace of
 * its own through it (a veth, a masquerade): what it forwards passes neither OUTPUT nor INPUT,
 * so without this drop it would reach what the policy forbids, under an {@code applied} outcome
 * without risks. Pure and thread-safe.
 */
public final class RulePlanner {
    /** NETFENCE-FWD's rules, whatever the policy: everything the namespace would route is dropped. */
    public static final List<Rule> FORWARD = List.of(Rule.catchAll(Direction.FORWARD, Verdict.DROP));

    /** Neighbour-discovery types a sandbox sends: neighbour solicitation/advertisement. */
    public static final List<Integer> NEIGHBOUR_DISCOVERY_OUT = List.of(135, 136);

    /** ICMPv6 types a sandbox drops on input, from anyone: router advertisement, redirect (its routing is its runtime's). */
    public static final List<Integer> ROUTING_MESSAGES_DROPPED_IN = List.of(134, 137);

    /** Neighbour-discovery types a sandbox accepts: neighbour solicitation/advertisement. */
    public static final List<Integer> NEIGHBOUR_DISCOVERY_IN = List.of(135, 136);

    /** MLD a sandbox sends: v1 report, v1 done, v2 report (a query is a multicast router's). */
    public static final List<Integer> MULTICAST_LISTENER_OUT = List.of(131, 132, 143);

    /** MLD a sandbox accepts: query, v1 report, v1 done, v2 report. */
    public static final List<Integer> MULTICAST_LISTENER_IN = List.of(130, 131, 132, 143);

    /** Link-local unicast, where outbound neighbour discovery may go. */
    public static final Cidr LINK_LOCAL = PolicyValues.cidr("fe80::/10").value();

    /** Link-scope multicast, where outbound neighbour discovery and MLD may go. */
    public static final Cidr LINK_MULTICAST = PolicyValues.cidr("ff02::/16").value();

    /** The well-known NAT64 prefix (RFC 6052): an IPv6 address there carries an IPv4 one in its last 32 bits. */
    static final Cidr NAT64 = PolicyValues.cidr("64:ff9b::/96").value();

    /**
     * Docker's embedded resolver on user-defined networks: a socket the daemon opens inside the
     * container's namespace (its own NAT rules there send port 53 on to it), answering container
     * names itself and forwarding the rest to the daemon's upstreams (an upstream on the host's
     * loopback, such as systemd-resolved's, from the host's namespace, out of reach of any rule
     * here). Reached over loopback, so a policy that does not trust it rejects it ahead of the
     * loopback accept.
     */
    public static final Cidr RUNTIME_LOOPBACK_RESOLVER = PolicyValues.cidr("127.0.0.11/32").value();

    /** The destination port of DNS. */
    public static final int DNS_PORT = 53;

    /** The warning of a plan with DNS on and no trusted resolver. */
    public static final String NO_RESOLVER_WARNING = "dns: no trusted resolver is configured (policy dnsServers or"
            + " netfence --dns-servers), so no DNS rule was added; name lookups from the container will fail";

    /**
     * Plans {@code policy}.
     *
     * @param resolvedHostnames the addresses each hostname endpoint resolved to (key: the
     *     endpoint's lower-case host); every hostname endpoint needs a non-empty entry
     * @param nodeDnsServers the resolvers the node's operator trusts ({@code --dns-servers});
     *     DNS is opened to these and the policy's own {@code dnsServers}, only
     * @throws IllegalArgumentException when a hostname endpoint has no resolved address
     */
    public PlannedRules plan(
            NetworkPolicy policy, Map<String, List<InetAddress>> resolvedHostnames, List<InetAddress> nodeDnsServers) {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(resolvedHostnames, "resolvedHostnames");
        Objects.requireNonNull(nodeDnsServers, "nodeDnsServers");
        if (policy.mode() == NetworkMode.NONE) {
            return quarantine();
        }
        Set<String> warnings = new LinkedHashSet<>();
        List<InetAddress> resolvers = trustedResolvers(policy, nodeDnsServers);
        if (policy.dns() && resolvers.isEmpty()) {
            warnings.add(NO_RESOLVER_WARNING);
        }
        List<Cidr> blocked = withAlwaysBlocked(policy.blockedSubnets());
        Map<Family, List<Rule>> outs = new EnumMap<>(Family.class);
        Map<Family, List<Rule>> ins = new EnumMap<>(Family.class);
        for (Family family : Family.values()) {
            List<Rule> out = new ArrayList<>();
            List<Rule> in = new ArrayList<>();
            out.add(Rule.foreignSource());
            in.add(Rule.ownSourceFromOutside());
            if (family == Family.IPV4) {
                in.add(Rule.broadcastSourceFromOutside()); // replies to what the workload sent through lo to a broadcast
            }
            if (family == Family.IPV4 && !(policy.dns() && resolvers.stream()
                    .anyMatch(r -> RUNTIME_LOOPBACK_RESOLVER.contains(r.getAddress())))) {
                out.add(Rule.rejectOut(RUNTIME_LOOPBACK_RESOLVER));
                in.add(Rule.dropIn(RUNTIME_LOOPBACK_RESOLVER));
            }
            out.add(Rule.loopback(Direction.OUT));
            out.add(Rule.established(Direction.OUT));
            in.add(Rule.loopback(Direction.IN));
            if (family == Family.IPV4) {
                in.add(Rule.redirectDropped()); // connection tracking files it as a reply of the flow it quotes
            }
            in.add(Rule.established(Direction.IN));
            if (family == Family.IPV6) {
                linkLocalIcmpv6(out, in);
            }
            List<Cidr> guard = EndpointAddresses.hostnameGuard(policy, family);
            List<Cidr> nat64Guard =
                    family == Family.IPV6 ? EndpointAddresses.hostnameGuard(policy, Family.IPV4) : List.of();
            for (Endpoint endpoint : policy.allowedEndpoints()) {
                Transport transport = endpoint.protocol() == Protocol.UDP ? Transport.UDP : Transport.TCP;
                for (Cidr host : EndpointAddresses.addressesOf(endpoint, family, resolvedHostnames, guard, nat64Guard,
                        warnings)) {
                    out.add(Rule.allowOut(host, transport, endpoint.port()));
                    if (transport == Transport.TCP && !policy.inbound()) {
                        in.add(Rule.resumeFrom(host, endpoint.port())); // its flows picked up again after a flush
                    }
                }
            }
            if (policy.dns()) {
                for (InetAddress resolver : resolvers) {
                    Cidr host = Cidr.host(resolver.getAddress());
                    if (host.family() == family) {
                        out.add(Rule.allowOut(host, Transport.UDP, DNS_PORT));
                        out.add(Rule.allowOut(host, Transport.TCP, DNS_PORT));
                    }
                }
            }
            for (Cidr subnet : blocked) {
                if (subnet.family() == family) {
                    // a /0 "subnet" is everything: the same rule as the catch-all, so it dedupes
                    out.add(subnet.prefix() == 0 ? Rule.catchAll(Direction.OUT, Verdict.REJECT) : Rule.rejectOut(subnet));
                }
            }
            if (family == Family.IPV4 && policy.outbound() && !Cidr.coverFamily(blocked, Family.IPV4)) {
                out.add(Rule.broadcastToOutside()); // a subnet's broadcast, whatever part of the subnet the list names
            }
            if (family == Family.IPV6) {
                nat64Forms(blocked).forEach(subnet -> out.add(Rule.rejectOut(subnet)));
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
        return assemble(outs, ins, List.copyOf(warnings));
    }

    /**
     * The resolvers DNS is opened to for {@code policy} when its {@code dns} is on: the policy's
     * {@code dnsServers}, then the node's, each once.
     */
    public static List<InetAddress> trustedResolvers(NetworkPolicy policy, List<InetAddress> nodeDnsServers) {
        Set<InetAddress> all = new LinkedHashSet<>(policy.dnsServers());
        all.addAll(nodeDnsServers);
        return List.copyOf(all);
    }

    /** Deny everything but loopback (Docker's loopback resolver not even there), both families (used to fail closed). */
    public PlannedRules quarantine() {
        Map<Family, List<Rule>> outs = new EnumMap<>(Family.class);
        Map<Family, List<Rule>> ins = new EnumMap<>(Family.class);
        for (Family family : Family.values()) {
            boolean v4 = family == Family.IPV4;
            outs.put(family, v4
                    ? List.of(Rule.rejectOut(RUNTIME_LOOPBACK_RESOLVER), Rule.loopback(Direction.OUT),
                            Rule.catchAll(Direction.OUT, Verdict.REJECT))
                    : List.of(Rule.loopback(Direction.OUT), Rule.catchAll(Direction.OUT, Verdict.REJECT)));
            ins.put(family, v4
                    ? List.of(Rule.dropIn(RUNTIME_LOOPBACK_RESOLVER), Rule.loopback(Direction.IN),
                            Rule.catchAll(Direction.IN, Verdict.DROP))
                    : List.of(Rule.loopback(Direction.IN), Rule.catchAll(Direction.IN, Verdict.DROP)));
        }
        return assemble(outs, ins, List.of());
    }

    /** Neighbour discovery and MLD as the class comment describes, in a fixed order. */
    private static void linkLocalIcmpv6(List<Rule> out, List<Rule> in) {
        for (int type : NEIGHBOUR_DISCOVERY_OUT) {
            out.add(Rule.neighbourDiscovery(Direction.OUT, type, LINK_LOCAL));
            out.add(Rule.neighbourDiscovery(Direction.OUT, type, LINK_MULTICAST));
        }
        for (int type : ROUTING_MESSAGES_DROPPED_IN) {
            in.add(Rule.routingMessageDropped(type));
        }
        for (int type : NEIGHBOUR_DISCOVERY_IN) {
            in.add(Rule.neighbourDiscovery(Direction.IN, type, null));
        }
        for (int type : MULTICAST_LISTENER_OUT) {
            out.add(Rule.multicastListener(Direction.OUT, type, LINK_MULTICAST));
        }
        for (int type : MULTICAST_LISTENER_IN) {
            in.add(Rule.multicastListener(Direction.IN, type, LINK_MULTICAST));
        }
    }

    /**
     * The NAT64 forms (64:ff9b::/96, RFC 6052) of the IPv4 networks in {@code blocked} that no IPv6
     * network in it holds already: a translator on the way delivers 64:ff9b::a.b.c.d to a.b.c.d,
     * which the IPv4 rules never see, so a list that names IPv6 ranges of its own (and with them
     * keeps the well-known prefix open for NAT64 to the rest of IPv4) still closes its IPv4 ranges
     * there. Lists whose IPv6 part holds 64:ff9b::/96 (the default ranges, {@code ::/0}) get none.
     */
    static List<Cidr> nat64Forms(List<Cidr> blocked) {
        List<Cidr> forms = new ArrayList<>();
        for (Cidr subnet : blocked) {
            if (subnet.family() != Family.IPV4) {
                continue;
            }
            byte[] bytes = IpAddresses.parseIpv6(NAT64.address());
            System.arraycopy(IpAddresses.parseIpv4(subnet.address()), 0, bytes, 12, 4);
            Cidr form = new Cidr(IpAddresses.format(bytes), NAT64.prefix() + subnet.prefix(), Family.IPV6);
            if (!holds(blocked, form)) {
                forms.add(form);
            }
        }
        return forms;
    }

    /** {@code blocked}, then each of {@link Presets#alwaysBlocked()} that none of it holds already. */
    static List<Cidr> withAlwaysBlocked(List<Cidr> blocked) {
        List<Cidr> all = new ArrayList<>(blocked);
        Presets.alwaysBlocked().stream().filter(m -> !holds(blocked, m)).forEach(all::add);
        return all;
    }

    /** Whether a network of {@code networks} holds the whole of {@code network}. */
    private static boolean holds(List<Cidr> networks, Cidr network) {
        byte[] bytes = network.family() == Family.IPV4 ? IpAddresses.parseIpv4(network.address())
                : IpAddresses.parseIpv6(network.address());
        return networks.stream().anyMatch(c -> c.family() == network.family() && c.prefix() <= network.prefix()
                && c.contains(bytes));
    }

    /**
     * A rule as the digest reads it: its record form under the field's name of before IPv4 ICMP
     * types ({@code icmpv6Type}), so a plan whose rules did not change keeps its digest across the
     * upgrade (the quarantine's is embedded in the OCI hook, and a changed digest reads back as drift).
     */
    private static String canonical(Rule r) {
        // as the rule read before its ICMP type field took IPv4's too and before the broadcast-source and
        // broadcast-destination matches: a plan that has none keeps its digest (the quarantine's is in
        // scripts/netfence-hook)
        return r.toString().replace(", icmpType=", ", icmpv6Type=").replace(", broadcastDestinationOffLoopback=false]", "]")
                .replace(", broadcastSourceOffLoopback=false]", "]");
    }

    private static PlannedRules assemble(Map<Family, List<Rule>> outs, Map<Family, List<Rule>> ins, List<String> warnings) {
        StringBuilder canonical = new StringBuilder();
        for (Family family : Family.values()) {
            canonical.append(family.wire()).append('\n');
            outs.get(family).forEach(r -> canonical.append(canonical(r)).append('\n'));
            ins.get(family).forEach(r -> canonical.append(canonical(r)).append('\n'));
            FORWARD.forEach(r -> canonical.append(canonical(r)).append('\n'));
        }
        String digest = "sha256:" + PolicyDigest.sha256Hex(canonical.toString());
        Map<Family, RuleSet> byFamily = new EnumMap<>(Family.class);
        for (Family family : Family.values()) {
            byFamily.put(family, new RuleSet(family, outs.get(family), ins.get(family), FORWARD, digest));
        }
        return new PlannedRules(byFamily, digest, warnings);
    }
}
