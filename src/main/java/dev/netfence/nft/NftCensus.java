package dev.netfence.nft;

import static dev.netfence.nft.NftNetlink.NFT_MSG_GETCHAIN;
import static dev.netfence.nft.NftNetlink.NFT_MSG_GETRULE;
import static dev.netfence.nft.NftNetlink.NFT_MSG_GETSET;
import static dev.netfence.nft.NftNetlink.NFT_MSG_GETSETELEM;
import static dev.netfence.nft.NftNetlink.NFT_MSG_GETTABLE;
import static dev.netfence.nft.NftNetlink.NFT_MSG_NEWRULE;
import static dev.netfence.nft.NftNetlink.NFT_MSG_NEWSET;
import static dev.netfence.nft.NftNetlink.NFT_MSG_NEWSETELEM;
import static dev.netfence.nft.NftNetlink.NFT_MSG_NEWTABLE;
import static dev.netfence.nft.NftNetlink.attr;
import static dev.netfence.nft.NftNetlink.message;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Counts, over raw netlink and without listing anything, what netfence's read-back reads in the
 * namespace the calling thread is in, so that a read-back never costs more than netfence's own
 * plan: a workload holding CAP_NET_ADMIN can fill its namespace's ruleset (100,000 rules made
 * one apply take 15 s and 1.2 GB when the whole ruleset was listed through libnftables and
 * parsed), and each resync after a commit of its own would pay that again. One dump of the
 * namespace's tables (at most {@link #MAX_TABLES}) gives each table's use count (its chains,
 * sets, objects and flowtables) and flags: netfence's {@code inet netfence} and the iptables
 * backend's {@code ip}/{@code ip6 filter}. When {@code planRules} is given (a resync: the table may
 * hold whatever a workload added since), netfence's table's sets and rules are counted too, the
 * rules only up to one more than the plan and {@link #ruleBytes} of netlink messages. A
 * {@code filter} table holding the iptables backend's {@code NETFENCE-OUT}/{@code -IN}/{@code -FWD} chain is
 * sized (use count, rules, sets, set elements, and their bytes) up to {@link #LIMIT} and
 * {@link #BYTE_LIMIT}, and what of the iptables backend's it holds is read on the way
 * ({@link LeftoverTable#found}: the chains, and the jumps to them that {@link DumpedRule} finds in
 * the rules dump), so that libnftables never lists a workload's table. Every dump is filtered by table in the kernel; a count stops where its
 * bound is passed and the census ends there, its own socket ({@link NftNetlink}) closed with the
 * dump unfinished. A table or set deleted meanwhile counts as absent. A census a commit
 * interrupts (another writer's: a workload's, or a second apply nothing serialises with this one,
 * as in the benchmark's floor) is taken again, {@link #ATTEMPTS} times in all, as libnftables lists again, but bounded: a
 * workload committing nonstop gets LOCK_CONTENDED, which the apply's retries see. Failures are
 * thrown as {@link NftNetlink} sorts them. Runs on a namespace thread while away; never logs.
 */
final class NftCensus {
    /** The most rules, sets, set elements, chains and objects netfence reads back from a leftover table. */
    static final int LIMIT = 10_000;
    /** The most netlink bytes of rules, sets and set elements netfence lists back from a leftover table. */
    static final int BYTE_LIMIT = 2 * 1024 * 1024;
    /** The most tables a namespace may hold for netfence to look at them in one dump. */
    static final int MAX_TABLES = 64;
    /** How many times a census is taken before a commit interrupting each (or EINTR, EAGAIN) is thrown. */
    static final int ATTEMPTS = 4;

    /**
     * What the census found.
     *
     * @param table whether {@code inet netfence} exists
     * @param tableUse its use count (chains, sets, objects, flowtables); 3 for the table netfence writes
     * @param tableFlags its flags (dormant, owner, ...); 0 for the table netfence writes
     * @param tableSets its sets, anonymous ones included, or -1 when not counted
     * @param tableRules its rules (counted up to one more than the plan), or -1 when not counted
     * @param tableRuleBytes the netlink bytes of those rules
     * @param leftovers the {@code filter} tables holding a chain of the iptables backend, sized
     */
    record Counts(boolean table, long tableUse, long tableFlags, long tableSets, long tableRules, long tableRuleBytes,
            List<LeftoverTable> leftovers) {
        Counts {
            leftovers = List.copyOf(leftovers);
        }
    }

    /**
     * A {@code filter} table holding the iptables backend's chains: its family, what it holds (up
     * to {@link #LIMIT} + 1), its bytes, and what of the iptables backend's it holds
     * ({@code found}: its {@code NETFENCE-*} chains, then the rules of {@link NftApply#LEFTOVER_CHAINS}
     * that jump or go to one, read from the kernel's messages, {@link DumpedRule}; complete only
     * when the table is not {@link #tooLarge}).
     */
    record LeftoverTable(String family, long size, long bytes, List<NftRuleset.Leftover> found) {
        LeftoverTable {
            found = List.copyOf(found);
        }

        LeftoverTable(String family, long size, long bytes) {
            this(family, size, bytes, List.of());
        }

        boolean tooLarge() {
            return size > LIMIT || bytes > BYTE_LIMIT;
        }
    }

    private static final byte NFPROTO_UNSPEC = 0;
    private static final byte NFPROTO_INET = 1;
    private static final byte NFPROTO_IPV4 = 2;
    private static final byte NFPROTO_IPV6 = 10;
    /** NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE: all 1. */
    private static final short ATTR_TABLE = 1;
    private static final short NFTA_TABLE_FLAGS = 2;
    private static final short NFTA_TABLE_USE = 3;
    private static final short NFTA_CHAIN_NAME = 3;
    private static final short NFTA_SET_NAME = 2;
    private static final short NFTA_SET_ELEM_LIST_SET = 2;
    private static final short NFTA_SET_ELEM_LIST_ELEMENTS = 3;

    private final NftNetlink netlink;

    private NftCensus(NftNetlink netlink) {
        this.netlink = netlink;
    }

    /**
     * The census of the calling thread's namespace. {@code planRules}: how many rules netfence's
     * table should hold, to count its sets and rules (a resync's read-back); negative right after
     * netfence's own transaction replaced the table (an apply's read-back), when they are not counted.
     * Its socket is closed through {@code closes}.
     */
    static Counts take(int planRules, Closer closes) {
        for (int attempt = 1; ; attempt++) {
            try (NftNetlink netlink = NftNetlink.open(closes)) {
                return new NftCensus(netlink).count(planRules);
            } catch (EnforcementException e) {
                if (e.code() != ErrorCode.LOCK_CONTENDED || attempt == ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /**
     * Why no libnftables write may run in the calling thread's namespace, or null. Before a write
     * libnftables fetches every table with its chains, sets, objects and flowtables into
     * netfence's process (its cache: measured with 50,000 counters in a workload's table, every
     * write of netfence's took 0.2 s and 67 MB), so a workload holding CAP_NET_ADMIN that fills
     * its namespace with them would make each of netfence's writes there load them all. The tables
     * dump gives each table's use count, which counts exactly those: tables and use counts summing
     * past {@link #LIMIT}, and nothing is written (the dump stops there). Its socket is closed
     * through {@code closes}; a dump a commit interrupts is taken again, as {@link #take}.
     */
    static String tooMuchToLoad(Closer closes) {
        for (int attempt = 1; ; attempt++) {
            try (NftNetlink netlink = NftNetlink.open(closes)) {
                long[] load = {0};
                netlink.dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, message -> {
                    if (message.getShort(4) != message(NFT_MSG_NEWTABLE)) {
                        throw NftNetlink.protocol("a message of type " + message.getShort(4) + " in the tables dump");
                    }
                    load[0] += 1 + table(message).use();
                    return load[0] <= LIMIT;
                });
                return load[0] <= LIMIT ? null : "not sent: the namespace's nftables tables and their chains, sets,"
                        + " objects and flowtables number more than " + LIMIT + ", which libnftables would all load"
                        + " into netfence to write";
            } catch (EnforcementException e) {
                if (e.code() != ErrorCode.LOCK_CONTENDED || attempt == ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /** How many netlink bytes the rules of a plan of {@code planRules} rules may take: netfence's are a few hundred each. */
    static long ruleBytes(int planRules) {
        return 2048L * planRules + 4096;
    }

    /** A table as the tables dump (or a look-up) shows it. */
    private record Table(byte family, String name, long use, long flags) {}

    /** What a counting dump counted: things (rules, sets, set elements) and their messages' bytes. */
    private record Tally(long things, long bytes) {}

    private Counts count(int planRules) {
        List<Table> tables = tables();
        Table netfence = find(tables, NFPROTO_INET, NftRenderer.TABLE);
        long sets = -1;
        long rules = -1;
        long bytes = 0;
        if (netfence != null && planRules >= 0) {
            sets = tally(NFT_MSG_GETSET, NFPROTO_INET, 1, Long.MAX_VALUE, null, null,
                    attr(ATTR_TABLE, NftRenderer.TABLE)).things();
            if (sets > 0) {
                return new Counts(true, netfence.use(), netfence.flags(), sets, -1, 0, List.of());
            }
            Tally counted = tally(NFT_MSG_GETRULE, NFPROTO_INET, planRules + 1L, ruleBytes(planRules), null,
                    null, attr(ATTR_TABLE, NftRenderer.TABLE));
            rules = counted.things();
            bytes = counted.bytes();
            if (rules > planRules || bytes > ruleBytes(planRules)) {
                return new Counts(true, netfence.use(), netfence.flags(), 0, rules, bytes, List.of());
            }
        }
        List<LeftoverTable> leftovers = new ArrayList<>();
        for (byte family : new byte[] {NFPROTO_IPV4, NFPROTO_IPV6}) {
            Table filter = find(tables, family, "filter");
            List<NftRuleset.Leftover> chains = filter == null ? List.of() : iptablesChains(family);
            if (chains.isEmpty()) {
                continue;
            }
            LeftoverTable sized = leftoverSize(filter, chains);
            leftovers.add(sized);
            if (sized.tooLarge()) {
                break;
            }
        }
        return new Counts(netfence != null, netfence == null ? 0 : netfence.use(),
                netfence == null ? 0 : netfence.flags(), sets, rules, bytes, leftovers);
    }

    /** Every table of the namespace, or null when there are more than {@link #MAX_TABLES} (then {@link #find} looks each up). */
    private List<Table> tables() {
        List<Table> tables = new ArrayList<>();
        netlink.dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, message -> {
            if (message.getShort(4) != message(NFT_MSG_NEWTABLE)) {
                throw NftNetlink.protocol("a message of type " + message.getShort(4) + " in the tables dump");
            }
            tables.add(table(message));
            return tables.size() <= MAX_TABLES;
        });
        return tables.size() > MAX_TABLES ? null : tables;
    }

    private Table find(List<Table> tables, byte family, String name) {
        if (tables != null) {
            return tables.stream().filter(t -> t.family() == family && t.name().equals(name)).findFirst().orElse(null);
        }
        ByteBuffer reply = netlink.get(NFT_MSG_GETTABLE, family, attr(ATTR_TABLE, name));
        return reply == null ? null : table(reply);
    }

    private static Table table(ByteBuffer message) {
        return new Table(message.get(16), new String(NftNetlink.bytes(message, ATTR_TABLE, "a table without a name"),
                StandardCharsets.ISO_8859_1), NftNetlink.u32(message, NFTA_TABLE_USE),
                NftNetlink.u32(message, NFTA_TABLE_FLAGS));
    }

    /** The iptables backend's chains the {@code filter} table of {@code family} holds. */
    private List<NftRuleset.Leftover> iptablesChains(byte family) {
        List<NftRuleset.Leftover> chains = new ArrayList<>(NftRuleset.IPTABLES_CHAINS.size());
        for (String chain : NftRuleset.IPTABLES_CHAINS) {
            if (netlink.get(NFT_MSG_GETCHAIN, family, attr(ATTR_TABLE, "filter"), attr(NFTA_CHAIN_NAME, chain)) != null) {
                chains.add(new NftRuleset.Leftover(familyName(family), "filter", chain, -1));
            }
        }
        return chains;
    }

    private static String familyName(byte family) {
        return family == NFPROTO_IPV4 ? "ip" : "ip6";
    }

    /**
     * What {@code filter} holds (its use count, rules, sets and set elements), up to {@link #LIMIT}
     * + 1, with the bytes counted, and the iptables backend's {@code chains} in it with the jumps to
     * them its rules dump shows.
     */
    private LeftoverTable leftoverSize(Table filter, List<NftRuleset.Leftover> chains) {
        long bound = LIMIT + 1L;
        long size = filter.use();
        long bytes = 0;
        List<NftRuleset.Leftover> found = new ArrayList<>(chains);
        List<byte[]> sets = new ArrayList<>();
        if (size < bound) {
            Tally t = tally(NFT_MSG_GETRULE, filter.family(), bound - size, BYTE_LIMIT, null, m -> {
                String chain = DumpedRule.chain(m);
                if (NftApply.LEFTOVER_CHAINS.contains(chain) && DumpedRule.jumpsTo(m, NftRuleset.IPTABLES_CHAINS)) {
                    found.add(new NftRuleset.Leftover(familyName(filter.family()), "filter", chain, DumpedRule.handle(m)));
                }
            }, attr(ATTR_TABLE, "filter"));
            size += t.things();
            bytes += t.bytes();
        }
        if (size < bound && bytes <= BYTE_LIMIT) {
            Tally t = tally(NFT_MSG_GETSET, filter.family(), bound - size, BYTE_LIMIT - bytes, sets, null,
                    attr(ATTR_TABLE, "filter"));
            size += t.things();
            bytes += t.bytes();
        }
        for (int i = 0; i < sets.size() && size < bound && bytes <= BYTE_LIMIT; i++) {
            Tally t = tally(NFT_MSG_GETSETELEM, filter.family(), bound - size, BYTE_LIMIT - bytes, null, null,
                    attr(ATTR_TABLE, "filter"), attr(NFTA_SET_ELEM_LIST_SET, sets.get(i)));
            size += t.things();
            bytes += t.bytes();
        }
        return new LeftoverTable(familyName(filter.family()), Math.min(size, bound), bytes, found);
    }

    /**
     * Counts what a dump lists, up to {@code bound} things or past {@code byteBound} bytes (then it
     * stops, the dump left unfinished): rules and sets one per message, set elements one per
     * element. The names of the sets listed go to {@code names} when not null; each rule is shown
     * to {@code rules} when not null.
     */
    private Tally tally(short type, byte family, long bound, long byteBound, List<byte[]> names,
            java.util.function.Consumer<ByteBuffer> rules, byte[]... attrs) {
        long[] count = {0, 0};
        netlink.dump(type, family, message -> {
            short messageType = message.getShort(4);
            if (messageType == message(NFT_MSG_NEWSETELEM)) {
                count[0] += NftNetlink.nested(message, NFTA_SET_ELEM_LIST_ELEMENTS);
            } else if (messageType == message(NFT_MSG_NEWSET)) {
                count[0]++;
                if (names != null) {
                    names.add(NftNetlink.bytes(message, NFTA_SET_NAME, "a set without a name"));
                }
            } else if (messageType == message(NFT_MSG_NEWRULE)) {
                count[0]++;
                if (rules != null) {
                    rules.accept(message);
                }
            } else {
                throw NftNetlink.protocol("a message of type " + messageType + " in a dump");
            }
            count[1] += message.limit();
            return count[0] < bound && count[1] <= byteBound;
        }, attrs);
        return new Tally(count[0], count[1]);
    }
}
