package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link TableBytes} and {@link DumpedRule} on messages built as the kernel sends them: what a
 * comparison ignores (the numbers the kernel hands out) and what it does not (any other byte).
 * The kernel tests read real messages; these pin the attribute handling down.
 */
class TableBytesTest {
    private static final short NEWCHAIN = (short) ((10 << 8) | 3);
    private static final short NEWRULE = (short) ((10 << 8) | 6);
    /** An expression list: one {@code immediate} accept, as a verdict rule carries. */
    private static final byte[] ACCEPT = immediate(1, null);

    private final List<NftRenderer.ExpectedRule> expected = List.of(
            new NftRenderer.ExpectedRule("output", "netfence:x", List.of(), "accept comment \"netfence:x\""),
            new NftRenderer.ExpectedRule("input", "netfence:x", List.of(), "drop comment \"netfence:x\""));

    @Test
    void aTableThatDiffersOnlyInHandlesPositionsUseCountsAndGenerationIsThePlans() {
        TableBytes plan = table(1, 0, 7, ACCEPT);
        TableBytes other = table(40, 9, 3, ACCEPT);
        assertThat(other.firstDifference(plan, expected)).isEmpty();
    }

    @Test
    void oneExpressionByteChangedIsADifferenceNamingTheRule() {
        TableBytes plan = table(1, 0, 7, ACCEPT);
        byte[] drop = immediate(0, null); // NF_DROP instead of NF_ACCEPT
        assertThat(table(1, 0, 7, drop).firstDifference(plan, expected))
                .hasValue("chain output rule 1 is not the plan's accept comment \"netfence:x\"");
    }

    @Test
    void aRuleMoreOrLessThanThePlanIsADifference() {
        TableBytes plan = table(1, 0, 7, ACCEPT);
        TableBytes more = TableBytes.of(chains(1, 2), List.of(rule("output", 3, 0, ACCEPT, 7), rule("input", 4, 3, ACCEPT, 7),
                rule("input", 5, 4, ACCEPT, 7)), false);
        TableBytes less = TableBytes.of(chains(1, 2), List.of(rule("output", 3, 0, ACCEPT, 7)), false);
        assertThat(more.firstDifference(plan, expected)).hasValue("chain input has an unexpected rule");
        assertThat(less.firstDifference(plan, expected)).hasValue("chain input lacks rule 1: drop comment \"netfence:x\"");
    }

    @Test
    void aChainOnAnotherHookIsADifference() {
        TableBytes plan = table(1, 0, 7, ACCEPT);
        TableBytes hooked = TableBytes.of(List.of(chain("output", 1, 1, 1), chain("input", 2, 1, 1)),
                List.of(rule("output", 3, 0, ACCEPT, 7), rule("input", 4, 3, ACCEPT, 7)), false);
        assertThat(hooked.firstDifference(plan, expected)).hasValueSatisfying(d ->
                assertThat(d).startsWith("chain output is not the base chain netfence writes"));
    }

    @Test
    void aMissingChainIsADifference() {
        TableBytes plan = table(1, 0, 7, ACCEPT);
        TableBytes one = TableBytes.of(List.of(chain("input", 2, 1, 1)), List.of(rule("input", 4, 0, ACCEPT, 7)), false);
        assertThat(one.firstDifference(plan, expected)).hasValue("chain output of table inet netfence is missing");
    }

    @Test
    void aJumpOrGotoToTheIptablesBackendsChainIsFoundAndAnythingElseIsNot() {
        ByteBuffer jump = rule("OUTPUT", 9, 0, immediate(-3, "NETFENCE-OUT"), 1);
        ByteBuffer go = rule("INPUT", 10, 0, immediate(-4, "NETFENCE-IN"), 1);
        ByteBuffer elsewhere = rule("OUTPUT", 11, 0, immediate(-3, "MINE"), 1);
        ByteBuffer accept = rule("OUTPUT", 12, 0, ACCEPT, 1);
        assertThat(DumpedRule.jumpsTo(jump, NftRuleset.IPTABLES_CHAINS)).isTrue();
        assertThat(DumpedRule.jumpsTo(go, NftRuleset.IPTABLES_CHAINS)).isTrue();
        assertThat(DumpedRule.jumpsTo(elsewhere, NftRuleset.IPTABLES_CHAINS)).isFalse();
        assertThat(DumpedRule.jumpsTo(accept, NftRuleset.IPTABLES_CHAINS)).isFalse();
        assertThat(DumpedRule.handle(jump)).isEqualTo(9);
        assertThat(DumpedRule.chain(go)).isEqualTo("INPUT");
    }

