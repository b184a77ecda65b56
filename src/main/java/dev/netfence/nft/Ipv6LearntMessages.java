package dev.netfence.nft;

import dev.netfence.nft.Ipv6Learnt.Address;
import dev.netfence.nft.Ipv6Learnt.Route;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The rtnetlink messages of {@link Ipv6LearntFlush}, made and read apart from the socket so they
 * are tested with bytes made by hand: the dump requests ({@code RTM_GETROUTE} of family
 * {@code AF_INET6}, plain or with {@code RTM_F_PREFIX}; {@code RTM_GETADDR}), the reading of one
 * dumped {@code RTM_NEWROUTE} or {@code RTM_NEWADDR} into an {@link Ipv6Learnt.Route} or
 * {@link Ipv6Learnt.Address}, and the deletions ({@code RTM_DELROUTE} naming the route by table,
 * prefixes, protocol, device, gateway and metric, with {@code RTM_F_CLONED} for a cached route;
 * {@code RTM_DELADDR} naming the address by device, prefix length and address), each asking for
 * an acknowledgement. Attributes are read with their lengths checked; a message too short for its
 * header is an {@link IllegalArgumentException}. Stateless.
 */
final class Ipv6LearntMessages {
    static final int HEADER = 16;
    static final short NLMSG_ERROR = 2;
    static final short NLMSG_DONE = 3;
    static final short RTM_NEWADDR = 20;
    static final short RTM_DELADDR = 21;
    static final short RTM_GETADDR = 22;
    static final short RTM_NEWROUTE = 24;
    static final short RTM_DELROUTE = 25;
    static final short RTM_GETROUTE = 26;
    static final int RTM_F_PREFIX = 0x800;
    static final short NLM_F_DUMP_INTR = 0x10;
    private static final short NLM_F_REQUEST = 1;
    private static final short NLM_F_ACK = 4;
    private static final short NLM_F_DUMP = 0x300;
    private static final byte AF_INET6 = 10;
    private static final int RTMSG = 12;
    private static final int IFADDRMSG = 8;
    private static final int RTA_DST = 1;
    private static final int RTA_SRC = 2;
    private static final int RTA_OIF = 4;
    private static final int RTA_GATEWAY = 5;
    private static final int RTA_PRIORITY = 6;
    private static final int RTA_TABLE = 15;
    private static final int IFA_ADDRESS = 1;
    private static final int IFA_LOCAL = 2;
    private static final int IFA_FLAGS = 8;
    private static final int IFA_PROTO = 11;
    private static final int NLA_TYPE_MASK = 0x3fff;
    /** {@code RT_TABLE_COMPAT}: the header's table byte of a table past 255 (the attribute names it). */
    private static final int RT_TABLE_COMPAT = 252;

    private Ipv6LearntMessages() {}

    /** A dump of every IPv6 route and cached route, or (with {@code RTM_F_PREFIX}) of the advertised prefixes' routes. */
    static byte[] routeDump(int seq, int rtmFlags) {
        ByteBuffer b = header(HEADER + RTMSG, RTM_GETROUTE, (short) (NLM_F_REQUEST | NLM_F_DUMP), seq);
        b.put(AF_INET6).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        b.putInt(rtmFlags);
        return b.array();
    }

    /** A dump of every IPv6 address. */
    static byte[] addressDump(int seq) {
        ByteBuffer b = header(HEADER + IFADDRMSG, RTM_GETADDR, (short) (NLM_F_REQUEST | NLM_F_DUMP), seq);
        b.put(AF_INET6).put((byte) 0).put((byte) 0).put((byte) 0).putInt(0);
        return b.array();
    }

    /** The {@code RTM_NEWROUTE} message of {@code length} bytes at {@code start} of {@code in}. */
    static Route route(ByteBuffer in, int start, int length) {
        if (length < HEADER + RTMSG) {
            throw new IllegalArgumentException("route message of " + length + " bytes");
        }
        int m = start + HEADER;
        int dstLen = in.get(m + 1) & 0xff;
        int srcLen = in.get(m + 2) & 0xff;
        int table = in.get(m + 4) & 0xff;
        int protocol = in.get(m + 5) & 0xff;
        int type = in.get(m + 7) & 0xff;
        int flags = in.getInt(m + 8);
        byte[] dst = new byte[16];
        byte[] src = new byte[16];
        byte[] gateway = null;
        int oif = 0;
        long priority = -1;
        int end = start + length;
        for (int a = m + RTMSG; a + 4 <= end; ) {
            int len = in.getShort(a) & 0xffff;
            if (len < 4 || a + len > end) {
                break;
            }
            int kind = in.getShort(a + 2) & NLA_TYPE_MASK;
            int data = len - 4;
            if (kind == RTA_DST && data == 16) {
                in.get(a + 4, dst);
            } else if (kind == RTA_SRC && data == 16) {
                in.get(a + 4, src);
            } else if (kind == RTA_GATEWAY && data == 16) {
                gateway = new byte[16];
                in.get(a + 4, gateway);
            } else if (kind == RTA_OIF && data == 4) {
                oif = in.getInt(a + 4);
            } else if (kind == RTA_PRIORITY && data == 4) {
                priority = in.getInt(a + 4) & 0xffffffffL;
            } else if (kind == RTA_TABLE && data == 4) {
                table = in.getInt(a + 4);
            }
            a += align(len);
        }
        return new Route(table, protocol, type, flags, dst, dstLen, src, srcLen, gateway, oif, priority);
    }

