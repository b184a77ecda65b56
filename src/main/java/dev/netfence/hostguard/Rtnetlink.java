package dev.netfence.hostguard;

import com.sun.jna.LastErrorException;
import dev.netfence.netns.PinnedNamespace;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The netlink questions the host guard asks the kernel, answered in-process over a
 * {@code NETLINK_ROUTE} socket of netfence's own network namespace (JNA: {@code socket},
 * {@code sendto}, {@code recv}; no {@code ip} process): the links of this namespace (or of
 * another, by its id) with their kind, peer ifindex and the id of the namespace the peer lives in
 * ({@code RTM_GETLINK} dump), one link by its index ({@code RTM_GETLINK} request), and which id
 * this namespace gives another one, named by an open descriptor ({@code RTM_GETNSID} with
 * {@code NETNSA_FD}; {@code RTM_NEWNSID} to have the kernel assign one); and, through
 * {@link HostRulesetGeneration}, the generation of this namespace's nftables ruleset. Only the kernel's
 * answers are used: nothing the container can write decides which host interface is its peer.
 * Sockets are kept in a small process-wide pool and reused, each with its own native receive
 * buffer (answers are read in place, not copied through a Java array); an exchange that fails
 * closes its socket instead of returning it, so a half-read answer is never seen by the next one,
 * and a reply whose sequence number is not the request's is skipped. Thread-safe. Failures are {@link IOException}s.
 */
public final class Rtnetlink {
    /**
     * A link: its index, name, kind ("veth", "bridge", ... or ""), peer, link-layer address
     * ({@code aa:bb:cc:dd:ee:ff} lower case, "" when it has none), and the id of the namespace the
     * kernel said it answered for ({@code IFLA_TARGET_NETNSID} echoed; {@link #NO_NETNS}: none,
     * netfence's own).
     */
    public record Link(int ifindex, String name, String kind, int peerIfindex, int peerNetnsId, String mac,
            int answeredFor) {
        /** The id a link without a peer in another namespace reports as {@link #peerNetnsId}. */
        public static final int NO_NETNS = -1;

        /** A link of netfence's own namespace. */
        public Link(int ifindex, String name, String kind, int peerIfindex, int peerNetnsId, String mac) {
            this(ifindex, name, kind, peerIfindex, peerNetnsId, mac, NO_NETNS);
        }

        /** A link of netfence's own namespace without a link-layer address. */
        public Link(int ifindex, String name, String kind, int peerIfindex, int peerNetnsId) {
            this(ifindex, name, kind, peerIfindex, peerNetnsId, "");
        }
    }

    /**
     * An address of a link: the link's index, the family, the address as text (RFC 5952 for IPv6),
     * and the id of the namespace the kernel said it answered for (-1: netfence's own).
     */
    /** An address of a link; {@code failed}: its duplicate address detection failed (another node holds it). */
    public record Address(int ifindex, boolean ipv6, String address, int netnsId, boolean failed) {
        public Address(int ifindex, boolean ipv6, String address, int netnsId) {
            this(ifindex, ipv6, address, netnsId, false);
        }
    }

    private static final int NETLINK_ROUTE = 0;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;

    static final short NLMSG_ERROR = 2;
    private static final short RTM_GETLINK = 18;
    private static final short RTM_GETADDR = 22;
    private static final short RTM_NEWNSID = 88;
    private static final short RTM_GETNSID = 90;
    static final short NLM_F_REQUEST = 0x1;
    private static final short NLM_F_ACK = 0x4;
    private static final short NLM_F_DUMP = 0x300;

    private static final int IFLA_TARGET_NETNSID = NetlinkDump.IFLA_TARGET_NETNSID;
    private static final int IFA_TARGET_NETNSID = 10;
    private static final int NETNSA_NSID = 1;
    private static final int NETNSA_FD = 3;
    static final int NLA_TYPE_MASK = 0x3fff;
    private static final int ENODEV = 19;
    private static final int EEXIST = 17;

    static final int HEADER = 16;
    private static final int RTGENMSG = 4;

    /** Every link of netfence's own network namespace. */
    public List<Link> links() throws IOException {
        return dump(Link.NO_NETNS, Integer.MAX_VALUE);
    }

