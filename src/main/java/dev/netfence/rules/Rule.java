package dev.netfence.rules;

import dev.netfence.policy.Cidr;
import java.util.Objects;

/**
 * One backend-neutral firewall rule: the chain it lives in, what it matches and its verdict.
 * Every field is already validated (a {@link Cidr}, a port 1-65535, an ICMPv6 type, a hop
 * limit), so a renderer only formats tokens and never sees policy strings. The static
 * factories are the only shapes the planner produces. A rule matches when every non-null /
 * true field matches (logical AND); a renderer must render every field or refuse the rule, never
 * drop a match silently (a dropped match widens the rule).
 *
 * <p>Fields a renderer must handle: {@code destination} (destination network, on OUT and IN
 * rules alike), {@code source} and {@code sourcePort} (where the packet comes from),
 * {@code withoutSyn} (a TCP segment that opens no connection), {@code transport}, {@code port}
 * (destination port), {@code loopback},
 * {@code nonLocalSource} (a source address that is neither one of the namespace's own nor the
 * unspecified address: nft {@code ip saddr != 0.0.0.0 fib saddr type != local}, iptables
 * {@code ! -s 0.0.0.0/32 -m addrtype ! --src-type LOCAL}, and the IPv6 forms with {@code ::}),
 * {@code establishedReply} (nft {@code ct state established,related ct direction reply}, iptables
 * {@code -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY}), {@code icmpType} (exactly one ICMP type per rule, ICMPv6 or, with transport {@code ICMP}, IPv4's;
 * a type set is several rules), {@code hopLimit} (the IPv6 hop limit, or the IPv4 TTL, must EQUAL the value:
 * iptables {@code -m hl --hl-eq N} / {@code -m ttl --ttl-eq N}, nft {@code ip6 hoplimit N} /
 * {@code ip ttl N}); neighbour-discovery rules use it with 255 so only packets that cannot
 * have crossed a router match (RFC 4861).
 *
 * @param destination destination network, or null for any
 * @param port destination port (TCP/UDP only), or null for any
 * @param loopback match the loopback interface ({@code -o lo} on OUT, {@code -i lo} on IN); on OUT
 *     only to a destination local to the namespace (127.0.0.0/8, ::1, its own addresses), or (IPv4)
 *     a broadcast or multicast one (discovery bound to 127.0.0.1; replies forged "from" a broadcast
 *     address are {@link #broadcastSourceFromOutside()}'s): a socket
 *     may send to any address through {@code lo} ({@code IP_PKTINFO} or {@code SO_BINDTODEVICE},
 *     no capability), and the connection-tracking entry that makes would let the remote host's
 *     datagrams in as replies
 * @param nonLocalSource match a source address that is neither local to the namespace nor unspecified
 * @param establishedReply match a packet of an established (or related) connection travelling in
 *     its reply direction; a packet in the direction of the connection's first one is judged by
 *     the other rules every time
 * @param icmpType ICMP type (transport ICMPV6: an ICMPv6 type; ICMP: an IPv4 ICMP type), or null
 * @param hopLimit exact IPv6 hop limit / IPv4 TTL (1-255), or null for any
 * @param source source network (IN rules: where the packet comes from), or null for any (nft
 *     {@code ip saddr}, iptables {@code -s})
 * @param sourcePort source port (TCP/UDP only), or null for any ({@code tcp sport}, {@code --sport})
 * @param withoutSyn a TCP segment without SYN, one that opens no connection (nft
 *     {@code tcp flags ! syn}, iptables {@code ! --tcp-flags SYN SYN})
 * @param localSourceOffLoopback (IN only) a packet that arrived on an interface other than loopback
 *     from a source address local to the namespace (nft {@code meta iiftype != loopback fib saddr
 *     type local}, iptables {@code ! -i lo -m addrtype --src-type LOCAL})
 * @param broadcastSourceOffLoopback (IN only, IPv4) a packet that arrived on an interface other than
 *     loopback from a broadcast source address other than 0.0.0.0/8 (a subnet's broadcast,
 *     255.255.255.255; the kernel types the whole unspecified network broadcast too, and IGMP
 *     queriers send from 0.0.0.0: nft {@code ip saddr != 0.0.0.0/8 meta iiftype != loopback fib
 *     saddr type broadcast}, iptables {@code ! -i lo ! -s 0.0.0.0/8 -m addrtype --src-type BROADCAST})
 * @param broadcastDestinationOffLoopback (OUT only, IPv4) a packet leaving by an interface other than
 *     loopback to a broadcast destination of the namespace's own subnets (a subnet's broadcast
 *     address, 255.255.255.255): nft {@code meta oiftype != loopback fib daddr type broadcast},
 *     iptables {@code ! -o lo -m addrtype --dst-type BROADCAST}
 */
