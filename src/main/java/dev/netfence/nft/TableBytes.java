package dev.netfence.nft;

import static dev.netfence.nft.NftNetlink.NFT_MSG_GETCHAIN;
import static dev.netfence.nft.NftNetlink.NFT_MSG_GETRULE;
import static dev.netfence.nft.NftNetlink.NFT_MSG_NEWRULE;
import static dev.netfence.nft.NftNetlink.attr;
import static dev.netfence.nft.NftNetlink.message;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * netfence's table as the kernel holds it, read over raw netlink without libnftables: its three
 * chains (asked for by name) and its rules (one dump, filtered to the table in the kernel), each
 * kept as the bytes of the kernel's message after its nfgenmsg header, less the handle and
 * position attributes (numbers the kernel hands out) and a chain's use count (its rules, which
 * are compared one by one). The kernel encodes a rule the same way in
 * every namespace, so the table read in a fresh namespace netfence made, right after libnftables
 * wrote a plan there and its JSON listing verified against the plan, is what that plan is in any
 * namespace ({@link #firstDifference}): a workload namespace's table is verified without ever
 * having libnftables print what a workload can put there. (Printing a rule that matches on an
 * interface index makes libnftables 1.0.6 look links up in that namespace through a process-wide
 * cache and end the process on a failure; see the README.) The rule dump stops past one rule
 * more than the plan's or {@link NftCensus#ruleBytes} bytes, so it never costs more than the plan.
 * A dump a commit interrupts is read again, and thrown as LOCK_CONTENDED ({@link NftNetlink}) after
 * {@link NftCensus#ATTEMPTS} such. Immutable.
 */
final class TableBytes {
    private static final byte NFPROTO_INET = 1;
    private static final short ATTR_TABLE = 1; // NFTA_CHAIN_TABLE, NFTA_RULE_TABLE
    private static final short NFTA_CHAIN_HANDLE = 2;
    private static final short NFTA_CHAIN_NAME = 3;
    private static final short NFTA_CHAIN_USE = 6;
    private static final short NFTA_RULE_HANDLE = 3;
    private static final short NFTA_RULE_POSITION = 6;

    /** One chain or rule: the chain it is (in), and its message's attributes less the numbering. */
    private record Item(String chain, byte[] bytes) {
        boolean same(Item other) {
            return chain.equals(other.chain) && Arrays.equals(bytes, other.bytes);
        }
    }

    private final List<Item> chains;
    private final List<Item> rules;
    /** Whether the rule dump stopped at its bound (the table holds more than the plan). */
    private final boolean cut;

    private TableBytes(List<Item> chains, List<Item> rules, boolean cut) {
        this.chains = List.copyOf(chains);
        this.rules = List.copyOf(rules);
        this.cut = cut;
    }

    /**
     * Reads netfence's table in the calling thread's namespace: its chains {@code output},
     * {@code input} and {@code forward} (a missing one is left out) and its rules, up to {@code planRules} + 1 and
     * {@link NftCensus#ruleBytes}. A read a commit interrupts is taken again, as a census is
     * ({@link NftCensus#ATTEMPTS} in all). Sockets are closed through {@code closes}.
     */
    static TableBytes take(int planRules, Closer closes) {
        for (int attempt = 1; ; attempt++) {
            try {
                return takeOnce(planRules, closes);
            } catch (EnforcementException e) {
                if (e.code() != ErrorCode.LOCK_CONTENDED || attempt == NftCensus.ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    private static TableBytes takeOnce(int planRules, Closer closes) {
        try (NftNetlink netlink = NftNetlink.open(closes)) {
            List<Item> chains = new ArrayList<>(NftRenderer.CHAINS.size());
            for (String name : NftRenderer.CHAINS) {
                ByteBuffer chain = netlink.get(NFT_MSG_GETCHAIN, NFPROTO_INET, attr(ATTR_TABLE, NftRenderer.TABLE),
                        attr(NFTA_CHAIN_NAME, name));
                if (chain != null) {
                    chains.add(chain(chain));
                }
            }
            List<Item> rules = new ArrayList<>(planRules + 1);
            long bound = NftCensus.ruleBytes(planRules);
            long[] bytes = {0};
            boolean done = netlink.dump(NFT_MSG_GETRULE, NFPROTO_INET, m -> {
                if (m.getShort(4) != message(NFT_MSG_NEWRULE)) {
                    throw NftNetlink.protocol("a message of type " + m.getShort(4) + " in the rules dump");
                }
                rules.add(rule(m));
                bytes[0] += m.limit();
                return rules.size() <= planRules && bytes[0] <= bound;
            }, attr(ATTR_TABLE, NftRenderer.TABLE));
            return new TableBytes(chains, rules, !done);
        }
    }

    /** A chain as {@code NFT_MSG_NEWCHAIN} {@code message} shows it. */
    private static Item chain(ByteBuffer message) {
        return new Item(new String(NftNetlink.bytes(message, NFTA_CHAIN_NAME, "a chain without a name"),
                java.nio.charset.StandardCharsets.ISO_8859_1), strip(message, NFTA_CHAIN_HANDLE, NFTA_CHAIN_USE));
    }

    /** A rule as {@code NFT_MSG_NEWRULE} {@code message} shows it. */
    private static Item rule(ByteBuffer message) {
        return new Item(DumpedRule.chain(message), strip(message, NFTA_RULE_HANDLE, NFTA_RULE_POSITION));
    }

    /** A table from the kernel's messages: its chains' and its rules' (in dump order). */
    static TableBytes of(List<ByteBuffer> chains, List<ByteBuffer> rules, boolean cut) {
        return new TableBytes(chains.stream().map(TableBytes::chain).toList(), rules.stream().map(TableBytes::rule).toList(),
                cut);
    }

    /**
     * A table from given parts, for tests: each chain {@code name=bytes}, each rule
     * {@code chain=bytes} in dump order, the bytes as text.
     */
    static TableBytes ofText(List<String> chains, List<String> rules, boolean cut) {
        java.util.function.Function<String, Item> item = s -> new Item(s.substring(0, s.indexOf('=')),
                s.substring(s.indexOf('=') + 1).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return new TableBytes(chains.stream().map(item).toList(), rules.stream().map(item).toList(), cut);
    }

    /** How many rules were read. */
    int rules() {
        return rules.size();
    }

    /** The bytes read, for the read-back's size. */
    long size() {
        long size = 0;
        for (Item i : chains) {
            size += i.bytes().length;
        }
        for (Item i : rules) {
            size += i.bytes().length;
        }
        return size;
    }

    /**
     * The first way this table differs from {@code plan}'s as read in a fresh namespace, in words,
     * or empty. {@code expected}: the plan's rules ({@link NftRenderer#expected}, in the same
     * order as a dump shows them), to name the rule that differs.
     */
    Optional<String> firstDifference(TableBytes plan, List<NftRenderer.ExpectedRule> expected) {
        for (Item want : plan.chains) {
            Item got = chains.stream().filter(c -> c.chain().equals(want.chain())).findFirst().orElse(null);
            if (got == null) {
                return Optional.of("chain " + want.chain() + " of table " + NftRenderer.FAMILY + " "
                        + NftRenderer.TABLE + " is missing");
            }
            if (!got.same(want)) {
                return Optional.of("chain " + want.chain() + " is not the base chain netfence writes (its type, hook,"
                        + " priority, policy or flags differ)");
            }
        }
        int[] position = new int[plan.chains.size()];
        for (int i = 0; i < Math.max(rules.size(), plan.rules.size()); i++) {
            Item got = i < rules.size() ? rules.get(i) : null;
            Item want = i < plan.rules.size() ? plan.rules.get(i) : null;
            String chain = want != null ? want.chain() : got.chain();
            int n = ++position[Math.max(0, indexOf(plan, chain))];
            String text = want != null && i < expected.size() ? expected.get(i).text() : null;
            if (want != null && (got == null || !got.chain().equals(want.chain()))) {
                return Optional.of("chain " + chain + " lacks rule " + n + ": " + text);
            }
            if (want == null) {
                return Optional.of("chain " + got.chain() + " has an unexpected rule"
                        + (cut && i == rules.size() - 1 ? " past the plan's " + plan.rules.size() + " rules" : ""));
            }
            if (!got.same(want)) {
                return Optional.of("chain " + chain + " rule " + n + " is not the plan's " + text);
            }
        }
        return Optional.empty();
    }

    private static int indexOf(TableBytes plan, String chain) {
        for (int i = 0; i < plan.chains.size(); i++) {
            if (plan.chains.get(i).chain().equals(chain)) {
                return i;
            }
        }
        return -1;
    }

    /** A plan's table must hold its three chains and every rule it read: else it cannot stand for the plan. */
    TableBytes requireWhole(int planRules) {
        if (chains.size() != NftRenderer.CHAINS.size() || cut || rules.size() != planRules) {
            throw new EnforcementException(ErrorCode.VERIFY_FAILED, "netfence's table read in a fresh namespace holds "
                    + chains.size() + " chains and " + rules.size() + (cut ? "+" : "") + " rules where the plan has " + NftRenderer.CHAINS.size() + " and "
                    + planRules);
        }
        return this;
    }

    /**
     * The attributes of {@code message} after its nfgenmsg, less those of types {@code a} and {@code b}:
     * measured first, then copied into an array of that size (one array per rule of every read-back,
     * the read-back's largest allocation).
     */
    private static byte[] strip(ByteBuffer message, short a, short b) {
        int kept = 0;
        for (int at = 20; at + 4 <= message.limit(); at += ((message.getShort(at) & 0xffff) + 3) & ~3) {
            int length = message.getShort(at) & 0xffff;
            if (length < 4 || at + length > message.limit()) {
                throw NftNetlink.protocol("a malformed attribute");
            }
            int type = message.getShort(at + 2) & 0x3fff;
            if (type != a && type != b) {
                kept += Math.min((length + 3) & ~3, message.limit() - at);
            }
        }
        byte[] out = new byte[kept];
        int filled = 0;
        for (int at = 20; at + 4 <= message.limit(); at += ((message.getShort(at) & 0xffff) + 3) & ~3) {
            int length = message.getShort(at) & 0xffff;
            int type = message.getShort(at + 2) & 0x3fff;
            if (type != a && type != b) {
                int padded = Math.min((length + 3) & ~3, message.limit() - at);
                message.get(at, out, filled, padded);
                filled += padded;
            }
        }
        return out;
    }
}
