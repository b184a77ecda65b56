package dev.netfence.nft;

import com.sun.jna.LastErrorException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Flushes the connection-tracking table of a namespace over a NETLINK_NETFILTER socket opened in
 * it ({@link #flush}: one opened on the calling thread, in the namespace it is in;
 * {@link #flushOn}: one the caller has, e.g. the nft apply trip's generation socket): one {@code IPCTNL_MSG_CT_DELETE} request of the
 * {@code NFNL_SUBSYS_CTNETLINK} subsystem with family {@code AF_UNSPEC} and no tuple, which the
 * kernel reads as "flush every entry of both families" (what {@code conntrack -F} sends), with
 * {@code NLM_F_ACK}. The kernel handles the request inside {@code send}, so the acknowledgement
 * is already queued when it returns and is read without blocking (the calls are
 * {@link NativeCalls.Netlink}'s, direct-mapped). The delete is sent only when the namespace has
 * entries: an {@code IPCTNL_MSG_CT_GET_STATS} request first reads the namespace's own entry count
 * ({@code CTA_STATS_GLOBAL_ENTRIES}, {@code nf_conntrack_count} of the socket's namespace, which
 * counts an entry from its allocation, before the filter hook sees the packet). The kernel's
 * flush walks the whole host's connection-tracking hash for the namespace's entries whatever
 * their number (262,144 buckets here: ≈ 120 µs of CPU for an empty namespace), while the count is
 * one answer; a count of 0 read after the new rules were committed means no flow from before
 * them exists, which is what the flush would have made true. A count the kernel does not give
 * (an error, an unexpected answer) sends the delete. Returns 0 or the errno the kernel (or a
 * system call) reported; never logs. Runs on a namespace thread while away.
 */
final class ConntrackFlush {
    private static final short NFNL_SUBSYS_CTNETLINK = 1;
    private static final short IPCTNL_MSG_CT_DELETE = 2;
    private static final short IPCTNL_MSG_CT_GET_STATS = 5;
    private static final short CTA_STATS_GLOBAL_ENTRIES = 1;
    private static final short NLM_F_REQUEST = 1;
    private static final short NLM_F_ACK = 4;
    private static final short NLMSG_ERROR = 2;
    private static final int EAGAIN = 11;

    private ConntrackFlush() {}

    /** 0 when the table was flushed; otherwise a positive errno. {@code natives}: proof that libc is bound. */
    static int flush(NativeCalls natives) {
        java.util.Objects.requireNonNull(natives, "natives");
        int fd;
        try {
            fd = NativeCalls.Netlink.kernelSocket();
        } catch (LastErrorException e) {
            return e.getErrorCode();
        }
        try {
            return flushOn(fd, 1);
        } finally {
            try {
                NativeCalls.Netlink.close(fd);
            } catch (LastErrorException ignored) {
                // nothing useful to do with a failed close of a socket we only read from
            }
        }
    }

    /**
     * Sends the flush over {@code fd}, an open NETLINK_NETFILTER socket of the namespace to flush
     * (one opened here, or the nft backend's generation socket of the same trip), with sequence
     * number {@code seq}, and reads its acknowledgement; 0 or the errno.
     */
    static int flushOn(int fd, int seq) {
        try {
            byte[] reply = new byte[1024];
            if (entries(fd, seq, reply) == 0) {
                return 0;
            }
            byte[] request = request(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, seq);
            NativeCalls.Netlink.send(fd, request, request.length, 0);
            int n = NativeCalls.Netlink.recv(fd, reply, reply.length, NativeCalls.MSG_DONTWAIT);
            return ackErrno(ByteBuffer.wrap(reply, 0, n).order(ByteOrder.nativeOrder()), seq);
        } catch (LastErrorException e) {
            return e.getErrorCode() == 0 ? EAGAIN : e.getErrorCode();
        }
    }

    /** The namespace's connection-tracking entry count, or -1 when the kernel gave none (see the class comment). */
    private static long entries(int fd, int seq, byte[] reply) {
        try {
            byte[] request = request(IPCTNL_MSG_CT_GET_STATS, NLM_F_REQUEST, seq);
            NativeCalls.Netlink.send(fd, request, request.length, 0);
            int n = NativeCalls.Netlink.recv(fd, reply, reply.length, NativeCalls.MSG_DONTWAIT);
            return entriesIn(ByteBuffer.wrap(reply, 0, n).order(ByteOrder.nativeOrder()), seq);
        } catch (LastErrorException e) {
            return -1;
        }
    }

    /** A ctnetlink request of {@code type} with no attributes: header 16 bytes + nfgenmsg 4 (family AF_UNSPEC: both). */
    private static byte[] request(short type, int flags, int seq) {
        ByteBuffer msg = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
        msg.putInt(20); // nlmsg_len
        msg.putShort((short) ((NFNL_SUBSYS_CTNETLINK << 8) | type));
        msg.putShort((short) flags);
        msg.putInt(seq);
        msg.putInt(0); // port id: the kernel's
        msg.put((byte) 0); // nfgen_family AF_UNSPEC: both families
        msg.put((byte) 0); // NFNETLINK_V0
        msg.putShort((short) 0); // res_id (big endian zero)
        return msg.array();
    }

    /**
     * {@code CTA_STATS_GLOBAL_ENTRIES} (a big-endian u32) of a {@code GET_STATS} answer to request
     * {@code seq}; -1 for anything else (an error, another message, no such attribute).
     */
    static long entriesIn(ByteBuffer reply, int seq) {
        if (reply.remaining() < 20 || reply.getShort(4) != (short) ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS)
                || reply.getInt(8) != seq) {
            return -1;
        }
        int end = Math.min(reply.limit(), reply.getInt(0));
        for (int at = 20; at + 4 <= end; ) {
            int length = Short.toUnsignedInt(reply.getShort(at));
            if (length < 4 || at + length > end) {
                return -1;
            }
            if ((reply.getShort(at + 2) & 0x3fff) == CTA_STATS_GLOBAL_ENTRIES && length >= 8) {
                long value = 0;
                for (int i = 0; i < 4; i++) {
                    value = (value << 8) | (reply.get(at + 4 + i) & 0xff); // network byte order
                }
                return value;
            }
            at += (length + 3) & ~3;
        }
        return -1;
    }

    /** The errno of the NLMSG_ERROR acknowledgement of request {@code seq} (0 = success); EPROTO for anything else. */
    static int ackErrno(ByteBuffer reply, int seq) {
        if (reply.remaining() < 20 || reply.getShort(4) != NLMSG_ERROR || reply.getInt(8) != seq) {
            return 71; // EPROTO
        }
        return -reply.getInt(16);
    }
}
