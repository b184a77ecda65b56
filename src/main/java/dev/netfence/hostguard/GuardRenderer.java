package dev.netfence.hostguard;

import dev.netfence.policy.Family;
import dev.netfence.rules.Direction;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.Rule;
import dev.netfence.rules.RulePlanner;
import dev.netfence.rules.RuleSet;
import dev.netfence.rules.Transport;
import dev.netfence.rules.Verdict;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * Writes the host guard's nft text from the same backend-neutral plan the in-namespace rules
 * come from: one chain per guarded host interface in {@code table netdev netfence}, a base chain
 * on that interface's {@code ingress} hook (priority -500, policy drop), so it sees every frame
 * the container transmits, whatever path it takes next (bridged to a neighbour, routed, or
 * written raw with AF_PACKET, with or without {@code PACKET_QDISC_BYPASS}). The chain holds:
 * first the source binding of the interface's peer ({@link #binding}: its own MAC and addresses
 * as the only sources, per chain), then the plan's body ({@link #rules}, shared by every chain of
 * that plan): VLAN-tagged frames (802.1Q, 802.1ad) dropped, ARP accepted, every other non-IP
 * ethertype dropped, IPv4 to 127.0.0.0/8 dropped (a host with {@code route_localnet=1} would
 * deliver it to its own local services; IPv6 to ::1 the kernel drops), source-routed packets
 * dropped (IPv4 loose and strict source routes, any IPv6 routing header: the
 * destination judged would not be the one a host that follows them goes to), what only a router sends
 * dropped where the plan leaves a family's egress open ({@link GuardEgress#routerOnly}); then, per family (IPv4 first, as the
 * planner orders them), the egress rules of NETFENCE-OUT translated one for one: allowed
 * endpoints and DNS as {@code daddr + dport} accepts, ICMPv6 neighbour discovery and MLD with
 * the model's destination and hop-limit matches, blocked subnets and the
 * outbound catch-all as drops (there is nobody to reject to on this side), and an accept for the
 * family when the plan has no catch-all (outbound on); runs of consecutive rules that differ in
 * one value (endpoints, destinations, ICMPv6 types) are folded into one rule over an anonymous set
 * ({@link GuardLines}: the same filter, a third of the rules to parse and commit). Loopback rules have no meaning on a host
 * interface and are left out. The hook has no connection tracking, so the in-namespace
 * "established" accept becomes, only when the plan leaves inbound open (no catch-all drop on
 * NETFENCE-IN), {@code tcp flags & ack == ack accept} ({@link GuardEgress#ackAccept}: not to a broadcast or multicast destination or MAC, not a fragment): replies
 * of TCP connections the container accepted pass, while no TCP connection can be opened (a SYN has
 * no ACK), UDP and ICMP replies beyond the policy are dropped, and a raw-socket workload can still
 * send ACK-flagged segments to any unicast address (a covert channel to a cooperating receiver, not
 * a connection to an honest server).
 * Every rule carries the plan's {@code netfence:<12 hex>} comment. Text only; every token comes
 * from validated records. Thread-safe.
 */
public final class GuardRenderer {
    public static final String FAMILY = "netdev";
    public static final String TABLE = "netfence";
    public static final int PRIORITY = -500;

    /**
     * The lines that go first in the chain of a host interface whose peer is bound to
     * {@code binding} (none for null: its addresses are not known), as {@code nft list} prints
     * them: frames whose Ethernet source is not the peer's own address dropped; ARP whose sender
     * hardware address is not it, or whose sender IP is neither one of the peer's IPv4 addresses
     * nor 0.0.0.0 (an RFC 5227 probe), dropped; IPv4 from any other source dropped (all IPv4 when
     * the peer has none); IPv6 from any source but the peer's addresses (its link-local one
     * included) and {@code ::} dropped; an ARP probe for any target but the peer's own IPv4
     * addresses dropped (it would fail a neighbour's conflict detection); a neighbour solicitation from {@code ::} (duplicate address
     * detection) for any target but the peer's own addresses dropped (it would fail a neighbour's
     * detection); a neighbour advertisement for any target but the peer's own IPv6 addresses
     * dropped (the target is the address whose neighbour-cache entry it sets, whatever its
     * source); and a neighbour discovery message whose link-layer address option is not the peer's
     * MAC dropped ({@link #linkLayerOptions}). So a
     * workload sending raw frames can neither poison its neighbours' ARP and neighbour caches with
     * another's address nor send as another address. Each line carries
     * {@code plan}'s comment, as every rule of the chain does.
     */
    public List<String> binding(HostSides.Binding binding, PlannedRules plan) {
        return binding(binding, List.of(), plan);
    }

    /**
     * As {@link #binding(HostSides.Binding, PlannedRules)}, the IPv6 addresses of {@code binding}
     * among {@code laterIpv6} (gained after the chain's first apply) in a second lookup of the IPv6
     * source rule: the same filter, and what a restarted netfence reads as the first ones is the
     * first lookup alone.
     */
    public List<String> binding(HostSides.Binding binding, List<String> laterIpv6, PlannedRules plan) {
        Objects.requireNonNull(plan, "plan");
        if (binding == null) {
            return List.of();
        }
        String comment = comment(plan);
        List<String> arp = new ArrayList<>(binding.ipv4().size() + 1);
        arp.add("0.0.0.0");
        arp.addAll(binding.ipv4());
        List<String> ip6 = new ArrayList<>(binding.ipv6().size() + 1);
        ip6.add("::");
        binding.ipv6().stream().filter(a -> !laterIpv6.contains(a)).forEach(ip6::add);
        List<String> later = binding.ipv6().stream().filter(laterIpv6::contains).toList();
        // the target of a neighbour solicitation or advertisement (the 16 bytes after the ICMPv6
        // header's first 8; nft 1.0.6 has no name for it, and prints the number without leading zeros)
        String own = binding.ipv6().isEmpty() ? "" : "@th,64,128 != " + values(binding.ipv6().stream()
                .map(a -> "0x" + new java.math.BigInteger(1, dev.netfence.policy.IpAddresses.parseIpv6(a)).toString(16))
                .toList()) + " ";
        List<String> out = new ArrayList<>(List.of("ether saddr != " + binding.mac() + " drop" + comment,
                "arp saddr ether != " + binding.mac() + " drop" + comment,
                "arp saddr ip != " + values(arp) + " drop" + comment,
                (binding.ipv4().isEmpty() ? "meta protocol ip" : "ip saddr != " + values(binding.ipv4())) + " drop" + comment,
                "ip6 saddr != " + values(ip6) + (later.isEmpty() ? "" : " ip6 saddr != " + values(later)) + " drop" + comment,
                // an ARP probe (RFC 5227, from 0.0.0.0) of its own addresses only: a probe naming a neighbour's
                // address fails that neighbour's conflict detection
                "arp saddr ip 0.0.0.0 " + (binding.ipv4().isEmpty() ? "" : "arp daddr ip != " + values(binding.ipv4()) + " ")
                        + "drop" + comment,
                // duplicate address detection (from ::) of its own addresses only: not a neighbour's tentative one
                "ip6 saddr :: icmpv6 type nd-neighbor-solicit " + own + "drop" + comment,
                // an advertisement sets the neighbour-cache entry of its target: its own addresses only
                "icmpv6 type nd-neighbor-advert " + own + "drop" + comment));
        out.addAll(linkLayerOptions(binding.mac(), comment));
        return List.copyOf(out);
    }

    /**
     * The link-layer address a neighbour discovery message carries in its option (the target's in an
     * advertisement, the sender's in a solicitation from an address): the receiver's neighbour cache
     * takes it for the message's target or source, whatever the frame's own Ethernet source. So the
     * first option, where there is one, must be that option holding the peer's own MAC (type, length
     * 1 and the address: 64 bits from the first option's start, 24 bytes into a neighbour message, 8
     * into a router solicitation; Linux takes the first of duplicated options and ignores the
     * others), and nothing follows it (Linux sends one option at most; an option before it would hide
     * a second one). A message without options (shorter than the offsets) matches none of them. Not
     * for a solicitation from {@code ::} (duplicate address detection): it carries at most a nonce,
     * and a receiver discards one with a link-layer address. Else a workload holding CAP_NET_RAW
     * could map its own address to another's MAC in its neighbours' and the gateway's caches, and
     * have the traffic of its own connections sent to that MAC. And a neighbour discovery message
     * behind an IPv6 extension header is dropped (the first header after the fixed one is not
     * ICMPv6; nft finds the ICMPv6 header past hop-by-hop, routing, destination options and
     * fragment headers, not past AH or ESP, behind which nothing is neighbour discovery to this
     * chain): a fragment header's first fragment may end before the target or the option, which
     * makes the reads above fail (so those rules do not match), and the rest follows in fragments
     * no rule can read (Linux receivers drop reassembled neighbour discovery, RFC 6980; others may
     * not); a hop-by-hop or destination options header carries up to 2 KB of options the rules
     * above never read (options of an unknown type that receivers skip), so a message within
     * their limits would carry a workload's data to every neighbour. No host sends neighbour or
     * router discovery behind an extension header (RFC 4861 defines none for it).
     */
    private static List<String> linkLayerOptions(String mac, String comment) {
        String address = mac.replace(":", "");
        return List.of(
                "icmpv6 type nd-neighbor-advert @th,192,64 != 0x201" + address + " drop" + comment,
                "ip6 saddr != :: icmpv6 type nd-neighbor-solicit @th,192,64 != 0x101" + address + " drop" + comment,
                "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } @th,256,8 0x0-0xff drop" + comment,
                "icmpv6 type nd-router-solicit @th,64,64 != 0x101" + address + " drop" + comment,
                "icmpv6 type nd-router-solicit @th,128,8 0x0-0xff drop" + comment,
                "ip6 nexthdr != ipv6-icmp icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit,"
                        + " nd-neighbor-advert, nd-redirect } drop" + comment);
    }

    /** One value as itself, more as an anonymous set, as nft prints them. */
    private static String values(List<String> values) {
        return values.size() == 1 ? values.get(0) : "{ " + String.join(", ", values) + " }";
    }

    private static String comment(PlannedRules plan) {
        return " comment \"netfence:" + plan.digest().substring("sha256:".length(), "sha256:".length() + 12) + '"';
    }

    /** The chain body for {@code plan}: every rule, in order, as {@code nft list} prints it. */
    public List<String> rules(PlannedRules plan) {
        Objects.requireNonNull(plan, "plan");
        String comment = comment(plan);
        List<String> out = new ArrayList<>();
        // tagged frames first: the kernel untags one VLAN header before this hook, so the rules below
        // would judge the inner frame, which the bridge then passes on with its tag (VLAN hopping)
        out.add("ether type { 8021q, 8021ad } drop" + comment);
        out.add("meta protocol arp accept" + comment);
        out.add("meta protocol != { ip, ip6 } drop" + comment);
        // loopback destinations have no meaning on a host interface, and a host that routes them
        // (route_localnet=1, as kube-proxy sets it) would deliver them to its own local services
        out.add("ip daddr 127.0.0.0/8 drop" + comment);
        // source routes: the destination judged here is not the one a host that follows them
        // (accept_source_route, seg6_enabled) delivers or forwards to. IPv4: every packet with
        // options but one holding exactly a router alert (IGMP reports carry it): nft's option match
        // parses them as a sender must write them, and where the task it runs in lacks CAP_NET_RAW
        // it takes an unknown or security option before an LSRR for an error, so "lsrr exists" was
        // false for a source route written behind one. IPv6: any routing header, not only one with
        // segments left: nft looks at the first only, and a host skips one with none left to follow
        // the next
        out.add("ip hdrlength != { 5, 6 } drop" + comment);
        out.add("ip hdrlength 6 @nh,160,32 != 0x94040000 drop" + comment);
        out.add("exthdr rt exists drop" + comment);
        out.addAll(GuardEgress.routerOnly(plan, comment));
        for (Family family : plan.families()) {
            RuleSet set = plan.forFamily(family);
            boolean inboundOpen = !set.input().contains(Rule.catchAll(Direction.IN, Verdict.DROP));
            boolean closed = false;
            List<Rule> run = new ArrayList<>();
            for (Rule rule : set.output()) {
                if (rule.loopback() || RulePlanner.RUNTIME_LOOPBACK_RESOLVER.equals(rule.destination())) {
                    continue; // loopback destinations are dropped above, whatever the plan
                }
                if (rule.nonLocalSource()) {
                    continue; // a rule on the namespace's sources: this side judges destinations (and, bound, sources)
                }
                if (rule.broadcastDestinationOffLoopback()) {
                    // a subnet's broadcast: typed by the host's own table where the host holds an address of
                    // the subnet (a bridge's gateway), whatever MAC a raw frame carries it to (a neighbour's, a
                    // multicast one the bridge floods); and, for a subnet the host does not hold, by its frame
                    // to the broadcast MAC, which no allowed destination travels in
                    GuardLines.render(family, run).forEach(l -> out.add(l + comment));
                    run.clear();
                    out.add("meta protocol ip fib daddr type broadcast drop" + comment);
                    out.add("meta pkttype broadcast meta protocol ip drop" + comment);
                    continue;
                }
                if (rule.establishedReply()) {
                    GuardLines.render(family, run).forEach(l -> out.add(l + comment));
                    run.clear();
                    if (inboundOpen) {
                        out.add(GuardEgress.ackAccept(family) + comment);
                    }
                } else {
                    run.add(rule);
                }
                closed |= rule.destination() == null && rule.transport() == Transport.ANY && !rule.loopback()
                        && !rule.establishedReply() && rule.verdict() != Verdict.ACCEPT;
            }
            GuardLines.render(family, run).forEach(l -> out.add(l + comment));
            if (!closed) {
                out.add("meta protocol " + proto(family) + " accept" + comment);
            }
        }
        return out;
    }

    /**
     * The transaction that installs or replaces the guards of {@code chains} with {@code plan}:
     * creates the table if missing; a chain in {@code recreate} (its interface name was reused,
     * or it belonged to another container) is deleted first; each chain is created if missing,
     * flushed and refilled. One nft transaction: the kernel switches every chain at once, and a
     * rejected text changes nothing. The rules are written inside an {@code add chain} block, not
     * as {@code add rule} commands: nft loads only the host's table list for that, where an
     * {@code add rule} makes it load every chain, set, object and flowtable of every table in the
     * host namespace first (its cache), whose size grows with the number of guarded containers
     * (200 guarded chains: 4.3 ms of CPU per transaction with add rule, 1.1 ms with the block).
     */
    public String replace(Collection<GuardChain> chains, Collection<String> recreate, PlannedRules plan) {
        return replace(chains, recreate, rules(plan));
    }

    /** {@link #replace(Collection, Collection, PlannedRules)} with the chain body {@link #rules} rendered already. */
    public String replace(Collection<GuardChain> chains, Collection<String> recreate, List<String> body) {
        return replace(chains, recreate, chain -> body);
    }

    /** As {@link #replace(Collection, Collection, List)} with each chain's own body (its source binding first). */
    public String replace(Collection<GuardChain> chains, Collection<String> recreate,
            java.util.function.Function<GuardChain, List<String>> bodies) {
        StringBuilder sb = new StringBuilder("add table " + FAMILY + ' ' + TABLE + '\n');
        for (String name : recreate) {
            sb.append(delete(name));
        }
        for (GuardChain chain : chains) {
            String ref = FAMILY + ' ' + TABLE + ' ' + chain.device();
            sb.append("add chain ").append(ref).append(" { ").append(hook(chain)).append(" comment \"")
                    .append(chain.comment()).append("\"; }\n");
            sb.append("flush chain ").append(ref).append('\n');
            sb.append("add chain ").append(ref).append(" {\n");
            for (String rule : bodies.apply(chain)) {
                sb.append('\t').append(rule).append('\n');
            }
            sb.append("}\n");
        }
        return sb.toString();
    }

    /** The commands that remove one chain (which must exist) of the host table. */
    public String delete(String chain) {
        if (!GuardChain.validDevice(chain)) {
            throw new IllegalArgumentException("not a guard chain name: " + chain);
        }
        String ref = FAMILY + ' ' + TABLE + ' ' + chain;
        return "flush chain " + ref + "\ndelete chain " + ref + '\n';
    }

    /** The table as {@code nft list} would show it with one guard, for {@code netfence plan}. */
    public String show(GuardChain chain, PlannedRules plan) {
        return show(chain, rules(plan));
    }

    private static String show(GuardChain chain, List<String> body) {
        StringBuilder sb = new StringBuilder("table " + FAMILY + ' ' + TABLE + " {\n");
        sb.append("\tchain ").append(chain.device()).append(" {\n");
        sb.append("\t\tcomment \"").append(chain.comment()).append("\"\n");
        sb.append("\t\t").append(hook(chain)).append('\n');
        for (String rule : body) {
            sb.append("\t\t").append(rule).append('\n');
        }
        return sb.append("\t}\n}\n").toString();
    }

    /**
     * What {@code nft list chain netdev netfence <device>} prints for {@code chain} holding
     * {@code plan} (the text of {@link #show}), in the {@link #canonical} form a re-apply compares
     * the kernel's listing in before deciding to write.
     */
    public String listing(GuardChain chain, PlannedRules plan) {
        return listing(chain, rules(plan));
    }

    /** {@link #listing(GuardChain, PlannedRules)} with the chain body {@link #rules} rendered already. */
    public String listing(GuardChain chain, List<String> body) {
        return canonical(show(chain, body));
    }

    /**
     * {@link #listing(GuardChain, List)} of a body whose lines are each in {@link #canonical} form
     * already: the same text, since a set ({@code "{ "} to {@code " }"}) never spans lines and
     * the lines around the body hold none.
     */
    public String listingOfCanonical(GuardChain chain, List<String> canonicalBody) {
        return show(chain, canonicalBody);
    }

    /**
     * {@code listing} with the elements of each anonymous set sorted: nft prints a set's elements
     * in its own order, not the order they were written in.
     */
    public static String canonical(String listing) {
        return GuardLines.canonical(listing);
    }

    /**
     * A short description of how the {@code listed} chain differs from the {@code expected} one:
     * missing, or the first line that differs and the number of lines of each.
     */
    public static String difference(String device, String expected, String listed) {
        if (listed.isBlank()) {
            return "host guard chain " + device + " is missing";
        }
        String[] want = expected.split("\n");
        String[] got = listed.split("\n");
        int i = 0;
        while (i < want.length && i < got.length && want[i].equals(got[i])) {
            i++;
        }
        String first = i < got.length ? "'" + got[i].strip() + "'" : "nothing";
        String wanted = i < want.length ? "'" + want[i].strip() + "'" : "nothing";
        return "host guard chain " + device + " holds " + first + " where netfence wrote " + wanted + " ("
                + Math.max(0, got.length - 6) + " rule lines, " + Math.max(0, want.length - 6) + " written)";
    }

    private static String hook(GuardChain chain) {
        return "type filter hook ingress device \"" + chain.device() + "\" priority " + PRIORITY + "; policy drop;";
    }

    private static String proto(Family family) {
        return family == Family.IPV4 ? "ip" : "ip6";
    }
}
