package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The generation socket netfence keeps in a workload's namespace takes replies from the kernel
 * only: a second netlink socket (the workload, root with CAP_NET_ADMIN in its namespace; here the
 * test's own, as root) that sends forged {@code NFT_MSG_NEWGEN} replies to the kept socket's port
 * id with every sequence number the socket will use is refused, and the generation read is the
 * kernel's. Fails on a socket that is not connected to the kernel (the forged generation is read
 * back). Runs in the test's own namespace: it only reads the nftables generation and sends
 * netlink messages between its own two sockets; no rule is touched.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class NftGenerationForgeryKernelTest {
    /** libc calls the forger needs and netfence does not. */
    interface ForgerLibc extends Library {
        int socket(int domain, int type, int protocol) throws LastErrorException;

        int getsockname(int fd, byte[] address, int[] length) throws LastErrorException;

        long sendto(int fd, byte[] buffer, long length, int flags, byte[] address, int addressLength)
                throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    @Test
    void repliesForgedByAnotherSocketAreRefusedAndTheKernelsGenerationIsRead() {
        NativeCalls natives = NativeCalls.loadLibc();
        ForgerLibc libc = Native.load("c", ForgerLibc.class);
        NftGeneration opener = new NftGeneration(natives.libc);
        long real = opener.read();
        assertThat(real).as("the kernel answers GETGEN").isNotEqualTo(NftGeneration.UNKNOWN);
        int kept = opener.detach();
        byte[] name = new byte[12];
        libc.getsockname(kept, name, new int[] {12});
        int portId = ByteBuffer.wrap(name).order(ByteOrder.nativeOrder()).getInt(4);
        long forged = (real + 1000) & 0xffffffffL;

        int forger = libc.socket(NativeCalls.AF_NETLINK, NativeCalls.SOCK_RAW, NativeCalls.NETLINK_NETFILTER);
        int accepted = 0;
        try {
            byte[] to = ByteBuffer.allocate(12).order(ByteOrder.nativeOrder())
                    .putShort((short) NativeCalls.AF_NETLINK).putShort((short) 0).putInt(portId).putInt(0).array();
            for (int seq = 1; seq <= 8; seq++) {
                byte[] reply = newGen(seq, forged);
                try {
                    libc.sendto(forger, reply, reply.length, 0, to, to.length);
                    accepted++;
                } catch (LastErrorException refused) {
                    // ECONNREFUSED: the kept socket takes messages from the kernel only
                }
            }
        } finally {
            libc.close(forger);
        }

        try (NftGeneration overKept = NftGeneration.over(natives.libc, kept)) { // closes the kept socket
            for (int i = 0; i < 8; i++) {
                assertThat(overKept.read()).as("read %d over the kept socket", i + 1).isNotEqualTo(forged)
                        .isNotEqualTo(NftGeneration.UNKNOWN);
            }
        }
        assertThat(accepted).as("forged replies the kernel queued on the kept socket").isZero();
    }

    /** An NFT_MSG_NEWGEN reply with sequence {@code seq} and generation {@code id}, as the kernel sends it. */
    private static byte[] newGen(int seq, long id) {
        ByteBuffer b = ByteBuffer.allocate(28).order(ByteOrder.nativeOrder());
        b.putInt(28).putShort((short) ((10 << 8) | 15)).putShort((short) 0).putInt(seq).putInt(0);
        b.put((byte) 0).put((byte) 0).putShort((short) 0);
        b.putShort((short) 8).putShort((short) 1); // NFTA_GEN_ID, u32 in network order
        b.order(ByteOrder.BIG_ENDIAN).putInt((int) id);
        return b.array();
    }
}
