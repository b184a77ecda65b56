package dev.netfence.hostguard;

import dev.netfence.hostguard.Rtnetlink.Link;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the answer to one rtnetlink dump ({@code RTM_GETLINK}, {@code RTM_GETADDR}; {@link #read})
 * and decides what a run of such dumps gives ({@link #attempts}), apart from the socket that
 * carries them, so both are tested with answers made by hand; and parses the links and addresses
 * they carry ({@link #parse}, {@link #parseAddress}). A workload holding CAP_NET_ADMIN decides
 * how many links and addresses its namespace has and can keep them changing, and neither may
 * make netfence read without bound or take a list that skipped some for the whole. {@link #read} stops as soon as one link more
 * than the limit has come (the rest is never read: the caller closes the socket, never pools it)
 * and notes whether any message of the answer carried {@code NLM_F_DUMP_INTR} (the kernel's
 * mark that the links changed during the dump, which may then have skipped some). Messages of
 * another sequence number are skipped. {@link #attempts} dumps again after an interrupted answer,
 * at most {@link #ATTEMPTS} times; past that, another namespace's list is refused (null: the
 * caller falls back to what it can read of its own namespace), while netfence's own namespace's
 * list is taken as read (nothing else knows its links). Stateless.
 */
final class NetlinkDump {
    /** Dumps made before an answer that keeps being interrupted is given up on. */
    static final int ATTEMPTS = 3;

    static final short NLMSG_DONE = 3;
    static final short RTM_NEWLINK = 16;
    static final short NLM_F_DUMP_INTR = 0x10;
    static final int IFLA_ADDRESS = 1;
    static final int IFLA_IFNAME = 3;
    static final int IFLA_LINK = 5;
    static final int IFLA_LINKINFO = 18;
    static final int IFLA_INFO_KIND = 1;
    static final int IFLA_LINK_NETNSID = 37;
    static final int IFLA_TARGET_NETNSID = 46;
    static final int IFINFOMSG = 16;

    private NetlinkDump() {}

    /** The next datagram of an answer. */
    @FunctionalInterface
    interface Datagrams {
        ByteBuffer next() throws IOException;
    }

    /**
     * One dump's answer: the links ({@code null} when there were more than the limit, the rest
     * unread) and whether the kernel marked it interrupted.
     */
    record Answer<T>(List<T> links, boolean interrupted) {
        boolean overLimit() {
            return links == null;
        }
    }

    /** One dump, made on a fresh or pooled socket: the answer, or an IOException that closed that socket. */
    @FunctionalInterface
    interface Dump<T> {
        Answer<T> once() throws IOException;
    }

    /** Parses one message of a dump's type: the message of {@code length} bytes at {@code start}. */
    @FunctionalInterface
    interface Parser<T> {
        T parse(ByteBuffer in, int start, int length);
    }

    /**
     * The links of one dump answered with sequence number {@code seq}, read from {@code in} until
     * {@code NLMSG_DONE}, or until one more than {@code limit} has come (then the answer is
     * {@link Answer#overLimit()} and no further datagram is read). IOException for a truncated
     * message or an error the kernel reported.
     */
    static Answer<Link> read(Datagrams in, int seq, int limit) throws IOException {
        return read(in, seq, limit, RTM_NEWLINK, "RTM_GETLINK", NetlinkDump::parse);
    }

    /**
     * As {@link #read(Datagrams, int, int)} for a dump whose answers are messages of {@code type},
     * each parsed by {@code parser}; {@code what} names the request in errors.
     */
    static <T> Answer<T> read(Datagrams in, int seq, int limit, short type, String what, Parser<T> parser)
            throws IOException {
        List<T> links = new ArrayList<>();
        boolean interrupted = false;
        while (true) {
            ByteBuffer datagram = in.next();
            while (datagram.remaining() >= Rtnetlink.HEADER) {
                int start = datagram.position();
                int length = datagram.getInt(start);
                if (length < Rtnetlink.HEADER || start + length > datagram.limit()) {
                    throw new IOException("truncated netlink message (length " + length + ")");
                }
                if (datagram.getInt(start + 8) == seq) {
                    short got = datagram.getShort(start + 4);
                    interrupted |= (datagram.getShort(start + 6) & NLM_F_DUMP_INTR) != 0;
                    if (got == NLMSG_DONE) {
                        if (length >= Rtnetlink.HEADER + 4 && datagram.getInt(start + Rtnetlink.HEADER) < 0) {
                            // the kernel ended the dump with an error (EMSGSIZE: one message larger than its
                            // dump buffer, say a link given hundreds of alternative names by a workload
                            // holding CAP_NET_ADMIN): not a whole list, answered as one over the limit
                            return new Answer<>(null, interrupted);
                        }
                        return new Answer<>(links, interrupted);
                    } else if (got == Rtnetlink.NLMSG_ERROR) {
                        Rtnetlink.checkError(datagram, start, what);
                    } else if (got == type) {
                        links.add(parser.parse(datagram, start, length));
                        if (links.size() > limit) {
                            return new Answer<>(null, interrupted);
                        }
                    }
                }
                datagram.position(Math.min(datagram.limit(), start + Rtnetlink.align(length)));
            }
        }
    }

    /**
     * The list a run of dumps gives: the first answer not interrupted; null as soon as one is over
     * the limit or ended with an error (for netfence's own namespace an IOException); after
     * {@link #ATTEMPTS} interrupted answers, null for another namespace ({@code ownNamespace}
     * false) and the last answer's links for netfence's own.
     */
    static <T> List<T> attempts(Dump<T> dump, boolean ownNamespace) throws IOException {
        for (int attempt = 1; ; attempt++) {
            Answer<T> answer = dump.once();
            if (answer.overLimit()) {
                if (ownNamespace) { // its callers take a list; netfence's own namespace is no workload's to fill
                    throw new IOException("a dump of netfence's own namespace was over its limit or ended with an"
                            + " error the kernel reported");
                }
                return null;
            }
            if (!answer.interrupted()) {
                return answer.links();
            }
            if (attempt >= ATTEMPTS) {
                // another namespace's links that kept changing may have been skipped: not a partial list
                return ownNamespace ? answer.links() : null;
            }
        }
    }

    /** The link an {@code RTM_NEWLINK} message of {@code length} bytes at {@code start} describes. */
    static Link parse(ByteBuffer in, int start, int length) {
        int ifindex = in.getInt(start + Rtnetlink.HEADER + 4);
        String name = "";
        String kind = "";
        int peer = 0;
        int netnsId = Link.NO_NETNS;
        String mac = "";
        int answeredFor = Link.NO_NETNS;
        int end = start + length;
        for (int at = start + Rtnetlink.HEADER + IFINFOMSG; at + 4 <= end; ) {
            int attrLength = Short.toUnsignedInt(in.getShort(at));
            int attrType = in.getShort(at + 2) & Rtnetlink.NLA_TYPE_MASK;
            if (attrLength < 4 || at + attrLength > end) {
                break;
            }
            switch (attrType) {
                case IFLA_ADDRESS -> mac = mac(in, at + 4, attrLength - 4);
                case IFLA_IFNAME -> name = string(in, at + 4, attrLength - 4);
                case IFLA_LINK -> peer = in.getInt(at + 4);
                case IFLA_LINK_NETNSID -> netnsId = in.getInt(at + 4);
                case IFLA_TARGET_NETNSID -> answeredFor = in.getInt(at + 4);
                case IFLA_LINKINFO -> kind = kindOf(in, at + 4, at + attrLength);
                default -> { }
            }
            at += Rtnetlink.align(attrLength);
        }
        return new Link(ifindex, name, kind, peer, netnsId, mac, answeredFor);
    }

    /** A 6-byte link-layer address as {@code aa:bb:cc:dd:ee:ff}; "" for any other length (not Ethernet). */
    private static String mac(ByteBuffer in, int at, int length) {
        if (length != 6) {
            return "";
        }
        StringBuilder sb = new StringBuilder(17);
        for (int i = 0; i < 6; i++) {
            if (i > 0) {
                sb.append(':');
            }
            sb.append(Character.forDigit((in.get(at + i) >> 4) & 0xf, 16)).append(Character.forDigit(in.get(at + i) & 0xf, 16));
        }
        return sb.toString();
    }

    static final short RTM_NEWADDR = 20;
    static final int IFADDRMSG = 8;
    static final int IFA_ADDRESS = 1;
    static final int IFA_LOCAL = 2;
    static final int IFA_FLAGS = 8;
    static final int IFA_TARGET_NETNSID = 10;
    /** An address whose duplicate address detection failed: another node's. */
    static final int IFA_F_DADFAILED = 0x08;

    /**
     * The address an {@code RTM_NEWADDR} message of {@code length} bytes at {@code start} gives its
     * link: {@code IFA_LOCAL} where present (an IPv4 address; on a point-to-point link
     * {@code IFA_ADDRESS} is the peer's), else {@code IFA_ADDRESS}, with the namespace id the kernel
     * answered for ({@code IFA_TARGET_NETNSID}, -1 when it gave none); null for a message with
     * neither or of another family; {@code failed} for an address whose duplicate address detection
     * failed (it is another node's: {@code IFA_F_DADFAILED} in the header's flags or {@code IFA_FLAGS}).
     */
    static Rtnetlink.Address parseAddress(ByteBuffer in, int start, int length) {
        int family = Byte.toUnsignedInt(in.get(start + Rtnetlink.HEADER));
        int ifindex = in.getInt(start + Rtnetlink.HEADER + 4);
        int size = family == 2 ? 4 : family == 10 ? 16 : -1; // AF_INET, AF_INET6
        byte[] local = null;
        byte[] address = null;
        int flags = Byte.toUnsignedInt(in.get(start + Rtnetlink.HEADER + 2));
        int netnsId = -1;
        int end = start + length;
        for (int at = start + Rtnetlink.HEADER + IFADDRMSG; at + 4 <= end; ) {
            int attrLength = Short.toUnsignedInt(in.getShort(at));
            int attrType = in.getShort(at + 2) & Rtnetlink.NLA_TYPE_MASK;
            if (attrLength < 4 || at + attrLength > end) {
                break;
            }
            if (attrType == IFA_FLAGS && attrLength == 8) {
                flags |= in.getInt(at + 4);
            } else if (attrType == IFA_TARGET_NETNSID && attrLength == 8) {
                netnsId = in.getInt(at + 4);
            } else if ((attrType == IFA_LOCAL || attrType == IFA_ADDRESS) && attrLength - 4 == size) {
                byte[] bytes = new byte[size];
                in.get(at + 4, bytes);
                if (attrType == IFA_LOCAL) {
                    local = bytes;
                } else {
                    address = bytes;
                }
            }
            at += Rtnetlink.align(attrLength);
        }
        byte[] chosen = local != null ? local : address;
        return chosen == null ? null : new Rtnetlink.Address(ifindex, size == 16,
                dev.netfence.policy.IpAddresses.format(chosen), netnsId, (flags & IFA_F_DADFAILED) != 0);
    }

    private static String kindOf(ByteBuffer in, int from, int end) {
        for (int at = from; at + 4 <= end; ) {
            int attrLength = Short.toUnsignedInt(in.getShort(at));
            if (attrLength < 4 || at + attrLength > end) {
                break;
            }
            if ((in.getShort(at + 2) & Rtnetlink.NLA_TYPE_MASK) == IFLA_INFO_KIND) {
                return string(in, at + 4, attrLength - 4);
            }
            at += Rtnetlink.align(attrLength);
        }
        return "";
    }

    private static String string(ByteBuffer in, int at, int length) {
        int n = 0;
        while (n < length && in.get(at + n) != 0) {
            n++;
        }
        byte[] bytes = new byte[n];
        in.get(at, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
