package dev.netfence.nft;

import com.sun.jna.LastErrorException;
import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * One NETLINK_NETFILTER socket of the calling thread's namespace, connected to the kernel, for
 * nftables' get and dump requests ({@link NftCensus}'s): a request is sent, and the kernel's
 * answer, or a dump's next buffer, is already queued when the call returns (the kernel fills a
 * dump inside {@code recv}), so nothing waits. Its own socket: a dump may be left unfinished and
 * the socket closed (or the next request made on a new one). Messages and attributes are read with their lengths checked; a string
 * attribute is kept as the kernel's bytes, so a name is sent back exactly as it came. Failures of
 * the socket calls are thrown: LOCK_CONTENDED for the transient ones (EINTR, EAGAIN, EBUSY,
 * ENOBUFS), FIREWALL_UNAVAILABLE for the rest, and for anything the kernel would not send. A
 * dump interrupted by a commit ({@code NLM_F_DUMP_INTR} on any of its messages, its end
 * included: it may have missed entries) is LOCK_CONTENDED, to be counted again.
 */
final class NftNetlink implements AutoCloseable {
    static final short NFT_MSG_NEWTABLE = 0;
    static final short NFT_MSG_GETTABLE = 1;
    static final short NFT_MSG_GETCHAIN = 4;
    static final short NFT_MSG_NEWRULE = 6;
    static final short NFT_MSG_GETRULE = 7;
    static final short NFT_MSG_NEWSET = 9;
    static final short NFT_MSG_GETSET = 10;
    static final short NFT_MSG_NEWSETELEM = 12;
    static final short NFT_MSG_GETSETELEM = 13;
    private static final short NFNL_SUBSYS_NFTABLES = 10;
    private static final short NLMSG_ERROR = 2;
    private static final short NLMSG_DONE = 3;
    private static final short NLM_F_REQUEST = 1;
    private static final short NLM_F_DUMP = 0x300;
    private static final short NLM_F_DUMP_INTR = 0x10;
    private static final int ENOENT = 2;
    private static final List<Integer> TRANSIENT = List.of(4, 11, 16, 105); // EINTR, EAGAIN, EBUSY, ENOBUFS
    /** A dump's messages come in buffers of at most 32 KB (the kernel's cap); twice that never truncates. */
    private static final ThreadLocal<byte[]> BUFFERS = ThreadLocal.withInitial(() -> new byte[65536]);

    /** What a visitor of one dumped message answers: whether to go on. */
    interface Visitor {
        boolean visit(ByteBuffer message);
    }

    private int fd;
    private final Closer closes;
    private final byte[] buffer = BUFFERS.get();
    private int sequence;
    /** A dump was left unfinished: its next buffers are queued on the socket, so the next request takes a new one. */
    private boolean unfinished;

    private NftNetlink(int fd, Closer closes) {
        this.fd = fd;
        this.closes = closes;
    }

    /** A new socket in the calling thread's namespace, its closes handed to {@code closes}. */
    static NftNetlink open(Closer closes) {
        try {
            return new NftNetlink(NativeCalls.Netlink.kernelSocket(), closes);
        } catch (LastErrorException e) {
            throw failure("opening a netlink socket", e.getErrorCode());
        }
    }

    /** The nfnetlink message type of nftables message {@code type}. */
    static short message(short type) {
        return (short) ((NFNL_SUBSYS_NFTABLES << 8) | type);
    }

    /** A non-dump request's reply (NEWTABLE for GETTABLE, NEWCHAIN for GETCHAIN), or null when the kernel answered ENOENT. */
    ByteBuffer get(short type, byte family, byte[]... attrs) {
        int seq = send(type, family, NLM_F_REQUEST, attrs);
        ByteBuffer reply = receive();
        int length = reply.getInt(0);
        if (reply.getInt(8) != seq || length < 20 || length > reply.remaining()) {
            throw protocol("a reply to another request");
        }
        if (reply.getShort(4) == NLMSG_ERROR) {
            int errno = -reply.getInt(16);
            if (errno == ENOENT) {
                return null;
            }
            throw failure("asking for " + describe(type), errno);
        }
        if (reply.getShort(4) != message((short) (type - 1))) {
            throw protocol("a message of type " + reply.getShort(4) + " for " + describe(type));
        }
        return reply.slice(0, length).order(ByteOrder.nativeOrder());
    }

    /**
     * Sends a dump request and shows each message to {@code visitor} until it says stop (the dump
     * is left unfinished) or the dump is done; true when it is done. A dump that ends with an
     * error is thrown, except ENOENT (what it would list was deleted meanwhile), which ends it empty.
     */
    boolean dump(short type, byte family, Visitor visitor, byte[]... attrs) {
        int seq = send(type, family, (short) (NLM_F_REQUEST | NLM_F_DUMP), attrs);
        while (true) {
            ByteBuffer batch = receive();
            int at = 0;
            while (at + 16 <= batch.limit()) {
                int length = batch.getInt(at);
                if (length < 16 || at + length > batch.limit() || batch.getInt(at + 8) != seq) {
                    throw protocol("a malformed dump");
                }
                short messageType = batch.getShort(at + 4);
                if ((batch.getShort(at + 6) & NLM_F_DUMP_INTR) != 0) { // on NLMSG_DONE too: a commit after the last part
                    unfinished = messageType != NLMSG_DONE && messageType != NLMSG_ERROR;
                    throw new EnforcementException(ErrorCode.LOCK_CONTENDED, "counting the nftables ruleset: a commit "
                            + "interrupted the dump of " + describe(type) + ", to be counted again");
                }
                if (messageType == NLMSG_DONE || messageType == NLMSG_ERROR) {
                    int errno = length >= 20 ? -batch.getInt(at + 16) : 0;
                    if (errno != 0 && errno != ENOENT) {
                        throw failure("listing " + describe(type), errno);
                    }
                    return true;
                }
                if (!visitor.visit(batch.slice(at, length).order(ByteOrder.nativeOrder()))) {
                    unfinished = true;
                    return false;
                }
                at += (length + 3) & ~3;
            }
        }
    }

