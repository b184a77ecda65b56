package dev.netfence.policy;

import java.util.List;

/**
 * The seed's named policies, and its default blocked-subnet list. {@link #defaultPolicy()} is
 * {@code DefaultNetworkPolicy()} and {@link #hipaa(List)} is {@code HIPAACompliantPolicy(allowlist)},
 * field for field, except that hipaa blocks {@code ::/0} next to {@code 0.0.0.0/0} so IPv6 is
 * not left open, and that the default list is deliberately wider than the seed's three private
 * IPv4 ranges: it adds the IPv6 unique-local and link-local ranges, and the special ranges a
 * sandbox has no business reaching (the seed missed them): link-local 169.254.0.0/16 (the cloud
 * metadata service at 169.254.169.254), carrier-grade NAT
 * 100.64.0.0/10, "this network" 0.0.0.0/8, multicast 224.0.0.0/4, reserved and broadcast
 * 240.0.0.0/4, NAT64 64:ff9b::/96 (which reaches private IPv4 through a translator), IPv4-mapped
 * ::ffff:0:0/96 and IPv6 multicast ff00::/8 (neighbour discovery and MLD to ff02::/16 are
 * accepted before the blocked subnets, so they keep working).
 */
public final class Presets {
    private static final List<Cidr> DEFAULT_BLOCKED = List.of(
            cidr("10.0.0.0/8"), cidr("172.16.0.0/12"), cidr("192.168.0.0/16"),
            cidr("169.254.0.0/16"), cidr("100.64.0.0/10"), cidr("0.0.0.0/8"), cidr("224.0.0.0/4"), cidr("240.0.0.0/4"),
            cidr("fc00::/7"), cidr("fe80::/10"),
            cidr("64:ff9b::/96"), cidr("::ffff:0:0/96"), cidr("ff00::/8"));

    // The seed blocks 0.0.0.0/0, which only covers IPv4; ::/0 blocks IPv6 the same way, so a
    // HIPAA sandbox cannot reach the internet over IPv6 either.
    private static final List<Cidr> HIPAA_BLOCKED = List.of(
            new Cidr("0.0.0.0", 0, Family.IPV4),
            new Cidr("::", 0, Family.IPV6));

    // Where no hostname's address belongs, whatever the policy blocks: "this network", loopback
    // (the sandbox's own is open anyway; its NAT64 form 64:ff9b::7f00:1 is a translator's own), link-local
    // (the cloud metadata service at 169.254.169.254), the metadata services elsewhere (Azure's
    // WireServer 168.63.129.16, Alibaba's 100.100.100.200, AWS's fd00:ec2::254), multicast,
    // reserved and broadcast, IPv4-mapped, and RFC 8215's local-use NAT64 prefix (64:ff9b:1::/48:
    // a translator into internal IPv4, where the IPv4 address's place depends on a prefix length
    // netfence does not know), and the IPv6 transition ranges that carry an IPv4 destination to
    // whatever relays or decapsulates them on the way (a 6to4 or ISATAP tunnel of the node, a
    // Teredo client, a SIIT translator): 6to4 2002::/16, Teredo 2001::/32, IPv4-compatible ::/96
    // (deprecated; it holds ::1 and ::, which loopback reaches anyway) and IPv4-translated
    // ::ffff:0:0:0/96. An answer there is a misconfiguration, a DNS rebinding or a way around the
    // blocked subnets, never a service today.
    // RulePlanner also judges a well-known NAT64 answer (64:ff9b::/96) by the IPv4 address inside it.
    private static final List<Cidr> NEVER_FOR_HOSTNAMES = List.of(
            cidr("0.0.0.0/8"), cidr("127.0.0.0/8"), cidr("169.254.0.0/16"), cidr("168.63.129.16/32"),
            cidr("100.100.100.200/32"), cidr("224.0.0.0/4"), cidr("240.0.0.0/4"), cidr("fe80::/10"), cidr("fd00:ec2::254/128"),
            cidr("fd00:ec2::23/128"), cidr("fd20:ce::254/128"), cidr("::ffff:0:0/96"), cidr("ff00::/8"),
            cidr("64:ff9b:1::/48"), cidr("2002::/16"), cidr("2001::/32"), cidr("::/96"), cidr("::ffff:0:0:0/96"));

    // Where the clouds' instance metadata and credential services answer: IPv4 link-local (AWS,
    // GCP, Azure, OCI, OpenStack at 169.254.169.254, ECS and EKS credentials at 169.254.170.x),
    // Azure's WireServer 168.63.129.16 (the guest agent's endpoints, which hand out the VM's
    // extension settings, where AKS kept its nodes' cluster-join secrets; it is also Azure's DNS: a
    // resolver trusted there keeps udp and tcp 53, whose accepts come first), Alibaba's
    // 100.100.100.200, AWS's fd00:ec2::254 and EKS Pod Identity's fd00:ec2::23, GCP's
    // fd20:ce::254 and OpenStack's fe80::a9fe:a9fe. Every plan rejects them, whatever its list: a
    // list written without them (the seed's three private ranges) must not hand a sandbox the
    // node's cloud credentials. A literal endpoint there stays the author's explicit exception.
    private static final List<Cidr> METADATA = List.of(
            cidr("169.254.0.0/16"), cidr("168.63.129.16/32"), cidr("100.100.100.200/32"), cidr("fd00:ec2::254/128"),
            cidr("fd00:ec2::23/128"), cidr("fd20:ce::254/128"), cidr("fe80::a9fe:a9fe/128"));

