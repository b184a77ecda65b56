package dev.netfence.hostguard;

import dev.netfence.policy.Family;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.Rule;
import dev.netfence.rules.Transport;
import dev.netfence.rules.Verdict;
import java.util.ArrayList;
import java.util.List;

/**
 * Lines of the host guard's chain body that depend on what a plan leaves open rather than on one
 * rule of it ({@link GuardRenderer#rules} places them): what only a router sends, dropped where a
 * family's egress is open, and the TCP-with-ACK accept that stands in for the "established"
 * accept where inbound is open. A class of their own so the renderer keeps to translating the
 * plan's rules; as {@code nft list} prints them, without the comment. Stateless.
 */
final class GuardEgress {
    private GuardEgress() {
    }

    /**
     * The inbound-open plan's stand-in for the "established" accept: a TCP segment with ACK set,
     * but not in a frame to a broadcast or multicast MAC, nor to a broadcast or multicast
     * destination (IPv4 224.0.0.0/4, 255.255.255.255 and what the host's own table types as a
     * broadcast, such as the bridge subnet's, which a host with {@code bc_forwarding} sends to every
     * port; IPv6 ff00::/8), nor a fragment (IPv4: any but a first one, whose TCP header nft reads
     * from what a later fragment carries at that place; IPv6: any, as nft reads a non-first
     * fragment's "flags" out of its IPv6 header). No TCP connection has such a peer and Linux sends
     * no fragmented segment, so no reply needs them, and without these conditions a raw-socket
     * workload's ACK segments went to every port of the bridge (review 54a #4, 56 #2, #3); they now
     * go on to the rules after, which judge them by their destination. A frame to a MAC the bridge
     * has not learnt is still flooded to every port, as the bridge does with any frame (the README
     * says so). As {@code nft list} prints it (without the {@code meta protocol} the address match
     * implies, {@code 0x1fff} as 8191).
     */
    static String ackAccept(Family family) {
        String notLinkWide = family == Family.IPV4
                ? "ip daddr != { 224.0.0.0/4, 255.255.255.255 } ip frag-off & 8191 == 0 fib daddr type != broadcast"
                : "ip6 daddr != ff00::/8 exthdr frag missing";
        return "meta pkttype != { broadcast, multicast } " + notLinkWide + " tcp flags & ack == ack accept";
    }

    /**
     * What only a router sends, dropped where {@code plan} leaves a family's egress open (with it
     * closed the plan's catch-all drops them already; nothing a sandbox needs is among them): for
     * IPv4, IGMP membership queries and multicast router advertisements (48); for IPv6, MLD
     * queries, router advertisements, redirects, router renumbering and multicast router
     * discovery (151-153), and anything behind an authentication header to a multicast group (the
     * bridge's snooping looks past one, nft's transport match does not); for either, PIM. A query,
     * router advertisement or PIM hello makes a snooping bridge take the port for a multicast
     * router's and forward it every group's traffic; a router advertisement draws a neighbour's
     * IPv6 traffic.
     */
    static List<String> routerOnly(PlannedRules plan, String comment) {
        boolean open4 = egressOpen(plan, Family.IPV4);
        boolean open6 = egressOpen(plan, Family.IPV6);
        List<String> out = new ArrayList<>(4);
        if (open4) {
            out.add("meta protocol ip igmp type { membership-query, 48 } drop" + comment);
        }
        if (open6) {
            out.add("icmpv6 type { mld-listener-query, nd-router-advert, nd-redirect, router-renumbering, 151, 152, 153 }"
                    + " drop" + comment);
            out.add("ip6 daddr ff00::/8 meta l4proto ah drop" + comment);
        }
        if (open4 || open6) {
            out.add("meta l4proto pim drop" + comment);
        }
        return out;
    }

    /** Whether {@code plan}'s egress of {@code family} ends without a catch-all drop (outbound on), as {@link GuardRenderer#rules} renders it. */
    private static boolean egressOpen(PlannedRules plan, Family family) {
        if (!plan.families().contains(family)) {
            return false;
        }
        for (Rule rule : plan.forFamily(family).output()) {
            if (rule.destination() == null && rule.transport() == Transport.ANY && !rule.loopback() && !rule.establishedReply()
                    && !rule.nonLocalSource() && !rule.broadcastDestinationOffLoopback() && rule.verdict() != Verdict.ACCEPT) {
                return false;
            }
        }
        return true;
    }
}
