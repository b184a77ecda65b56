package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * ConntrackFlush's reading of the kernel's answers: only the answer to this very request counts,
 * for the acknowledgement of the delete and for the entry count read before it.
 */
class ConntrackFlushTest {
    @Test
    void anAcknowledgementOfThisRequestGivesItsErrno() {
        assertThat(ConntrackFlush.ackErrno(ack(7, 0), 7)).isZero();
        assertThat(ConntrackFlush.ackErrno(ack(7, -1), 7)).isEqualTo(1); // EPERM
    }

    @Test
    void anAcknowledgementOfAnotherRequestOrAnotherMessageIsAProtocolError() {
        assertThat(ConntrackFlush.ackErrno(ack(6, 0), 7)).as("an earlier request's answer").isEqualTo(71);
        ByteBuffer other = ack(7, 0);
        other.putShort(4, (short) ((10 << 8) | 15)); // NFT_MSG_NEWGEN, a generation answer
        assertThat(ConntrackFlush.ackErrno(other, 7)).isEqualTo(71);
        assertThat(ConntrackFlush.ackErrno(ByteBuffer.allocate(12), 7)).as("too short").isEqualTo(71);
    }

    @Test
    void theEntryCountIsTheGlobalEntriesAttributeOfTheStatsAnswerToThisRequest() {
        assertThat(ConntrackFlush.entriesIn(stats(7, 1, 0), 7)).isZero();
        assertThat(ConntrackFlush.entriesIn(stats(7, 1, 3), 7)).isEqualTo(3);
        assertThat(ConntrackFlush.entriesIn(stats(7, 1, 0x80000001), 7)).as("unsigned").isEqualTo(0x80000001L);
        ByteBuffer maxFirst = stats(7, 2, 262144);
        assertThat(ConntrackFlush.entriesIn(maxFirst, 7)).as("only CTA_STATS_GLOBAL_MAX_ENTRIES").isEqualTo(-1);
    }

    @Test
    void anythingButTheStatsAnswerToThisRequestGivesNoCountSoTheDeleteIsSent() {
        assertThat(ConntrackFlush.entriesIn(stats(6, 1, 0), 7)).as("an earlier request's answer").isEqualTo(-1);
        assertThat(ConntrackFlush.entriesIn(ack(7, -95), 7)).as("an error").isEqualTo(-1);
        ByteBuffer broken = stats(7, 1, 0);
        broken.putShort(20, (short) 40); // an attribute longer than the message
        assertThat(ConntrackFlush.entriesIn(broken, 7)).isEqualTo(-1);
        assertThat(ConntrackFlush.entriesIn(ByteBuffer.allocate(12), 7)).as("too short").isEqualTo(-1);
    }

    /** A GET_STATS answer to {@code seq}: CTA_STATS_GLOBAL_MAX_ENTRIES (2) first, then attribute {@code type} = {@code value}. */
    private static ByteBuffer stats(int seq, int type, int value) {
        ByteBuffer b = ByteBuffer.allocate(36).order(ByteOrder.nativeOrder());
        b.putInt(0, 36);
        b.putShort(4, (short) ((1 << 8) | 5)); // NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS
        b.putInt(8, seq);
        b.putShort(20, (short) 8).putShort(22, (short) 2).put(24, new byte[] {0, 4, 0, 0}, 0, 4); // max 262144
        b.putShort(28, (short) 8).putShort(30, (short) type);
        b.put(32, (byte) (value >>> 24)).put(33, (byte) (value >>> 16)).put(34, (byte) (value >>> 8)).put(35, (byte) value);
        return b;
    }

    /** An NLMSG_ERROR message answering sequence {@code seq} with {@code error} (0: success). */
    private static ByteBuffer ack(int seq, int error) {
        ByteBuffer b = ByteBuffer.allocate(36).order(ByteOrder.nativeOrder());
        b.putInt(0, 36);
        b.putShort(4, (short) 2); // NLMSG_ERROR
        b.putInt(8, seq);
        b.putInt(16, error);
        return b;
    }
}