    // IPv4 loopback off the loopback interface: the sandbox's own loopback traffic goes through lo,
    // whose accept comes first; a datagram to 127.0.0.1 sent out eth0 (SO_BINDTODEVICE, IP_PKTINFO:
    // no capability needed) leaves by the default route, and a next hop with route_localnet on
    // (kube-proxy in iptables mode sets it on nodes: CVE-2020-8558's class) hands it to its own
    // loopback services (the node's Kafka, kubelet, netfence's HTTP port when bound to 127.0.0.1).
    // Every plan rejects it, whatever its list, after its literal endpoints.
    private static final List<Cidr> LOOPBACK = List.of(cidr("127.0.0.0/8"));

    // Destinations that reach hosts by the link, not by their address: IPv4 multicast, the limited
    // broadcast 255.255.255.255, IPv6 link-local unicast and IPv6 multicast (neighbour discovery
    // and MLD to fe80::/10 and ff02::/16 are accepted before the blocked subnets; an IPv6 default
    // route through a link-local gateway carries other destinations). A datagram there reaches
    // every listener on the link (and, multicast, beyond it where a router forwards the group), a
    // link-local address any host of the link whatever its other addresses, those in the blocked
    // subnets included: a list written without them (the seed's three private ranges, or IPv6
    // ranges of its own, which leave the default list's fe80::/10 out) must not leave that open. Every plan rejects them, whatever its list, after its
    // literal endpoints (a literal multicast endpoint stays the author's exception).
    private static final List<Cidr> LINK_WIDE = List.of(cidr("224.0.0.0/4"), cidr("255.255.255.255/32"),
            cidr("fe80::/10"), cidr("ff00::/8"));
    private static final List<Cidr> ALWAYS_BLOCKED = java.util.stream.Stream.of(METADATA, LOOPBACK, LINK_WIDE)
            .flatMap(List::stream).toList();

    private Presets() {}

    /**
     * The ranges an address a hostname resolved to is never allowed in, whatever the policy's
     * blocked subnets (a literal endpoint there stays the author's explicit choice).
     */
    public static List<Cidr> neverForHostnames() {
        return NEVER_FOR_HOSTNAMES;
    }

    /**
     * What every plan rejects whatever its list, after the list's own entries: the metadata ranges,
     * then IPv4 loopback (127.0.0.0/8), which only the loopback interface may carry, then the
     * link-wide destinations (224.0.0.0/4, 255.255.255.255/32, fe80::/10, ff00::/8).
     */
    public static List<Cidr> alwaysBlocked() {
        return ALWAYS_BLOCKED;
    }

    /** A CIDR in canonical form (as iptables-save prints it back: {@code ::ffff:0.0.0.0/96}). */
    private static Cidr cidr(String text) {
        return PolicyValues.cidr(text).value();
    }

    /** The seed's private ranges widened on purpose (see the class comment). */
    public static List<Cidr> defaultBlockedSubnets() {
        return DEFAULT_BLOCKED;
    }

    /**
     * The blocked subnets a policy's written list stands for, family by family, so that a list
     * written with one family in mind (the seed's lists are IPv4 only) leaves the other closed
     * rather than open: an empty list is the default list; a family the list names nothing of
     * is blocked whole where the list blocks all of IPv4, as the seed's {@code 0.0.0.0/0} does (it
     * meant everything, as {@link #hipaa} reads it; two {@code /1}s mean the same), else it gets the default list's ranges of that family (so
     * {@code ::/0} alone, written to turn IPv6 off, leaves IPv4 its default ranges). The written
     * entries come first, in their order.
     */
    public static List<Cidr> blockedSubnetsFor(List<Cidr> written) {
        if (written.isEmpty()) {
            return DEFAULT_BLOCKED;
        }
        List<Cidr> all = new java.util.ArrayList<>(written);
        for (Family family : Family.values()) {
            if (written.stream().anyMatch(c -> c.family() == family)) {
                continue;
            }
            if (family == Family.IPV6 && Cidr.coverFamily(written, Family.IPV4)) {
                all.add(HIPAA_BLOCKED.get(1));
            } else {
                DEFAULT_BLOCKED.stream().filter(c -> c.family() == family).forEach(all::add);
            }
        }
        return List.copyOf(all);
    }

    /** The seed's {@code DefaultNetworkPolicy}: mode none, nothing allowed, all flags off. */
    public static NetworkPolicy defaultPolicy() {
        return new NetworkPolicy(NetworkMode.NONE, List.of(), DEFAULT_BLOCKED, false, false, false);
    }

    /**
     * The seed's {@code HIPAACompliantPolicy}: bridge mode, everything blocked but the allowlist;
     * DNS and outbound on only when the allowlist is non-empty; never inbound.
     */
    public static NetworkPolicy hipaa(List<Endpoint> allowlist) {
        return hipaa(allowlist, List.of());
    }

    /** {@link #hipaa(List)} with the resolvers the policy's author trusts for its DNS. */
    public static NetworkPolicy hipaa(List<Endpoint> allowlist, List<java.net.InetAddress> dnsServers) {
        boolean any = !allowlist.isEmpty();
        return new NetworkPolicy(NetworkMode.BRIDGE, allowlist, HIPAA_BLOCKED, any, any, false, dnsServers);
    }
}