    /** The {@code RTM_NEWADDR} message of {@code length} bytes at {@code start} of {@code in}. */
    static Address address(ByteBuffer in, int start, int length) {
        if (length < HEADER + IFADDRMSG) {
            throw new IllegalArgumentException("address message of " + length + " bytes");
        }
        int m = start + HEADER;
        int prefixLen = in.get(m + 1) & 0xff;
        int flags = in.get(m + 2) & 0xff;
        int scope = in.get(m + 3) & 0xff;
        int ifindex = in.getInt(m + 4);
        byte[] address = null;
        byte[] local = null;
        int protocol = 0;
        int end = start + length;
        for (int a = m + IFADDRMSG; a + 4 <= end; ) {
            int len = in.getShort(a) & 0xffff;
            if (len < 4 || a + len > end) {
                break;
            }
            int kind = in.getShort(a + 2) & NLA_TYPE_MASK;
            int data = len - 4;
            if (kind == IFA_ADDRESS && data == 16) {
                address = new byte[16];
                in.get(a + 4, address);
            } else if (kind == IFA_LOCAL && data == 16) {
                local = new byte[16];
                in.get(a + 4, local);
            } else if (kind == IFA_FLAGS && data == 4) {
                flags = in.getInt(a + 4);
            } else if (kind == IFA_PROTO && data >= 1) {
                protocol = in.get(a + 4) & 0xff;
            }
            a += align(len);
        }
        byte[] own = local != null ? local : address;
        return new Address(ifindex, prefixLen, flags, scope, protocol, own == null ? new byte[16] : own);
    }

    /** The deletion of {@code r}: a cached route by its destination, device and gateway; a route also by protocol and metric. */
    static byte[] deleteRoute(Route r, int seq) {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
        b.position(HEADER);
        b.put(AF_INET6).put((byte) r.dstLen()).put((byte) r.srcLen()).put((byte) 0);
        b.put((byte) (r.table() < 256 ? r.table() : RT_TABLE_COMPAT));
        b.put((byte) (r.cloned() ? 0 : r.protocol())).put((byte) 0).put((byte) r.type());
        b.putInt(r.cloned() ? Ipv6Learnt.RTM_F_CLONED : 0);
        attribute(b, RTA_TABLE, r.table());
        if (r.dstLen() > 0) {
            attribute(b, RTA_DST, r.dst());
        }
        if (r.srcLen() > 0) {
            attribute(b, RTA_SRC, r.src());
        }
        if (r.oif() > 0) {
            attribute(b, RTA_OIF, r.oif());
        }
        if (r.gateway() != null) {
            attribute(b, RTA_GATEWAY, r.gateway());
        }
        if (!r.cloned() && r.priority() >= 0) {
            attribute(b, RTA_PRIORITY, (int) r.priority());
        }
        return finish(b, RTM_DELROUTE, seq);
    }

    /** The deletion of address {@code a}. */
    static byte[] deleteAddress(Address a, int seq) {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.nativeOrder());
        b.position(HEADER);
        b.put(AF_INET6).put((byte) a.prefixLen()).put((byte) 0).put((byte) a.scope()).putInt(a.ifindex());
        attribute(b, IFA_ADDRESS, a.address());
        return finish(b, RTM_DELADDR, seq);
    }

    /** The errno of the {@code NLMSG_ERROR} message at {@code start} (0: an acknowledgement); EPROTO when it is cut short. */
    static int errno(ByteBuffer in, int start, int length) {
        return length < HEADER + 4 ? 71 : -in.getInt(start + HEADER);
    }

    static int align(int length) {
        return (length + 3) & ~3;
    }

    private static ByteBuffer header(int length, short type, short flags, int seq) {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.nativeOrder());
        b.putInt(length).putShort(type).putShort(flags).putInt(seq).putInt(0);
        return b;
    }

    private static byte[] finish(ByteBuffer b, short type, int seq) {
        int length = b.position();
        b.putInt(0, length).putShort(4, type).putShort(6, (short) (NLM_F_REQUEST | NLM_F_ACK)).putInt(8, seq).putInt(12, 0);
        byte[] out = new byte[length];
        b.get(0, out);
        return out;
    }

    private static void attribute(ByteBuffer b, int type, int value) {
        b.putShort((short) 8).putShort((short) type).putInt(value);
    }

    private static void attribute(ByteBuffer b, int type, byte[] value) {
        b.putShort((short) (4 + value.length)).putShort((short) type).put(value);
        b.position(align(b.position()));
    }
}
