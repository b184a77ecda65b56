package dev.netfence.iptables;

import dev.netfence.policy.Cidr;
import dev.netfence.policy.Family;
import dev.netfence.rules.Direction;
import dev.netfence.rules.Rule;
import dev.netfence.rules.Transport;
import dev.netfence.rules.RuleSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Writes a {@link RuleSet} as {@code iptables-restore --noflush} (or {@code ip6tables-restore})
 * input for the filter table: declare and flush NETFENCE-OUT, NETFENCE-IN and NETFENCE-FWD, append
 * their rules, optionally insert the hook jumps at the top of OUTPUT / INPUT / FORWARD, COMMIT. One restore is one
 * kernel transaction, so a rejected input changes nothing and re-applying replaces, never
 * appends. Each rule is written in exactly the form {@code iptables-save} (1.8.9, nft and legacy)
 * prints it back, and carries the comment {@code netfence:<first 12 hex of the plan digest>}, so
 * a read-back can be compared line by line. Only returns text; every token comes from validated
 * records (addresses, numbers, enum names), never from policy strings. Thread-safe.
 */
public final class RestoreRenderer {
    public static final String OUT_CHAIN = "NETFENCE-OUT";
    public static final String IN_CHAIN = "NETFENCE-IN";
    public static final String FWD_CHAIN = "NETFENCE-FWD";
    public static final String OUTPUT_HOOK = "-A OUTPUT -j " + OUT_CHAIN;
    public static final String INPUT_HOOK = "-A INPUT -j " + IN_CHAIN;
    public static final String FORWARD_HOOK = "-A FORWARD -j " + FWD_CHAIN;

    /**
     * Restore input that rewrites the owned chains, inserting the hook rules first in OUTPUT /
     * INPUT / FORWARD when asked (callers ask for a namespace not known to hold them, and repair
     * with {@link #render(RuleSet, FilterState)} what the read-back shows wrong).
     */
    public String render(RuleSet rules, boolean addHooks) {
        Objects.requireNonNull(rules, "rules");
        StringBuilder sb = header(rules);
        if (addHooks) {
            for (Direction direction : Direction.values()) {
                sb.append("-I ").append(builtin(direction)).append(" 1 -j ").append(chain(direction)).append('\n');
            }
        }
        return sb.append("COMMIT\n").toString();
    }

    /** netfence's chain for {@code direction}'s rules. */
    public static String chain(Direction direction) {
        return switch (direction) {
            case OUT -> OUT_CHAIN;
            case IN -> IN_CHAIN;
            case FORWARD -> FWD_CHAIN;
        };
    }

    /** The built-in chain that jumps to {@link #chain}({@code direction}). */
    public static String builtin(Direction direction) {
        return switch (direction) {
            case OUT -> "OUTPUT";
            case IN -> "INPUT";
            case FORWARD -> "FORWARD";
        };
    }

    /** The hook rule of {@code direction} as {@code iptables-save} prints it. */
    public static String hook(Direction direction) {
        return switch (direction) {
            case OUT -> OUTPUT_HOOK;
            case IN -> INPUT_HOOK;
            case FORWARD -> FORWARD_HOOK;
        };
    }

    /**
     * Restore input that rewrites the owned chains and repairs the hooks against
     * {@code current}: nothing when the hook is there exactly once and first; otherwise every
     * existing hook is deleted and one is inserted at position 1 (so a hook pushed down by
     * another program's rule, or duplicated, is put back on top).
     */
    public String render(RuleSet rules, FilterState current) {
        Objects.requireNonNull(rules, "rules");
        Objects.requireNonNull(current, "current");
        StringBuilder sb = header(rules);
        for (Direction direction : Direction.values()) {
            repairHook(sb, direction, current.hookCount(direction), current.hookFirst(direction));
        }
        return sb.append("COMMIT\n").toString();
    }

    /** The rule lines of {@code direction}'s owned chain exactly as {@code iptables-save} prints them. */
    public List<String> lines(RuleSet rules, Direction direction) {
        return lines(rules, rules.rules(direction), chain(direction));
    }

    /** The comment every rule of {@code rules} carries: {@code netfence:} and 12 hex digits. */
    public static String comment(RuleSet rules) {
        return "netfence:" + rules.digest().substring("sha256:".length(), "sha256:".length() + 12);
    }

    private StringBuilder header(RuleSet rules) {
        StringBuilder sb = new StringBuilder("*filter\n");
        for (Direction direction : Direction.values()) {
            sb.append(':').append(chain(direction)).append(" - [0:0]\n");
        }
        for (Direction direction : Direction.values()) {
            sb.append("-F ").append(chain(direction)).append('\n');
        }
        for (Direction direction : Direction.values()) {
            lines(rules, direction).forEach(l -> sb.append(l).append('\n'));
        }
        return sb;
    }

