package dev.netfence.nft;

import com.fasterxml.jackson.databind.JsonNode;
import dev.netfence.policy.Cidr;
import dev.netfence.policy.Family;
import dev.netfence.rules.Direction;
import dev.netfence.rules.IcmpNames;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.Rule;
import dev.netfence.rules.RuleSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Writes a {@link PlannedRules} as one nft transaction that replaces netfence's table in a
 * namespace: {@code table inet netfence} (creates it if missing, so the delete cannot fail),
 * {@code delete table inet netfence}, then the whole table with three base chains, {@code output}
 * (hook output), {@code input} (hook input) and {@code forward} (hook forward), all {@code type
 * filter priority filter; policy accept} (the forward chain's rules drop everything: a sandbox is
 * no router, see {@code RulePlanner}). libnftables sends the three as one netlink batch, so a rejected text changes nothing
 * and a re-apply replaces, never appends. One {@code inet} chain carries both families: each
 * family's rules keep exactly the order the planner gave them (IPv4 first, then IPv6), and a rule
 * that does not imply its family by an address, an ICMPv6 type or its reject type is prefixed with
 * {@code meta nfproto ipvX}, so every packet meets exactly the rule sequence the iptables backend
 * gives its family. Each rule is written as {@code nft list} prints it back and carries the same
 * {@code netfence:<12 hex>} comment as the iptables rules; {@link #expected} gives the JSON the
 * read-back must show for each rule, built from the same {@link NftExpr}s. Only returns text;
 * every token comes from validated records. Thread-safe.
 */
public final class NftRenderer {
    public static final String FAMILY = "inet";
    public static final String TABLE = "netfence";
    public static final String OUT_CHAIN = "output";
    public static final String IN_CHAIN = "input";
    public static final String FWD_CHAIN = "forward";

    /** netfence's chains in the order it writes and reads them; each is named after its hook. */
    public static final List<String> CHAINS = List.of(OUT_CHAIN, IN_CHAIN, FWD_CHAIN);


    /** One rule as the read-back must show it: its chain, comment and statements. */
    public record ExpectedRule(String chain, String comment, List<JsonNode> expr, String text) {
        public ExpectedRule {
            expr = List.copyOf(expr);
        }
    }

    /** The transaction that replaces netfence's table with {@code plan}. */
    public String render(PlannedRules plan) {
        Objects.requireNonNull(plan, "plan");
        StringBuilder sb = new StringBuilder(deleteTable());
        sb.append("table ").append(FAMILY).append(' ').append(TABLE).append(" {\n");
        for (Direction direction : Direction.values()) {
            chain(sb, chainOf(direction), rules(plan, direction));
        }
        return sb.append("}\n").toString();
    }

    /** The transaction that removes netfence's table, whether it exists or not. */
    public String deleteTable() {
        return "table " + FAMILY + ' ' + TABLE + "\ndelete table " + FAMILY + ' ' + TABLE + '\n';
    }

    /**
     * The transaction that removes what the iptables backend left in tables nftables can see
     * (iptables-nft): first the jump rules by handle, then the chains, flushed and deleted.
     */
    public String removeIptablesLeftovers(List<NftRuleset.Leftover> leftovers) {
        StringBuilder sb = new StringBuilder();
        for (NftRuleset.Leftover l : leftovers) {
            if (!l.isChain()) {
                sb.append("delete rule ").append(l.family()).append(' ').append(l.table()).append(' ')
                        .append(l.chain()).append(" handle ").append(l.handle()).append('\n');
            }
        }
        for (NftRuleset.Leftover l : leftovers) {
            if (l.isChain()) {
                String chain = l.family() + ' ' + l.table() + ' ' + l.chain();
                sb.append("flush chain ").append(chain).append("\ndelete chain ").append(chain).append('\n');
            }
        }
        return sb.toString();
    }

    /** Every rule of {@code plan} in chain order ({@link #CHAINS}), as the read-back must show it. */
    public List<ExpectedRule> expected(PlannedRules plan) {
        List<ExpectedRule> all = new ArrayList<>();
        for (Direction direction : Direction.values()) {
            all.addAll(rules(plan, direction));
        }
        return List.copyOf(all);
    }

    /** The chain (and hook) of {@code direction}'s rules. */
    public static String chainOf(Direction direction) {
        return switch (direction) {
            case OUT -> OUT_CHAIN;
            case IN -> IN_CHAIN;
            case FORWARD -> FWD_CHAIN;
        };
    }

    /** The comment every rule of {@code plan} carries, the same as the iptables backend's. */
    public static String comment(PlannedRules plan) {
        return "netfence:" + plan.digest().substring("sha256:".length(), "sha256:".length() + 12);
    }

    private static void chain(StringBuilder sb, String name, List<ExpectedRule> rules) {
        sb.append("\tchain ").append(name).append(" {\n");
        sb.append("\t\ttype filter hook ").append(name).append(" priority filter; policy accept;\n");
        for (ExpectedRule rule : rules) {
            sb.append("\t\t").append(rule.text()).append('\n');
        }
        sb.append("\t}\n");
    }

    /**
     * The connection mark of {@code plan}: the first 32 bits of its digest (1 where they are 0, the
     * mark of a connection nothing marked). Every accept of a connection's packets in the original
     * direction sets it on the connection ({@code ct mark set}), and the established accept takes a
     * reply only of a connection that carries it: one whose entry came into the table under another
     * plan (a packet that passed the old rules and was confirmed after the apply's flush) carries
     * the other plan's mark, so its replies are not let in until the workload sends on it again,
     * judged by these rules (review 190 reproduced such an entry: one in about 6,300 applies under
     * load). A plan that did not change keeps its mark, so a re-apply of it cuts no reply.
     */
    public static long mark(PlannedRules plan) {
        long m = Long.parseLong(plan.digest().substring("sha256:".length(), "sha256:".length() + 8), 16);
        return m == 0 ? 1 : m;
    }

    private static List<ExpectedRule> rules(PlannedRules plan, Direction direction) {
        String comment = comment(plan);
        long mark = mark(plan);
        String chain = chainOf(direction);
        List<ExpectedRule> out = new ArrayList<>();
        boolean marked = false; // the chain takes replies by this plan's mark
        for (Family family : plan.families()) {
            RuleSet set = plan.forFamily(family);
            for (Rule rule : set.rules(direction)) {
                List<NftExpr> exprs = exprs(family, rule, mark);
                StringBuilder text = new StringBuilder();
                List<JsonNode> json = new ArrayList<>(exprs.size());
                for (NftExpr e : exprs) {
                    text.append(e.text()).append(' ');
                    json.add(e.json());
                }
                text.append("comment \"").append(comment).append('"');
                out.add(new ExpectedRule(chain, comment, json, text.toString()));
                marked |= rule.establishedReply();
            }
        }
        if (marked) {
            // what reaches the chain's end passes by its policy accept (outbound or inbound on): its connection is this
            // plan's too, or the established accept would turn its replies away (review 192); nothing the plan refuses
            // gets here, so an entry of another plan is marked only by a packet this plan lets through
            NftExpr set = NftExpr.ctMarkSet(mark);
            out.add(new ExpectedRule(chain, comment, List.of(set.json()),
                    set.text() + " comment \"" + comment + '"'));
        }
        return out;
    }

    /** The statements of one rule, in the order nft prints them back; {@code mark}: the plan's ({@link #mark}). */
    static List<NftExpr> exprs(Family family, Rule r, long mark) {
        List<NftExpr> exprs = new ArrayList<>();
        boolean v4 = family == Family.IPV4;
        Cidr d = r.destination();
        boolean hasAddress = d != null && d.prefix() > 0;
        boolean familyImplied = hasAddress || r.icmpType() != null || r.hopLimit() != null
                || r.verdict() == dev.netfence.rules.Verdict.REJECT || r.nonLocalSource() || r.source() != null
                || r.broadcastSourceOffLoopback() || r.broadcastDestinationOffLoopback();
        if (!familyImplied) {
            exprs.add(NftExpr.meta("nfproto", family.wire(), "meta nfproto " + family.wire()));
        }
        Cidr src = r.source();
        if (src != null) {
            String protocol = v4 ? "ip" : "ip6";
            boolean host = src.prefix() == (v4 ? 32 : 128);
            JsonNode right = host ? NftExpr.text(src.address()) : NftExpr.prefix(src.address(), src.prefix());
            exprs.add(NftExpr.payload(protocol, "saddr", right,
                    protocol + " saddr " + src.address() + (host ? "" : "/" + src.prefix())));
        }
        if (hasAddress) {
            String protocol = v4 ? "ip" : "ip6";
            boolean host = d.prefix() == (v4 ? 32 : 128);
            JsonNode right = host ? NftExpr.text(d.address()) : NftExpr.prefix(d.address(), d.prefix());
            exprs.add(NftExpr.payload(protocol, "daddr", right,
                    protocol + " daddr " + d.address() + (host ? "" : "/" + d.prefix())));
        }
        if (r.nonLocalSource()) {
            String protocol = v4 ? "ip" : "ip6";
            String unspecified = v4 ? "0.0.0.0" : "::";
            exprs.add(NftExpr.payloadNot(protocol, "saddr", unspecified, protocol + " saddr != " + unspecified));
            exprs.add(NftExpr.sourceNotLocal());
        }
        if (r.localSourceOffLoopback()) {
            exprs.add(NftExpr.metaNot("iiftype", "loopback", "meta iiftype != loopback"));
            exprs.add(NftExpr.sourceLocal());
        }
        if (r.broadcastSourceOffLoopback()) {
            exprs.add(NftExpr.payloadNot("ip", "saddr", NftExpr.prefix("0.0.0.0", 8), "ip saddr != 0.0.0.0/8"));
            exprs.add(NftExpr.metaNot("iiftype", "loopback", "meta iiftype != loopback"));
            exprs.add(NftExpr.sourceBroadcast());
        }
        if (r.broadcastDestinationOffLoopback()) {
            exprs.add(NftExpr.metaNot("oiftype", "loopback", "meta oiftype != loopback"));
            exprs.add(NftExpr.destinationBroadcast());
        }
        if (r.loopback()) {
            // by the interface's type, not its name: a workload holding CAP_NET_ADMIN can rename
            // its eth0 to "lo" (after renaming lo), and a match on the name would then accept
            // everything on eth0 while the table reads back unchanged; only the loopback device
            // has type loopback (ARPHRD_LOOPBACK), whatever it is called
            String key = r.direction() == Direction.OUT ? "oiftype" : "iiftype";
            exprs.add(NftExpr.meta(key, "loopback", "meta " + key + " loopback"));
            if (r.direction() == Direction.OUT) {
                // sent through lo to a remote address (IP_PKTINFO, SO_BINDTODEVICE: no capability), a packet
                // is delivered locally but leaves a connection-tracking entry the remote host's replies match
                exprs.add(NftExpr.destinationLocal(v4));
            }
        }

        switch (r.transport()) {
            case TCP, UDP -> {
                String proto = r.transport().name().toLowerCase(java.util.Locale.ROOT);
                if (r.sourcePort() != null) {
                    exprs.add(NftExpr.payload(proto, "sport", NftExpr.number(r.sourcePort()),
                            proto + " sport " + r.sourcePort()));
                }
                if (r.port() != null) {
                    exprs.add(NftExpr.payload(proto, "dport", NftExpr.number(r.port()), proto + " dport " + r.port()));
                } else if (r.sourcePort() == null) {
                    exprs.add(NftExpr.meta("l4proto", proto, "meta l4proto " + proto));
                }
                if (r.withoutSyn()) {
                    exprs.add(NftExpr.tcpFlagsWithoutSyn());
                }
            }
            case ICMP -> exprs.add(icmp(r, "icmp", "icmp", r.icmpType() == null ? null : IcmpNames.ipv4(r.icmpType())));
            case ICMPV6 -> exprs.add(icmp(r, "icmpv6", "ipv6-icmp", r.icmpType() == null ? null : IcmpNames.name(r.icmpType())));
            case ANY -> { }
        }
        if (r.hopLimit() != null) {
            String protocol = v4 ? "ip" : "ip6";
            String field = v4 ? "ttl" : "hoplimit";
            exprs.add(NftExpr.payload(protocol, field, NftExpr.number(r.hopLimit()),
                    protocol + " " + field + " " + r.hopLimit()));
        }
        if (r.establishedReply()) {
            exprs.add(NftExpr.ctStateEstablished());
            exprs.add(NftExpr.ctDirectionReply());
            exprs.add(NftExpr.ctMark(mark));
        } else if (r.verdict() == dev.netfence.rules.Verdict.ACCEPT && !r.loopback()) {
            exprs.add(NftExpr.ctMarkSet(mark)); // the connection is this plan's (see mark)
        }
        switch (r.verdict()) {
            case ACCEPT -> exprs.add(NftExpr.verdict("accept"));
            case DROP -> exprs.add(NftExpr.verdict("drop"));
            case REJECT -> exprs.add(NftExpr.rejectPortUnreachable(v4 ? "icmp" : "icmpv6"));
        }
        return exprs;
    }
    /**
     * The ICMP match of {@code r}: its type ({@code protocol type NAME}, the number where nft has
     * no name, {@code name} null) or, without one, the protocol ({@code meta l4proto l4proto}).
     */
    private static NftExpr icmp(Rule r, String protocol, String l4proto, String name) {
        if (r.icmpType() == null) {
            return NftExpr.meta("l4proto", l4proto, "meta l4proto " + l4proto);
        }
        int type = r.icmpType();
        JsonNode right = name != null ? NftExpr.text(name) : NftExpr.number(type);
        return NftExpr.payload(protocol, "type", right, protocol + " type " + (name != null ? name : Integer.toString(type)));
    }
}
