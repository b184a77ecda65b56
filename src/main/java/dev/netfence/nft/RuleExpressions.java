package dev.netfence.nft;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * Reads a rule as the kernel dumps it (an {@code NFT_MSG_NEWRULE} message) for what netfence must
 * not have libnftables list in its process: an expression whose listing makes libnftables look
 * interfaces up by index ({@code meta iif}, {@code oif}, {@code sdif}; {@code fib}; {@code fwd},
 * {@code dup}; a set lookup, whose elements may be interface indexes). libnftables does that
 * lookup in the namespace it lists, the workload's, through a process-wide cache without a lock
 * and a route socket it leaves unconnected, and ends the process when the lookup fails (a link
 * message over its 4 KB buffer). netfence's own rules hold none of these. A message it cannot
 * read counts as holding one. Attributes only; no state.
 */
final class RuleExpressions {
    private static final short NFTA_RULE_CHAIN = 2;
    private static final short NFTA_RULE_EXPRESSIONS = 4;
    private static final short NFTA_EXPR_NAME = 1;
    private static final short NFTA_EXPR_DATA = 2;
    private static final short NFTA_META_KEY = 2;
    /** NFT_META_IIF, NFT_META_OIF, NFT_META_SDIF: printed as interface names looked up by index. */
    private static final Set<Long> INTERFACE_KEYS = Set.of(4L, 5L, 33L);
    private static final Set<String> INTERFACE_EXPRESSIONS = Set.of("fib", "fwd", "dup", "lookup", "dynset");

    private RuleExpressions() {}

    /** Whether {@code rule} holds an expression whose listing looks interfaces up (see the class comment). */
    static boolean looksUpInterfaces(ByteBuffer rule) {
        int[] expressions = NftNetlink.attribute(rule, 20, rule.limit(), NFTA_RULE_EXPRESSIONS);
        if (expressions == null) {
            return false; // a rule without expressions
        }
        for (int at = expressions[0], end = expressions[0] + expressions[1]; at < end; ) {
            int length = rule.getShort(at) & 0xffff;
            if (length < 4 || at + length > end) {
                return true; // unreadable: not listed
            }
            int[] name = NftNetlink.attribute(rule, at + 4, at + length, NFTA_EXPR_NAME);
            if (name == null) {
                return true;
            }
            String expression = string(rule, name);
            if (INTERFACE_EXPRESSIONS.contains(expression)) {
                return true;
            }
            if (expression.equals("meta")) {
                int[] data = NftNetlink.attribute(rule, at + 4, at + length, NFTA_EXPR_DATA);
                int[] key = data == null ? null : NftNetlink.attribute(rule, data[0], data[0] + data[1], NFTA_META_KEY);
                if (key == null || key[1] != 4 || INTERFACE_KEYS.contains(
                        Integer.toUnsignedLong(rule.duplicate().order(ByteOrder.BIG_ENDIAN).getInt(key[0])))) {
                    return true;
                }
            }
            at += (length + 3) & ~3;
        }
        return false;
    }

    /** The name of the chain {@code rule} is in, or "" when the message does not say. */
    static String chain(ByteBuffer rule) {
        int[] chain = NftNetlink.attribute(rule, 20, rule.limit(), NFTA_RULE_CHAIN);
        return chain == null ? "" : string(rule, chain);
    }

    private static String string(ByteBuffer message, int[] a) {
        int end = a[0];
        while (end < a[0] + a[1] && message.get(end) != 0) {
            end++;
        }
        byte[] raw = new byte[end - a[0]];
        message.get(a[0], raw);
        return new String(raw, StandardCharsets.ISO_8859_1);
    }
}
