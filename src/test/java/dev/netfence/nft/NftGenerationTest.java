package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.NamespaceId;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * Reading the kernel's {@code NFT_MSG_NEWGEN} answer, and what a remembered generation lets a
 * resync skip ({@link VerifiedGenerations}); the kernel tests read real generations.
 */
class NftGenerationTest {
    private static final NamespaceId NS = new NamespaceId(4, 4026532000L);
    private final PlannedRules quarantine = new RulePlanner().quarantine();

    /** A NEWGEN reply: nlmsghdr, nfgenmsg, then NFTA_GEN_ID (big endian), PROC_PID and PROC_NAME. */
    private static ByteBuffer reply(int type, int seq, int generation) {
        ByteBuffer b = ByteBuffer.allocate(48).order(ByteOrder.nativeOrder());
        b.putInt(48).putShort((short) type).putShort((short) 0).putInt(seq).putInt(0);
        b.put((byte) 0).put((byte) 0).putShort((short) 0);
        b.putShort((short) 8).putShort((short) 1).order(ByteOrder.BIG_ENDIAN).putInt(generation)
                .order(ByteOrder.nativeOrder());
        b.putShort((short) 8).putShort((short) 2).order(ByteOrder.BIG_ENDIAN).putInt(1234)
                .order(ByteOrder.nativeOrder());
        b.putShort((short) 12).putShort((short) 3).put("netfen\0\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        return b.flip();
    }

    @Test
    void theGenerationIsTheReplysGenIdAttributeReadUnsigned() {
        assertThat(NftGeneration.parse(reply(0x0a0f, 3, 41), 3)).isEqualTo(41);
        assertThat(NftGeneration.parse(reply(0x0a0f, 3, -2), 3)).isEqualTo(4_294_967_294L);
    }

    @Test
    void anErrorAnotherMessageOrAnotherSequenceIsUnknown() {
        assertThat(NftGeneration.parse(reply(2, 3, 41), 3)).isEqualTo(NftGeneration.UNKNOWN);
        assertThat(NftGeneration.parse(reply(0x0a0f, 4, 41), 3)).isEqualTo(NftGeneration.UNKNOWN);
        assertThat(NftGeneration.parse(ByteBuffer.allocate(12), 3)).isEqualTo(NftGeneration.UNKNOWN);
    }

    @Test
    void onlyTheSameGenerationAndTheSamePlanWithinTheMaximumAgeSkipTheReadBack() throws Exception {
        VerifiedGenerations v = new VerifiedGenerations();
        assertThat(v.unchanged(NS, quarantine, 5, 0)).isFalse();
        v.verified(NS, quarantine, 5, 0);
        assertThat(v.unchanged(NS, quarantine, 5, 1)).isTrue();
        assertThat(v.unchanged(NS, quarantine, 6, 1)).as("the ruleset changed").isFalse();
        assertThat(v.unchanged(NS, quarantine, NftGeneration.UNKNOWN, 1)).isFalse();
        assertThat(v.unchanged(new NamespaceId(4, 4026532001L), quarantine, 5, 1)).isFalse();
        PlannedRules other = NftRendererTest.plan(NftRendererTest.BRIDGE + "}");
        assertThat(v.unchanged(NS, other, 5, 1)).as("another plan").isFalse();
        assertThat(v.unchanged(NS, quarantine, 5, VerifiedGenerations.MAX_AGE_NANOS)).as("too old").isFalse();
        v.forget(NS);
        assertThat(v.unchanged(NS, quarantine, 5, 1)).isFalse();
        v.verified(NS, quarantine, 5, 0);
        v.verified(NS, quarantine, NftGeneration.UNKNOWN, 0);
        assertThat(v.unchanged(NS, quarantine, 5, 1)).as("an unknown generation forgets").isFalse();
    }

    @Test
    void atMostTheLimitIsKept() {
        VerifiedGenerations v = new VerifiedGenerations();
        for (int i = 0; i <= VerifiedGenerations.LIMIT; i++) {
            v.verified(new NamespaceId(4, i), quarantine, 1, 0);
        }
        assertThat(v.size()).isLessThanOrEqualTo(VerifiedGenerations.LIMIT);
        assertThat(v.unchanged(new NamespaceId(4, VerifiedGenerations.LIMIT), quarantine, 1, 1)).isTrue();
    }
}