public record Rule(
        Direction direction,
        Transport transport,
        Cidr destination,
        Integer port,
        boolean loopback,
        boolean nonLocalSource,
        boolean establishedReply,
        Integer icmpType,
        Integer hopLimit,
        Verdict verdict,
        Cidr source,
        Integer sourcePort,
        boolean withoutSyn,
        boolean localSourceOffLoopback,
        boolean broadcastSourceOffLoopback,
        boolean broadcastDestinationOffLoopback) {

    /** The hop limit of a packet that was sent on this link and crossed no router (RFC 4861). */
    public static final int LINK_HOP_LIMIT = 255;

    /** The IPv4 ICMP type of a redirect (RFC 792). */
    public static final int IPV4_REDIRECT = 5;

    public Rule {
        Objects.requireNonNull(direction, "direction");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(verdict, "verdict");
        if (port != null) {
            if (transport != Transport.TCP && transport != Transport.UDP) {
                throw new IllegalArgumentException("port needs transport TCP or UDP, was: " + transport);
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port must be 1-65535, was: " + port);
            }
        }
        if (icmpType != null) {
            if (transport != Transport.ICMPV6 && transport != Transport.ICMP) {
                throw new IllegalArgumentException("icmpType needs transport ICMP or ICMPV6, was: " + transport);
            }
            if (icmpType < 0 || icmpType > 255) {
                throw new IllegalArgumentException("icmpType must be 0-255, was: " + icmpType);
            }
        }
        if (hopLimit != null && (hopLimit < 1 || hopLimit > 255)) {
            throw new IllegalArgumentException("hopLimit must be 1-255, was: " + hopLimit);
        }
        if (sourcePort != null && (transport != Transport.TCP && transport != Transport.UDP
                || sourcePort < 1 || sourcePort > 65535)) {
            throw new IllegalArgumentException("sourcePort needs transport TCP or UDP and 1-65535, was: " + sourcePort);
        }
        if (withoutSyn && transport != Transport.TCP) {
            throw new IllegalArgumentException("withoutSyn needs transport TCP, was: " + transport);
        }
        if (localSourceOffLoopback && direction != Direction.IN) {
            throw new IllegalArgumentException("localSourceOffLoopback needs direction IN, was: " + direction);
        }
        if (broadcastSourceOffLoopback && direction != Direction.IN) {
            throw new IllegalArgumentException("broadcastSourceOffLoopback needs direction IN, was: " + direction);
        }
        if (broadcastDestinationOffLoopback && direction != Direction.OUT) {
            throw new IllegalArgumentException("broadcastDestinationOffLoopback needs direction OUT, was: " + direction);
        }
    }

    /** A rule without the off-loopback broadcast-destination match. */
    public Rule(Direction direction, Transport transport, Cidr destination, Integer port, boolean loopback,
            boolean nonLocalSource, boolean establishedReply, Integer icmpType, Integer hopLimit, Verdict verdict,
            Cidr source, Integer sourcePort, boolean withoutSyn, boolean localSourceOffLoopback,
            boolean broadcastSourceOffLoopback) {
        this(direction, transport, destination, port, loopback, nonLocalSource, establishedReply, icmpType, hopLimit,
                verdict, source, sourcePort, withoutSyn, localSourceOffLoopback, broadcastSourceOffLoopback, false);
    }

    /** A rule without the off-loopback broadcast-source match. */
    public Rule(Direction direction, Transport transport, Cidr destination, Integer port, boolean loopback,
            boolean nonLocalSource, boolean establishedReply, Integer icmpType, Integer hopLimit, Verdict verdict,
            Cidr source, Integer sourcePort, boolean withoutSyn, boolean localSourceOffLoopback) {
        this(direction, transport, destination, port, loopback, nonLocalSource, establishedReply, icmpType, hopLimit,
                verdict, source, sourcePort, withoutSyn, localSourceOffLoopback, false);
    }

    /** A rule without the off-loopback local-source match. */
    public Rule(Direction direction, Transport transport, Cidr destination, Integer port, boolean loopback,
            boolean nonLocalSource, boolean establishedReply, Integer icmpType, Integer hopLimit, Verdict verdict,
            Cidr source, Integer sourcePort, boolean withoutSyn) {
        this(direction, transport, destination, port, loopback, nonLocalSource, establishedReply, icmpType, hopLimit,
                verdict, source, sourcePort, withoutSyn, false, false);
    }

    /** A rule on the destination side only: no source, source port or TCP flag match. */
    public Rule(Direction direction, Transport transport, Cidr destination, Integer port, boolean loopback,
            boolean nonLocalSource, boolean establishedReply, Integer icmpType, Integer hopLimit, Verdict verdict) {
        this(direction, transport, destination, port, loopback, nonLocalSource, establishedReply, icmpType, hopLimit,
                verdict, null, null, false);
    }

    /** Accept what the loopback interface carries (out: to a local destination, see {@code loopback}). */
    public static Rule loopback(Direction direction) {
        return new Rule(direction, Transport.ANY, null, null, true, false, false, null, null, Verdict.ACCEPT);
    }

    /**
     * Drop what the namespace sends from a source address that is neither one of its own nor the
     * unspecified address (duplicate-address detection, router solicitations and MLD send from
     * it before an address is ready). A socket may send from any IPv6 address with
     * {@code IPV6_FREEBIND}, no capability needed (IPv4 needs {@code IP_TRANSPARENT} or a raw
     * socket): a datagram "from" a forbidden host D to the workload's own address (over
     * {@code lo}) or to a destination the policy allows (a trusted resolver's port 53) creates a
     * connection-tracking entry whose reply direction, the workload (or that destination's
     * address) to D, then passes every "established" accept ahead of the blocked subnets. First in
     * OUTPUT, before anything accepts. (A frame a workload holding CAP_NET_RAW writes with a packet
     * socket passes no OUTPUT hook at all: that capability is a reported risk, held by the host
     * guard.)
     */
    public static Rule foreignSource() {
        return new Rule(Direction.OUT, Transport.ANY, null, null, false, true, false, null, null, Verdict.DROP);
    }

    /**
     * Drop what arrives on an interface other than loopback from one of the namespace's own
     * addresses. IPv6 delivers such a packet (IPv4 drops it as a martian), and connection tracking
     * takes it for the reply of a flow the workload opened to itself: a socket connected from its
     * own address and port X to its own address and port Y (sent over {@code lo}, accepted there)
     * makes a forbidden host's datagrams "from" Y to X, forged with {@code IPV6_FREEBIND}, replies
     * that pass the established accept however closed inbound is (reproduced as an unprivileged
     * user: a stream of datagrams from a host the policy forbids). First in INPUT, before anything
     * accepts; the mirror of {@link #foreignSource()}.
     */
    public static Rule ownSourceFromOutside() {
        return new Rule(Direction.IN, Transport.ANY, null, null, false, false, false, null, null, Verdict.DROP,
                null, null, false, true);
    }

    /**
     * (IPv4) Drop what arrives on an interface other than loopback from a broadcast source address.
     * The loopback accept takes what the workload sends through {@code lo} to a broadcast address
     * ({@code SO_BINDTODEVICE}, no capability), and connection tracking then takes a datagram
     * "from" that broadcast address and port, forged by a neighbour or by a forbidden host routed
     * in (a namespace with {@code rp_filter} off, as it inherits from a host with it off, does not
     * refuse the source), for a reply that passes the established accept however closed inbound is
     * (reproduced as an unprivileged user). No unicast host sends from a broadcast address. Not
     * from 0.0.0.0/8, which the kernel also types broadcast: IGMP general queries and DHCP requests
     * come from 0.0.0.0, and a source there is a martian toward the workload's own address anyway.
     * Right after {@link #ownSourceFromOutside()}, before anything accepts.
     */
    public static Rule broadcastSourceFromOutside() {
        return new Rule(Direction.IN, Transport.ANY, null, null, false, false, false, null, null, Verdict.DROP,
                null, null, false, false, true);
    }

    /**
     * (IPv4, OUT) Reject what leaves by an interface other than loopback to a broadcast address of
     * the namespace's own subnets: a subnet's broadcast address (10.88.255.255 on podman's bridge)
     * reaches every host of the link that holds an address of that subnet, whatever part of it the
     * blocked subnets name, and the planner cannot know the container's prefixes. Through lo such
     * a packet is delivered locally ({@link #loopback}).
     */
    public static Rule broadcastToOutside() {
        return new Rule(Direction.OUT, Transport.ANY, null, null, false, false, false, null, null, Verdict.REJECT,
                null, null, false, false, false, true);
    }

    /**
     * Accept the replies of connections that are already established (or related to one): what
     * answers a packet the rules let through. Only the reply direction: a connection-tracking
     * entry can outlive the flush that ends an apply (a packet that passed OUTPUT under the old
     * rules is entered in the table only as it leaves, after POSTROUTING, so one preempted in
     * between, or on another core during the commit and the flush, enters its entry after the
     * flush), and what the workload sends on such a connection must still meet the rules in force.
     */
    public static Rule established(Direction direction) {
        return new Rule(direction, Transport.ANY, null, null, false, false, true, null, null, Verdict.ACCEPT);
    }

    /**
     * Accept one ICMPv6 neighbour-discovery message type (133-136) with hop limit 255, to
     * {@code destination} (null: any destination, used on IN where the destination is this host).
     */
    public static Rule neighbourDiscovery(Direction direction, int type, Cidr destination) {
        if (type < 133 || type > 136) {
            throw new IllegalArgumentException("neighbour discovery types are 133-136, was: " + type);
        }
        return new Rule(direction, Transport.ICMPV6, destination, null, false, false, false, type, LINK_HOP_LIMIT,
                Verdict.ACCEPT);
    }

    /**
     * Drop an inbound router advertisement (ICMPv6 134) or redirect (137), from anyone. The kernel
     * takes an advertisement from any link-local neighbour (with its default {@code accept_ra}): a
     * prefix gives the sandbox an address of the sender's choosing, a default route sends its
     * allowed IPv6 traffic through the sender, an MTU shrinks its packets, and the options it does
     * not act on (recursive DNS servers, search lists, PREF64, a captive portal) are handed to every
     * process that joins a netlink group with no capability: a channel into the sandbox from a
     * neighbour the policy forbids (reproduced, 1 KB of chosen bytes per advertisement). A redirect
     * (from a neighbour that forges the router's link-local address) moves a destination's traffic
     * to the neighbour the same way. Container runtimes configure IPv6 statically, so a sandbox takes
     * neither, whatever its {@code inbound} says.
     */
    public static Rule routingMessageDropped(int type) {
        if (type != 134 && type != 137) {
            throw new IllegalArgumentException("routing messages dropped are types 134 and 137, was: " + type);
        }
        return new Rule(Direction.IN, Transport.ICMPV6, null, null, false, false, false, type, null, Verdict.DROP);
    }

    /**
     * Drop an inbound IPv4 ICMP redirect (type 5), from anyone, ahead of the established accept.
     * Connection tracking files a redirect whose quoted header is one of the sandbox's flows as
     * related to it, in the reply direction, so the established accept takes it with inbound
     * closed too; where the node leaves {@code accept_redirects} on (the kernel's default, which a
     * container's namespace inherits) the kernel then sends that destination's traffic to the
     * gateway the redirect names, any address on the link ({@code shared_media}, on by default): a
     * neighbour that forges the gateway's address moves the sandbox's allowed IPv4 traffic through
     * itself (reproduced: {@code ip route get} reads {@code <redirected>}). A sandbox's routes are
     * its runtime's, whatever its {@code inbound} says.
     */
    public static Rule redirectDropped() {
        return new Rule(Direction.IN, Transport.ICMP, null, null, false, false, false, IPV4_REDIRECT, null,
                Verdict.DROP);
    }

    /** Accept one ICMPv6 multicast-listener (MLD) message type (130-132, 143) to {@code destination}. */
    public static Rule multicastListener(Direction direction, int type, Cidr destination) {
        if (type != 143 && (type < 130 || type > 132)) {
            throw new IllegalArgumentException("multicast listener types are 130-132 and 143, was: " + type);
        }
        Objects.requireNonNull(destination, "destination");
        return new Rule(direction, Transport.ICMPV6, destination, null, false, false, false, type, null, Verdict.ACCEPT);
    }

    /** Accept outbound traffic to {@code destination} on {@code transport} port {@code port}. */
    public static Rule allowOut(Cidr destination, Transport transport, int port) {
        Objects.requireNonNull(destination, "destination");
        return new Rule(Direction.OUT, transport, destination, port, false, false, false, null, null, Verdict.ACCEPT);
    }

    /**
     * Accept, inbound, a TCP segment from an allowed endpoint {@code endpoint}:{@code port} that
     * opens no connection (no SYN). The flush that ends every apply forgets the workload's
     * connections; when the endpoint's segment comes first after it (a download: the workload
     * only receives), the table takes it for a new connection from the endpoint, which a closed
     * inbound side would drop, stalling the download until the workload sends. A segment without
     * SYN cannot open a connection to a listening socket (it is answered with a reset), so this
     * lets through only the endpoint's side of a connection the workload made; its own packets on
     * it are then replies.
     */
    public static Rule resumeFrom(Cidr endpoint, int port) {
        Objects.requireNonNull(endpoint, "endpoint");
        return new Rule(Direction.IN, Transport.TCP, null, null, false, false, false, null, null, Verdict.ACCEPT,
                endpoint, port, true);
    }

    /** Reject outbound traffic to a blocked subnet. */
    public static Rule rejectOut(Cidr destination) {
        Objects.requireNonNull(destination, "destination");
        return new Rule(Direction.OUT, Transport.ANY, destination, null, false, false, false, null, null, Verdict.REJECT);
    }

    /** Drop inbound traffic to {@code destination} (a loopback address the workload must not reach by injecting frames). */
    public static Rule dropIn(Cidr destination) {
        Objects.requireNonNull(destination, "destination");
        return new Rule(Direction.IN, Transport.ANY, destination, null, false, false, false, null, null, Verdict.DROP);
    }

    /** The chain's final catch-all rule. */
    public static Rule catchAll(Direction direction, Verdict verdict) {
        return new Rule(direction, Transport.ANY, null, null, false, false, false, null, null, verdict);
    }
}