    private static void repairHook(StringBuilder sb, Direction direction, int count, boolean first) {
        if (count == 1 && first) {
            return;
        }
        String builtin = builtin(direction);
        String chain = chain(direction);
        for (int i = 0; i < count; i++) {
            sb.append("-D ").append(builtin).append(" -j ").append(chain).append('\n');
        }
        sb.append("-I ").append(builtin).append(" 1 -j ").append(chain).append('\n');
    }

    private List<String> lines(RuleSet set, List<Rule> rules, String chain) {
        String comment = comment(set);
        List<String> out = new ArrayList<>(rules.size());
        for (Rule r : rules) {
            out.add(line(set.family(), r, chain, comment));
        }
        return List.copyOf(out);
    }

    /**
     * One rule in iptables-save's option order: -s, -d, -i/-o, -p, then the matches in the order they
     * were written (port, address type, ICMPv6 type, hop limit / TTL, conntrack), comment, target.
     */
    private static String line(Family family, Rule r, String chain, String comment) {
        StringBuilder sb = new StringBuilder("-A ").append(chain);
        if (r.nonLocalSource()) { // iptables-save prints -s first
            sb.append(family == Family.IPV4 ? " ! -s 0.0.0.0/32" : " ! -s ::/128");
        }
        if (r.source() != null) {
            sb.append(" -s ").append(r.source().address()).append('/').append(r.source().prefix());
        }
        Cidr d = r.destination();
        if (d != null && d.prefix() > 0) { // iptables-save omits a /0 destination
            sb.append(" -d ").append(d.address()).append('/').append(d.prefix());
        }
        if (r.loopback()) {
            // out: to a local destination only, or (IPv4) a broadcast or multicast one (see Rule). IPv6:
            // LOCAL alone, as ip6tables' addrtype takes MULTICAST as "and multicast" (LOCAL,MULTICAST
            // matched no unicast address, and the REJECT's own ICMPv6 error to the namespace was then
            // refused too); multicast on lo is nft's only. iptables-save prints the match after -o
            sb.append(r.direction() == Direction.IN ? " -i lo" : family == Family.IPV4
                    ? " -o lo -m addrtype --dst-type LOCAL,BROADCAST,MULTICAST" : " -o lo -m addrtype --dst-type LOCAL");
        }
        if (r.nonLocalSource()) {
            sb.append(" -m addrtype ! --src-type LOCAL");
        }
        if (r.localSourceOffLoopback()) {
            sb.append(" ! -i lo -m addrtype --src-type LOCAL");
        }
        if (r.broadcastSourceOffLoopback()) {
            sb.append(" ! -s 0.0.0.0/8 ! -i lo -m addrtype --src-type BROADCAST"); // as iptables-save orders it (no -s or -d here otherwise)
        }
        if (r.broadcastDestinationOffLoopback()) {
            sb.append(" ! -o lo -m addrtype --dst-type BROADCAST");
        }
        switch (r.transport()) {
            case TCP -> sb.append(" -p tcp");
            case UDP -> sb.append(" -p udp");
            case ICMP -> sb.append(" -p icmp");
            case ICMPV6 -> sb.append(" -p ipv6-icmp");
            case ANY -> { }
        }
        if (r.port() != null || r.sourcePort() != null || r.withoutSyn()) {
            String m = r.transport().name().toLowerCase(java.util.Locale.ROOT);
            sb.append(" -m ").append(m);
            if (r.sourcePort() != null) {
                sb.append(" --sport ").append(r.sourcePort().intValue());
            }
            if (r.port() != null) {
                sb.append(" --dport ").append(r.port().intValue());
            }
            if (r.withoutSyn()) {
                sb.append(" ! --tcp-flags SYN SYN");
            }
        }
        if (r.icmpType() != null) {
            sb.append(r.transport() == Transport.ICMP ? " -m icmp --icmp-type " : " -m icmp6 --icmpv6-type ")
                    .append(r.icmpType().intValue());
        }
        if (r.hopLimit() != null) {
            sb.append(family == Family.IPV6 ? " -m hl --hl-eq " : " -m ttl --ttl-eq ").append(r.hopLimit().intValue());
        }
        if (r.establishedReply()) {
            sb.append(" -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY");
        }
        sb.append(" -m comment --comment \"").append(comment).append('"');
        switch (r.verdict()) {
            case ACCEPT -> sb.append(" -j ACCEPT");
            case DROP -> sb.append(" -j DROP");
            case REJECT -> sb.append(" -j REJECT --reject-with ")
                    .append(family == Family.IPV4 ? "icmp-port-unreachable" : "icmp6-port-unreachable");
        }
        return sb.toString();
    }
}