    /**
     * Every link of the namespace netfence's namespace calls {@code netnsId}
     * ({@code IFLA_TARGET_NETNSID}, Linux 4.20+): the container's interfaces, seen without entering
     * its namespace; peer namespace ids in the answer are, again, netfence's ids. Null as soon as
     * there are more than {@code limit} (the rest not read), or when three dumps in a row were
     * interrupted by changes there (a dump interrupted so may have skipped links): never a list
     * that may be partial.
     */
    public List<Link> linksOf(int netnsId, int limit) throws IOException {
        if (netnsId < 0) {
            throw new IllegalArgumentException("netnsId must be at least 0, was: " + netnsId);
        }
        List<Link> links = dump(netnsId, limit);
        if (links != null) {
            for (Link link : links) {
                answeredFor(link, netnsId, "link dump");
            }
        }
        return links;
    }

    /**
     * IOException unless {@code link} is the answer for the namespace asked for: a kernel that did
     * not honour {@code IFLA_TARGET_NETNSID} answers for netfence's own namespace, whose links
     * would be taken for the container's.
     */
    static Link answeredFor(Link link, int netnsId, String what) throws IOException {
        if (link.answeredFor() != netnsId) {
            throw new IOException("the " + what + " of namespace id " + netnsId + " was answered for "
                    + (link.answeredFor() == Link.NO_NETNS ? "netfence's own namespace" : "namespace id " + link.answeredFor())
                    + " (IFLA_TARGET_NETNSID not honoured)");
        }
        return link;
    }

    /**
     * The link of netfence's own namespace with index {@code ifindex}, or empty when there is none
     * ({@code ENODEV}): one request and one answer, however many links the host has.
     */
    public Optional<Link> link(int ifindex) throws IOException {
        return link(Link.NO_NETNS, ifindex);
    }

