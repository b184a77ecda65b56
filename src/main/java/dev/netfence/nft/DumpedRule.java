package dev.netfence.nft;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Collection;

/**
 * Reads what netfence needs of a rule as the kernel dumps it (an {@code NFT_MSG_NEWRULE}
 * message), without libnftables: the chain it is in, its handle, and whether it jumps or goes to
 * one of some chains (an {@code immediate} expression whose verdict is {@code jump} or
 * {@code goto} with that chain's name: how iptables-nft writes {@code -j} and {@code -g} to a
 * chain of its own). libnftables is not asked because printing a workload's rule can end
 * netfence's process (see {@link TableBytes}). Attributes are read with their lengths checked; a
 * malformed one ends the reading of that expression. No state.
 */
final class DumpedRule {
    private static final short NFTA_RULE_CHAIN = 2;
    private static final short NFTA_RULE_HANDLE = 3;
    private static final short NFTA_RULE_EXPRESSIONS = 4;
    private static final short NFTA_EXPR_NAME = 1;
    private static final short NFTA_EXPR_DATA = 2;
    private static final short NFTA_IMMEDIATE_DATA = 2;
    private static final short NFTA_DATA_VERDICT = 2;
    private static final short NFTA_VERDICT_CODE = 1;
    private static final short NFTA_VERDICT_CHAIN = 2;
    /** NFT_JUMP and NFT_GOTO, as the kernel sends them (negative verdict codes). */
    private static final int NFT_JUMP = -3;
    private static final int NFT_GOTO = -4;

    private DumpedRule() {}

    /** The name of the chain {@code rule} is in, or "" when the message does not say. */
    static String chain(ByteBuffer rule) {
        int[] chain = NftNetlink.attribute(rule, 20, rule.limit(), NFTA_RULE_CHAIN);
        return chain == null ? "" : string(rule, chain);
    }

    /** The rule's handle, or -1 when the message carries none. */
    static long handle(ByteBuffer rule) {
        int[] handle = NftNetlink.attribute(rule, 20, rule.limit(), NFTA_RULE_HANDLE);
        return handle == null || handle[1] != 8 ? -1 : rule.duplicate().order(ByteOrder.BIG_ENDIAN).getLong(handle[0]);
    }

    /** Whether {@code rule} jumps or goes to a chain named in {@code chains} (see the class comment). */
    static boolean jumpsTo(ByteBuffer rule, Collection<String> chains) {
        int[] expressions = NftNetlink.attribute(rule, 20, rule.limit(), NFTA_RULE_EXPRESSIONS);
        if (expressions == null) {
            return false;
        }
        for (int at = expressions[0], end = expressions[0] + expressions[1]; at + 4 <= end; ) {
            int length = rule.getShort(at) & 0xffff;
            if (length < 4 || at + length > end) {
                return false;
            }
            int[] name = NftNetlink.attribute(rule, at + 4, at + length, NFTA_EXPR_NAME);
            if (name != null && string(rule, name).equals("immediate")) {
                int[] data = NftNetlink.attribute(rule, at + 4, at + length, NFTA_EXPR_DATA);
                int[] value = data == null ? null : NftNetlink.attribute(rule, data[0], data[0] + data[1], NFTA_IMMEDIATE_DATA);
                int[] verdict = value == null ? null : NftNetlink.attribute(rule, value[0], value[0] + value[1], NFTA_DATA_VERDICT);
                int[] code = verdict == null ? null : NftNetlink.attribute(rule, verdict[0], verdict[0] + verdict[1], NFTA_VERDICT_CODE);
                int[] target = verdict == null ? null : NftNetlink.attribute(rule, verdict[0], verdict[0] + verdict[1], NFTA_VERDICT_CHAIN);
                if (code != null && code[1] == 4 && target != null) {
                    int c = rule.duplicate().order(ByteOrder.BIG_ENDIAN).getInt(code[0]);
                    if ((c == NFT_JUMP || c == NFT_GOTO) && chains.contains(string(rule, target))) {
                        return true;
                    }
                }
            }
            at += (length + 3) & ~3;
        }
        return false;
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
