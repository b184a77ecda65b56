package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** ConntrackFlush's reading of the kernel's acknowledgement: only the answer to this very request counts. */
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