    private int send(short type, byte family, short flags, byte[]... attrs) {
        if (unfinished) { // a new socket rather than the rest of a dump to drain, however long it is
            close();
            try {
                fd = NativeCalls.Netlink.kernelSocket();
            } catch (LastErrorException e) {
                fd = -1;
                throw failure("opening a netlink socket", e.getErrorCode());
            }
            unfinished = false;
        }
        int length = 20;
        for (byte[] a : attrs) {
            length += a.length;
        }
        int seq = ++sequence;
        ByteBuffer msg = ByteBuffer.allocate(length).order(ByteOrder.nativeOrder());
        msg.putInt(length).putShort(message(type)).putShort(flags).putInt(seq).putInt(0);
        msg.put(family).put((byte) 0).putShort((short) 0); // nfgenmsg: family, NFNETLINK_V0, res_id
        for (byte[] a : attrs) {
            msg.put(a);
        }
        try {
            NativeCalls.Netlink.send(fd, msg.array(), length, 0);
        } catch (LastErrorException e) {
            throw failure("sending a request for " + describe(type), e.getErrorCode());
        }
        return seq;
    }

    private ByteBuffer receive() {
        int n;
        try {
            n = NativeCalls.Netlink.recv(fd, buffer, buffer.length, NativeCalls.MSG_DONTWAIT);
        } catch (LastErrorException e) {
            throw failure("reading the kernel's answer", e.getErrorCode());
        }
        if (n < 20) {
            throw protocol("a short answer (" + n + " bytes)");
        }
        return ByteBuffer.wrap(buffer, 0, n).order(ByteOrder.nativeOrder());
    }

    static byte[] attr(short type, String value) {
        return attr(type, value.getBytes(StandardCharsets.US_ASCII));
    }

    /** A netlink attribute holding {@code value} and a terminating NUL, padded to 4 bytes. */
    static byte[] attr(short type, byte[] value) {
        int length = 4 + value.length + 1;
        ByteBuffer a = ByteBuffer.allocate((length + 3) & ~3).order(ByteOrder.nativeOrder());
        a.putShort((short) length).putShort(type).put(value);
        return a.array();
    }

    /** The payload offset and length of attribute {@code type} of a message (after its nfgenmsg), or null. */
    private static int[] find(ByteBuffer message, short type) {
        return attribute(message, 20, message.limit(), type);
    }

    /**
     * The payload offset and length of attribute {@code type} among the attributes in {@code
     * [from, to)} of {@code message} (a nested attribute's payload, say), or null; null too where
     * an attribute's length runs past {@code to}.
     */
    static int[] attribute(ByteBuffer message, int from, int to, short type) {
        int at = from;
        while (at + 4 <= to) {
            int length = message.getShort(at) & 0xffff;
            if (length < 4 || at + length > to) {
                return null;
            }
            if ((message.getShort(at + 2) & 0x3fff) == type) {
                return new int[] {at + 4, length - 4};
            }
            at += (length + 3) & ~3;
        }
        return null;
    }

    /** A 32-bit attribute (network byte order), 0 when absent (as a table's flags are when it has none). */
    static long u32(ByteBuffer message, short type) {
        int[] a = find(message, type);
        if (a == null || a[1] != 4) {
            return 0;
        }
        return Integer.toUnsignedLong(message.duplicate().order(ByteOrder.BIG_ENDIAN).getInt(a[0]));
    }

    /** A string attribute's bytes as the kernel holds them, without the terminating NUL. */
    static byte[] bytes(ByteBuffer message, short type, String missing) {
        int[] a = find(message, type);
        if (a == null || a[1] < 1) {
            throw protocol(missing);
        }
        byte[] raw = new byte[a[1]];
        message.get(a[0], raw);
        int end = 0;
        while (end < raw.length && raw[end] != 0) {
            end++;
        }
        return Arrays.copyOf(raw, end);
    }

    /** The attributes nested in attribute {@code type} (a set element list's elements). */
    static long nested(ByteBuffer message, short type) {
        int[] list = find(message, type);
        if (list == null) {
            return 0;
        }
        long count = 0;
        for (int at = list[0], end = list[0] + list[1]; at + 4 <= end; count++) {
            int length = message.getShort(at) & 0xffff;
            if (length < 4) {
                throw protocol("a malformed nested attribute");
            }
            at += (length + 3) & ~3;
        }
        return count;
    }

    private static String describe(short type) {
        return switch (type) {
            case NFT_MSG_GETTABLE -> "tables";
            case NFT_MSG_GETCHAIN -> "a chain";
            case NFT_MSG_GETRULE -> "rules";
            case NFT_MSG_GETSET -> "sets";
            case NFT_MSG_GETSETELEM -> "set elements";
            default -> "type " + type;
        };
    }

    private static EnforcementException failure(String what, int errno) {
        ErrorCode code = TRANSIENT.contains(errno) ? ErrorCode.LOCK_CONTENDED : ErrorCode.FIREWALL_UNAVAILABLE;
        return new EnforcementException(code, "counting the nftables ruleset (" + what + ") failed: errno " + errno);
    }

    static EnforcementException protocol(String what) {
        return new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                "counting the nftables ruleset failed: the kernel sent " + what);
    }

    @Override
    public void close() {
        if (fd < 0) {
            return;
        }
        int socket = fd;
        fd = -1;
        closes.closeSocket(socket);
    }
}
