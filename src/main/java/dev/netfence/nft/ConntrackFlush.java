package dev.netfence.nft;

import com.sun.jna.LastErrorException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Flushes the connection-tracking table of a namespace over a NETLINK_NETFILTER socket opened in
 * it ({@link #flush}: one opened on the calling thread, in the namespace it is in;
 * {@link #flushOn}: one the caller has, e.g. the nft apply trip's generation socket): one
 * {@code IPCTNL_MSG_CT_DELETE} request of the {@code NFNL_SUBSYS_CTNETLINK} subsystem with family
 * {@code AF_UNSPEC} and no tuple, which the kernel reads as "flush every entry of both families"
 * (what {@code conntrack -F} sends), with {@code NLM_F_ACK}. The kernel handles the request inside
 * {@code send}, so the acknowledgement is already queued when it returns and is read without
 * blocking (the calls are {@link NativeCalls.Netlink}'s, direct-mapped). Returns 0 or the errno the
 * kernel (or a system call) reported; never logs. After the flush it forgets the namespace's
 * cached IPv4 routes too where a redirect may have taught it one ({@link #flushIpv4RouteCache})
 * and removes what IPv6 router advertisements and redirects taught it ({@link Ipv6LearntFlush}):
 * the rules that drop those are in force by then, and what came before them must not outlive the
 * apply either. Runs on a namespace thread while away.
 */
final class ConntrackFlush {
    private static final short NFNL_SUBSYS_CTNETLINK = 1;
    private static final short IPCTNL_MSG_CT_DELETE = 2;
    private static final short NLM_F_REQUEST = 1;
    private static final short NLM_F_ACK = 4;
    private static final short NLMSG_ERROR = 2;
    private static final int EAGAIN = 11;
    private static final java.nio.file.Path IPV4_ROUTE_FLUSH = java.nio.file.Path.of("/proc/sys/net/ipv4/route/flush");

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
     * number {@code seq}, and reads its acknowledgement; then forgets the cached IPv4 routes and
     * removes what IPv6 advertisements and redirects taught the namespace the calling thread is
     * in; 0 or the first errno.
     */
    static int flushOn(int fd, int seq) {
        try {
            ByteBuffer msg = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
            msg.putInt(20); // nlmsg_len: header 16 + nfgenmsg 4, no attributes
            msg.putShort((short) ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE));
            msg.putShort((short) (NLM_F_REQUEST | NLM_F_ACK));
            msg.putInt(seq);
            msg.putInt(0); // port id: the kernel's
            msg.put((byte) 0); // nfgen_family AF_UNSPEC: both families
            msg.put((byte) 0); // NFNETLINK_V0
            msg.putShort((short) 0); // res_id (big endian zero)
            byte[] bytes = msg.array();
            NativeCalls.Netlink.send(fd, bytes, bytes.length, 0);
            byte[] reply = new byte[1024];
            int n = NativeCalls.Netlink.recv(fd, reply, reply.length, NativeCalls.MSG_DONTWAIT);
            int errno = ackErrno(ByteBuffer.wrap(reply, 0, n).order(ByteOrder.nativeOrder()), seq);
            if (errno == 0) {
                errno = flushIpv4RouteCache();
            }
            return errno != 0 ? errno : Ipv6LearntFlush.flush();
        } catch (LastErrorException e) {
            return e.getErrorCode() == 0 ? EAGAIN : e.getErrorCode();
        }
    }

    /**
     * Forgets the IPv4 routes the namespace learned (a redirect's exception lives 300 s), by a write
     * to {@code /proc/sys/net/ipv4/route/flush}, which acts on the namespace of the writing thread:
     * a redirect taken before the apply (from a neighbour that forged the gateway) would otherwise
     * keep an allowed destination's traffic going to that neighbour after the rules that drop
     * redirects are in force. Only where the namespace ever took a redirect ({@link Ipv4Redirects}):
     * a namespace that never did has no such route, and the write's cost grows with the node's
     * namespaces. (A path MTU learnt before the apply is no longer forgotten with it: it moves no
     * traffic, and "fragmentation needed" passes from anyone after the apply too.) 0, or EIO when
     * the write failed.
     */
    static int flushIpv4RouteCache() {
        if (!Ipv4Redirects.heard()) {
            return 0;
        }
        try {
            dev.netfence.netns.ProcFile.write(IPV4_ROUTE_FLUSH, "1");
            return 0;
        } catch (java.io.IOException e) {
            return 5; // EIO
        }
    }

    /** The errno of the NLMSG_ERROR acknowledgement of request {@code seq} (0 = success); EPROTO for anything else. */
    static int ackErrno(ByteBuffer reply, int seq) {
        if (reply.remaining() < 20 || reply.getShort(4) != NLMSG_ERROR || reply.getInt(8) != seq) {
            return 71; // EPROTO
        }
        return -reply.getInt(16);
    }
}
