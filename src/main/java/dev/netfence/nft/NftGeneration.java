package dev.netfence.nft;

import com.sun.jna.LastErrorException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads the nftables ruleset generation of the network namespace the calling thread is in: one
 * {@code NFT_MSG_GETGEN} request of the {@code NFNL_SUBSYS_NFTABLES} subsystem over a
 * {@code NETLINK_NETFILTER} socket opened (lazily, once per instance) on that thread, answered by
 * {@code NFT_MSG_NEWGEN} with {@code NFTA_GEN_ID}. The kernel keeps one such 32-bit counter per
 * network namespace and increments it on every committed nftables transaction in that namespace,
 * whoever sends it and whichever table it touches; so two equal reads mean nothing in the
 * namespace's nftables ruleset changed in between. The kernel answers inside {@code send}, so the
 * reply is read without blocking. Any failure gives {@link #UNKNOWN}, which callers treat as
 * "changed" (a full read-back). The socket calls are direct-mapped ({@code NativeCalls.Netlink}):
 * through JNA's interface mapping they cost several times the kernel's part, and a quiet resync
 * makes two per container. The socket is connected to the kernel ({@code Netlink#kernelSocket}):
 * it is kept in the workload's namespace between resyncs, and a workload with CAP_NET_ADMIN
 * there could otherwise queue forged {@code NEWGEN} replies on it (its port id is listed in
 * {@code /proc/net/netlink}, the sequence numbers count up) and hide its changes. Never logs, never throws; runs on a namespace thread while away.
 * Close it before the thread goes home.
 */
final class NftGeneration implements AutoCloseable {
    /** The generation could not be read. */
    static final long UNKNOWN = -1;
    private static final short NFNL_SUBSYS_NFTABLES = 10;
    private static final short NFT_MSG_GETGEN = 16;
    private static final short NFT_MSG_NEWGEN = 15;
    private static final short NLM_F_REQUEST = 1;
    private static final short NFTA_GEN_ID = 1;

    private final NativeCalls.Libc libc;
    private final Closer closes;
    private int fd = -1;
    private int sequence;
    /** False for an instance over a kept socket: once that is closed it never opens one here (in the caller's namespace). */
    private boolean opensLazily = true;

    NftGeneration(NativeCalls.Libc libc) {
        this(libc, Closer.INLINE);
    }

    /** An instance whose socket, unless {@link #detach detached}, is closed through {@code closes}. */
    NftGeneration(NativeCalls.Libc libc, Closer closes) {
        this.libc = libc;
        this.closes = closes;
    }

    /**
     * Hands the socket over to the caller (its descriptor, or -1 when none was opened): this
     * instance forgets it and {@link #close} no longer closes it. The socket stays bound to the
     * namespace it was opened in ({@link GenerationSockets} keeps it).
     */
    int detach() {
        int taken = fd;
        fd = -1;
        return taken;
    }

    /** An instance asking over {@code socket}, a NETLINK_NETFILTER socket opened earlier (in whatever namespace). */
    static NftGeneration over(NativeCalls.Libc libc, int socket) {
        return over(libc, socket, 0);
    }

    /**
     * As {@link #over(NativeCalls.Libc, int)}, going on from sequence number {@code sequence} (the
     * last one used on the socket), so no request on a kept socket reuses a number used before.
     */
    static NftGeneration over(NativeCalls.Libc libc, int socket, int sequence) {
        NftGeneration g = new NftGeneration(libc);
        g.fd = socket;
        g.opensLazily = false;
        g.sequence = sequence;
        return g;
    }

    /** The last sequence number used on this instance's socket. */
    int sequence() {
        return sequence;
    }

    /** The namespace's ruleset generation (0 to 2^32-1), or {@link #UNKNOWN}. */
    long read() {
        try {
            if (fd < 0) {
                if (!opensLazily) {
                    return UNKNOWN;
                }
                fd = NativeCalls.Netlink.kernelSocket();
            }
            int seq = ++sequence;
            ByteBuffer msg = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
            msg.putInt(20); // nlmsg_len: header 16 + nfgenmsg 4, no attributes
            msg.putShort((short) ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN));
            msg.putShort(NLM_F_REQUEST);
            msg.putInt(seq);
            msg.putInt(0); // port id: the kernel's
            msg.put((byte) 0); // nfgen_family AF_UNSPEC
            msg.put((byte) 0); // NFNETLINK_V0
            msg.putShort((short) 0); // res_id
            byte[] bytes = msg.array();
            NativeCalls.Netlink.send(fd, bytes, bytes.length, 0);
            byte[] reply = new byte[512];
            int n = NativeCalls.Netlink.recv(fd, reply, reply.length, NativeCalls.MSG_DONTWAIT);
            return parse(ByteBuffer.wrap(reply, 0, n).order(ByteOrder.nativeOrder()), seq);
        } catch (LastErrorException | IndexOutOfBoundsException e) {
            return UNKNOWN;
        }
    }

    /**
     * Flushes the connection tracking of this socket's namespace over the socket (opened here
     * first when none is yet, as {@link #read} does), with the next sequence number, and reads the
     * acknowledgement ({@link ConntrackFlush#flushOn}): an apply trip that read the generation
     * needs no second socket for its flush. 0, or the errno.
     */
    int flushConntrack() {
        if (fd < 0) {
            if (!opensLazily) {
                return 9; // EBADF: a kept socket that was closed
            }
            try {
                fd = NativeCalls.Netlink.kernelSocket();
            } catch (LastErrorException e) {
                return e.getErrorCode();
            }
        }
        return ConntrackFlush.flushOn(fd, ++sequence);
    }

    /**
     * The {@code NFTA_GEN_ID} of an {@code NFT_MSG_NEWGEN} reply with sequence {@code seq}, or
     * {@link #UNKNOWN} for anything else (an error, another message, no such attribute).
     */
    static long parse(ByteBuffer reply, int seq) {
        if (reply.remaining() < 20) {
            return UNKNOWN;
        }
        int length = reply.getInt(0);
        int type = reply.getShort(4) & 0xffff;
        if (type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN) || reply.getInt(8) != seq
                || length > reply.remaining() || length < 20) {
            return UNKNOWN;
        }
        int at = 20; // after nlmsghdr and nfgenmsg
        while (at + 4 <= length) {
            int attrLength = reply.getShort(at) & 0xffff;
            int attrType = reply.getShort(at + 2) & 0x3fff; // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
            if (attrLength < 4 || at + attrLength > length) {
                return UNKNOWN;
            }
            if (attrType == NFTA_GEN_ID && attrLength == 8) {
                return Integer.toUnsignedLong(reply.order(ByteOrder.BIG_ENDIAN).getInt(at + 4));
            }
            at += (attrLength + 3) & ~3;
        }
        return UNKNOWN;
    }

    @Override
    public void close() {
        if (fd >= 0) {
            int socket = fd;
            fd = -1;
            closes.closeSocket(socket);
        }
    }
}