    /**
     * The link with index {@code ifindex} of the namespace netfence's namespace calls
     * {@code netnsId} ({@code IFLA_TARGET_NETNSID}), or of netfence's own for
     * {@link Link#NO_NETNS}; empty when there is none.
     */
    public Optional<Link> link(int netnsId, int ifindex) throws IOException {
        if (ifindex < 1) {
            throw new IllegalArgumentException("ifindex must be positive, was: " + ifindex);
        }
        RtnetlinkSocket socket = RtnetlinkSocket.borrow(NETLINK_ROUTE);
        try {
            ByteBuffer request = message(RTM_GETLINK, NLM_F_REQUEST, NetlinkDump.IFINFOMSG, netnsId < 0 ? 0 : 8,
                    socket.nextSeq());
            request.putInt(HEADER + 4, ifindex);
            if (netnsId >= 0) {
                request.position(HEADER + NetlinkDump.IFINFOMSG);
                request.putShort((short) 8).putShort((short) IFLA_TARGET_NETNSID).putInt(netnsId);
            }
            socket.send(request);
            ByteBuffer in = socket.reply();
            int start = in.position();
            short type = in.getShort(start + 4);
            Optional<Link> out;
            if (type == NLMSG_ERROR) {
                int errno = -in.getInt(start + HEADER);
                if (errno != ENODEV) {
                    checkError(in, start, "RTM_GETLINK");
                    throw new IOException("RTM_GETLINK: acknowledged without an answer");
                }
                out = Optional.empty();
            } else if (type == NetlinkDump.RTM_NEWLINK) {
                out = Optional.of(answeredFor(NetlinkDump.parse(in, start, in.getInt(start)), netnsId, "link request"));
            } else {
                throw new IOException("RTM_GETLINK: unexpected reply type " + type);
            }
            socket.giveBack();
            return out;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * The links of {@code target}'s namespace (or netfence's), null past {@code limit} (the socket
     * is then closed mid-dump) or when {@code target}'s dumps kept being interrupted.
     */
    private List<Link> dump(int target, int limit) throws IOException {
        return NetlinkDump.attempts(() -> dumpOnce(RTM_GETLINK, NetlinkDump.IFINFOMSG, IFLA_TARGET_NETNSID, target, false,
                limit, NetlinkDump.RTM_NEWLINK, "RTM_GETLINK", NetlinkDump::parse), target < 0);
    }

    /**
     * One dump of {@code type} (a zeroed header of {@code header} bytes, then, for {@code target} of
     * 0 or more, the attribute {@code targetAttribute} naming that namespace), read up to
     * {@code limit} messages of {@code answerType}. The socket goes back to the pool after a whole
     * answer and is closed otherwise (the rest unread, or a failure). {@code strict}:
     * {@code NETLINK_GET_STRICT_CHK} set for the dump (cleared before the socket goes back).
     */
    private static <T> NetlinkDump.Answer<T> dumpOnce(short type, int header, int targetAttribute, int target,
            boolean strict, int limit, short answerType, String what, NetlinkDump.Parser<T> parser) throws IOException {
        RtnetlinkSocket socket = RtnetlinkSocket.borrow(NETLINK_ROUTE);
        try {
            int seq = socket.nextSeq();
            ByteBuffer request = message(type, (short) (NLM_F_REQUEST | NLM_F_DUMP), header, target < 0 ? 0 : 8, seq);
            if (target >= 0) {
                request.position(HEADER + header);
                request.putShort((short) 8).putShort((short) targetAttribute).putInt(target);
            }
            if (strict) {
                socket.strictChecks(true);
            }
            socket.send(request);
            NetlinkDump.Answer<T> answer = NetlinkDump.read(socket::receive, seq, limit, answerType, what, parser);
            if (answer.overLimit()) {
                socket.close(); // the rest of the dump is never read: not to be borrowed again
            } else {
                if (strict) {
                    socket.strictChecks(false); // pooled for requests written without it in mind
                }
                socket.giveBack();
            }
            return answer;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * Every address of netfence's own namespace (the host's), both families, as read after three
     * dumps that changes there kept interrupting (the host's own links are taken so too).
     */
    public List<Address> hostAddresses() throws IOException {
        List<Address> read = NetlinkDump.attempts(() -> dumpOnce(RTM_GETADDR, NetlinkDump.IFADDRMSG, IFA_TARGET_NETNSID,
                Link.NO_NETNS, false, Integer.MAX_VALUE, NetlinkDump.RTM_NEWADDR, "RTM_GETADDR", NetlinkDump::parseAddress),
                true);
        return read.stream().filter(a -> a != null && !a.failed()).toList();
    }

    /**
     * Every address of the namespace netfence's namespace calls {@code netnsId}
     * ({@code RTM_GETADDR} dump with {@code IFA_TARGET_NETNSID}, Linux 4.20+), both families; null
     * past {@code limit} (the rest not read) or when three dumps in a row were interrupted by
     * changes there: never a list that may be partial. Addresses whose duplicate address detection
     * failed are marked {@code failed}. IOException when the kernel answered for another namespace.
     */
    public List<Address> addressesOf(int netnsId, int limit) throws IOException {
        if (netnsId < 0) {
            throw new IllegalArgumentException("netnsId must be at least 0, was: " + netnsId);
        }
        // without NETLINK_GET_STRICT_CHK the kernel ignores IFA_TARGET_NETNSID and dumps netfence's own
        List<Address> read = NetlinkDump.attempts(() -> dumpOnce(RTM_GETADDR, NetlinkDump.IFADDRMSG, IFA_TARGET_NETNSID,
                netnsId, true, limit, NetlinkDump.RTM_NEWADDR, "RTM_GETADDR", NetlinkDump::parseAddress), false);
        if (read == null) {
            return null;
        }
        List<Address> out = read.stream().filter(java.util.Objects::nonNull).toList();
        for (Address a : out) {
            if (a.netnsId() != netnsId) {
                // a kernel that ignored the filter answers with netfence's own addresses
                throw new IOException("the address dump of namespace id " + netnsId + " was answered for namespace id "
                        + a.netnsId() + " (IFA_TARGET_NETNSID not honoured)");
            }
        }
        return out;
    }

    /**
     * The id netfence's namespace gives the namespace {@code nsFile} leads to (e.g. a pinned
     * {@code /proc/<pid>/fd/<n>}), or {@link Link#NO_NETNS} when it has none yet (the kernel
     * assigns one when it reports a peer there, or on {@link #assignNetnsId}). A pinned path's
     * descriptor is passed as it is, never opened a second time (see
     * {@link PinnedNamespace#descriptorOf}); any other path is opened for the question and closed.
     */
    public int netnsIdOf(Path nsFile) throws IOException {
        return withDescriptor(nsFile, this::netnsIdOf);
    }

    /**
     * Gives the namespace {@code nsFile} leads to an id in netfence's namespace when it has none
     * ({@code RTM_NEWNSID} with id -1: the kernel picks a free one, as {@code ip netns set NAME
     * auto} does; an id is bookkeeping of netfence's namespace, dropped by the kernel when that
     * namespace ends, and no rule or link changes), and returns its id. Costs two small exchanges
     * where the alternative, a dump of the host's links, grows with the host's interfaces.
     */
    public int assignNetnsId(Path nsFile) throws IOException {
        return withDescriptor(nsFile, fd -> {
            RtnetlinkSocket socket = RtnetlinkSocket.borrow(NETLINK_ROUTE);
            try {
                ByteBuffer request = message(RTM_NEWNSID, (short) (NLM_F_REQUEST | NLM_F_ACK), RTGENMSG, 16,
                        socket.nextSeq());
                request.position(HEADER + RTGENMSG);
                request.putShort((short) 8).putShort((short) NETNSA_NSID).putInt(-1);
                request.putShort((short) 8).putShort((short) NETNSA_FD).putInt(fd);
                socket.send(request);
                ByteBuffer in = socket.reply();
                int start = in.position();
                if (in.getShort(start + 4) != NLMSG_ERROR) {
                    throw new IOException("RTM_NEWNSID: unexpected reply type " + in.getShort(start + 4));
                }
                if (-in.getInt(start + HEADER) != EEXIST) { // already has one (a concurrent look-up gave it)
                    checkError(in, start, "RTM_NEWNSID");
                }
                socket.giveBack();
            } catch (IOException | RuntimeException e) {
                socket.close();
                throw e;
            }
            return netnsIdOf(fd);
        });
    }

    /** A question about a namespace named by a descriptor. */
    @FunctionalInterface
    private interface ByDescriptor {
        int ask(int fd) throws IOException;
    }

    private static int withDescriptor(Path nsFile, ByDescriptor question) throws IOException {
        int held = PinnedNamespace.descriptorOf(nsFile);
        int fd = held;
        if (held < 0) {
            try {
                fd = RtnetlinkLibc.open(nsFile.toString(), O_RDONLY | O_CLOEXEC);
            } catch (LastErrorException e) {
                throw new IOException("cannot open " + nsFile + ": errno " + e.getErrorCode(), e);
            }
        }
        try {
            return question.ask(fd);
        } finally {
            if (held < 0) {
                try {
                    RtnetlinkLibc.close(fd);
                } catch (LastErrorException ignored) {
                    // a descriptor we opened ourselves; nothing to do if close reports an error
                }
            }
        }
    }

    private int netnsIdOf(int fd) throws IOException {
        RtnetlinkSocket socket = RtnetlinkSocket.borrow(NETLINK_ROUTE);
        try {
            ByteBuffer request = message(RTM_GETNSID, NLM_F_REQUEST, RTGENMSG, 8, socket.nextSeq());
            request.position(HEADER + RTGENMSG);
            request.putShort((short) 8).putShort((short) NETNSA_FD).putInt(fd);
            socket.send(request);
            ByteBuffer in = socket.reply();
            int start = in.position();
            short type = in.getShort(start + 4);
            if (type == NLMSG_ERROR) {
                checkError(in, start, "RTM_GETNSID");
                throw new IOException("RTM_GETNSID: acknowledged without an answer");
            }
            if (type != RTM_NEWNSID) {
                throw new IOException("RTM_GETNSID: unexpected reply type " + type);
            }
            int length = in.getInt(start);
            int id = Link.NO_NETNS;
            for (int at = start + HEADER + RTGENMSG; at + 4 <= start + length; ) {
                int attrLength = Short.toUnsignedInt(in.getShort(at));
                int attrType = in.getShort(at + 2) & NLA_TYPE_MASK;
                if (attrLength < 4) {
                    break;
                }
                if (attrType == NETNSA_NSID && attrLength >= 8) {
                    id = in.getInt(at + 4);
                    break;
                }
                at += align(attrLength);
            }
            socket.giveBack();
            return id;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    static void checkError(ByteBuffer in, int start, String what) throws IOException {
        int errno = -in.getInt(start + HEADER);
        if (errno != 0) {
            throw new IOException(what + " failed: errno " + errno);
        }
    }

    static ByteBuffer message(short type, short flags, int bodyLength, int attributes, int seq) {
        int length = HEADER + bodyLength + attributes;
        ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.nativeOrder());
        buffer.putInt(length).putShort(type).putShort(flags).putInt(seq).putInt(0);
        return buffer.position(0);
    }

    static int align(int length) {
        return (length + 3) & ~3;
    }

    /** The nf_tables ruleset generation of netfence's namespace: see {@link HostRulesetGeneration}. */
    public long nftGeneration() throws IOException {
        return HostRulesetGeneration.read();
    }
}