    /** Both chains (handles 1 and 2 plus {@code shift}) and one rule in each, with the given numbering. */
    private static TableBytes table(long shift, int generation, int use, byte[] outputExpressions) {
        return TableBytes.of(List.of(chain("output", 1 + shift, 3, use), chain("input", 2 + shift, 1, use + 1)), List.of(
                rule("output", 3 + shift, shift == 1 ? 0 : shift, outputExpressions, generation),
                rule("input", 4 + shift, 3 + shift, ACCEPT, generation)), false);
    }

    /** The two chains as {@link #table} has them (output on hook 3, input on hook 1), with these handles. */
    private static List<ByteBuffer> chains(long out, long in) {
        return List.of(chain("output", out, 3, 1), chain("input", in, 1, 1));
    }

    /** NFT_MSG_NEWCHAIN: table, name, handle, hook ({@code hook} number, priority 0), policy accept, type filter, use. */
    private static ByteBuffer chain(String name, long handle, int hook, int use) {
        ByteArrayOutputStream hookAttrs = new ByteArrayOutputStream();
        hookAttrs.writeBytes(attr(1, be32(hook)));
        hookAttrs.writeBytes(attr(2, be32(0)));
        return message(NEWCHAIN, 0, attr(1, string("netfence")), attr(3, string(name)), attr(2, be64(handle)),
                attr(4 | 0x8000, hookAttrs.toByteArray()), attr(5, be32(1)), attr(7, string("filter")),
                attr(6, be32(use)));
    }

    /** NFT_MSG_NEWRULE: table, chain, handle, position when not 0, expressions, a comment. */
    private static ByteBuffer rule(String chain, long handle, long position, byte[] expressions, int generation) {
        ByteArrayOutputStream a = new ByteArrayOutputStream();
        a.writeBytes(attr(1, string("netfence")));
        a.writeBytes(attr(2, string(chain)));
        a.writeBytes(attr(3, be64(handle)));
        if (position != 0) {
            a.writeBytes(attr(6, be64(position)));
        }
        a.writeBytes(attr(4 | 0x8000, expressions));
        a.writeBytes(attr(7, "netfence:x".getBytes(StandardCharsets.US_ASCII)));
        return message(NEWRULE, generation, a.toByteArray());
    }

    /** An expression list of one {@code immediate} whose verdict is {@code code} (to {@code chain} when not null). */
    private static byte[] immediate(int code, String chain) {
        ByteArrayOutputStream verdict = new ByteArrayOutputStream();
        verdict.writeBytes(attr(1, be32(code)));
        if (chain != null) {
            verdict.writeBytes(attr(2, string(chain)));
        }
        byte[] data = attr(2 | 0x8000, attr(2 | 0x8000, verdict.toByteArray())); // NFTA_IMMEDIATE_DATA { NFTA_DATA_VERDICT }
        ByteArrayOutputStream expr = new ByteArrayOutputStream();
        expr.writeBytes(attr(1, string("immediate")));
        ByteArrayOutputStream immediate = new ByteArrayOutputStream();
        immediate.writeBytes(attr(1, be32(0))); // NFTA_IMMEDIATE_DREG: the verdict register
        immediate.writeBytes(data);
        expr.writeBytes(attr(2 | 0x8000, immediate.toByteArray()));
        return attr(1 | 0x8000, expr.toByteArray()); // NFTA_LIST_ELEM
    }

    private static ByteBuffer message(short type, int generation, byte[]... attrs) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (byte[] a : attrs) {
            body.writeBytes(a);
        }
        ByteBuffer m = ByteBuffer.allocate(20 + body.size()).order(ByteOrder.nativeOrder());
        m.putInt(20 + body.size()).putShort(type).putShort((short) 2).putInt(1).putInt(0);
        m.put((byte) 1).put((byte) 0).putShort(Short.reverseBytes((short) generation)); // nfgenmsg: inet, v0, res_id
        m.put(body.toByteArray());
        return m.flip().order(ByteOrder.nativeOrder());
    }

    private static byte[] attr(int type, byte[] value) {
        int length = 4 + value.length;
        ByteBuffer a = ByteBuffer.allocate((length + 3) & ~3).order(ByteOrder.nativeOrder());
        a.putShort((short) length).putShort((short) type).put(value);
        return a.array();
    }

    private static byte[] string(String s) {
        byte[] raw = s.getBytes(StandardCharsets.US_ASCII);
        byte[] z = new byte[raw.length + 1];
        System.arraycopy(raw, 0, z, 0, raw.length);
        return z;
    }

    private static byte[] be32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.BIG_ENDIAN).putInt(v).array();
    }

    private static byte[] be64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(v).array();
    }
}
