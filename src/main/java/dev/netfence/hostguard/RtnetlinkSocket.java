package dev.netfence.hostguard;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One NETLINK_ROUTE socket with its native receive buffer, borrowed for one exchange and given
 * back to the pool when the exchange completed, closed when it did not ({@link Rtnetlink}'s exchanges;
 * also its NETLINK_NETFILTER generation requests). At most {@link #POOL} idle sockets per protocol.
 */
final class RtnetlinkSocket {
    private static final int AF_NETLINK = 16;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int SOL_SOCKET = 1;
    private static final int SO_RCVTIMEO = 20;
    private static final int NETLINK_NETFILTER = 12;
    private static final int SOL_NETLINK = 270;
    private static final int NETLINK_GET_STRICT_CHK = 12;
    private static final int HEADER = 16;
    /** Idle sockets kept for reuse, per protocol; more concurrent exchanges open and close their own. */
    private static final int POOL = 8;
    private static final ConcurrentLinkedDeque<RtnetlinkSocket> IDLE_ROUTE = new ConcurrentLinkedDeque<>();
    private static final ConcurrentLinkedDeque<RtnetlinkSocket> IDLE_NETFILTER = new ConcurrentLinkedDeque<>();
    private static final byte[] KERNEL = ByteBuffer.allocate(12).order(ByteOrder.nativeOrder())
            .putShort((short) AF_NETLINK).array();
    private static final int BUFFER = 64 * 1024;
    private static final AtomicInteger SEQ = new AtomicInteger();
    private final int fd;
    private final int protocol;
    private final Memory buffer = new Memory(BUFFER);
    private int seq;

    private RtnetlinkSocket(int fd, int protocol) {
        this.fd = fd;
        this.protocol = protocol;
    }

    static RtnetlinkSocket borrow(int protocol) throws IOException {
        RtnetlinkSocket idle = idle(protocol).pollFirst();
        return idle != null ? idle : open(protocol);
    }

    private static ConcurrentLinkedDeque<RtnetlinkSocket> idle(int protocol) {
        return protocol == NETLINK_NETFILTER ? IDLE_NETFILTER : IDLE_ROUTE;
    }

    private static RtnetlinkSocket open(int protocol) throws IOException {
        int fd;
        try {
            fd = RtnetlinkLibc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
        } catch (LastErrorException e) {
            throw new IOException("cannot open a netlink socket: errno " + e.getErrorCode(), e);
        }
        RtnetlinkSocket socket = new RtnetlinkSocket(fd, protocol);
        // a kernel that never answers must not hang a worker: 5 s receive timeout
        byte[] timeval = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putLong(5).putLong(0).array();
        try {
            RtnetlinkLibc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval, timeval.length);
        } catch (LastErrorException e) {
            socket.close();
            throw new IOException("cannot set the netlink receive timeout: errno " + e.getErrorCode(), e);
        }
        return socket;
    }

    /**
     * Sets or clears {@code NETLINK_GET_STRICT_CHK} (Linux 4.20+): with it the kernel checks a
     * dump request's header and honours its filters, among them {@code IFA_TARGET_NETNSID} of an
     * address dump, which it ignores without (and answers with netfence's own addresses).
     */
    void strictChecks(boolean on) throws IOException {
        byte[] value = ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(on ? 1 : 0).array();
        try {
            RtnetlinkLibc.setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, value, value.length);
        } catch (LastErrorException e) {
            throw new IOException("cannot " + (on ? "set" : "clear") + " NETLINK_GET_STRICT_CHK: errno " + e.getErrorCode(), e);
        }
    }

    /** A sequence number for the next request, never 0 and distinct between exchanges. */
    int nextSeq() {
        seq = SEQ.updateAndGet(n -> n == Integer.MAX_VALUE ? 1 : n + 1);
        return seq;
    }

    void send(ByteBuffer message) throws IOException {
        byte[] bytes = message.array();
        try {
            RtnetlinkLibc.sendto(fd, bytes, bytes.length, 0, KERNEL, KERNEL.length);
        } catch (LastErrorException e) {
            throw new IOException("netlink send failed: errno " + e.getErrorCode(), e);
        }
    }

    /** The next datagram, read in place in the native buffer (valid until the next receive). */
    ByteBuffer receive() throws IOException {
        long n;
        try {
            n = RtnetlinkLibc.recv(fd, buffer, BUFFER, 0);
        } catch (LastErrorException e) {
            throw new IOException("netlink receive failed: errno " + e.getErrorCode(), e);
        }
        return buffer.getByteBuffer(0, n).order(ByteOrder.nativeOrder());
    }

    /** The answer to a single (non-dump) request: the first message carrying this exchange's sequence number. */
    ByteBuffer reply() throws IOException {
        while (true) {
            ByteBuffer in = receive();
            while (in.remaining() >= HEADER) {
                int start = in.position();
                int length = in.getInt(start);
                if (length < HEADER || start + length > in.limit()) {
                    throw new IOException("truncated netlink message (length " + length + ")");
                }
                if (in.getInt(start + 8) == seq) {
                    return in;
                }
                in.position(Math.min(in.limit(), start + ((length + 3) & ~3)));
            }
        }
    }

    /** Back to the pool after a complete exchange (or closed when the pool is full). */
    void giveBack() {
        if (idle(protocol).size() < POOL) {
            idle(protocol).offerFirst(this);
        } else {
            close();
        }
    }

    void close() {
        try {
            RtnetlinkLibc.close(fd);
        } catch (LastErrorException ignored) {
            // closing a socket we opened; nothing sensible to do on error
        }
    }
}
