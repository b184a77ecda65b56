package dev.netfence.nft;

import com.sun.jna.LastErrorException;
import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Counts, over raw netlink and without listing anything, what the tables netfence reads back hold
 * in the namespace the calling thread is in, so that a read-back never costs more than netfence's
 * own plan: a workload holding CAP_NET_ADMIN can fill its namespace's ruleset (100,000 rules made
 * one apply take 20 s and 1.3 GB when the whole ruleset was listed through libnftables and
 * parsed), and each resync after a commit of its own would pay that again. What it counts:
 * netfence's table {@code inet netfence} (present; its use count, i.e. chains, named sets,
 * objects and flowtables; its sets, anonymous ones included; its rules, counted only up to one
 * more than the plan has); and, for the iptables backend's leftovers, whether {@code ip filter} or
 * {@code ip6 filter} holds a {@code NETFENCE-OUT}/{@code NETFENCE-IN} chain, and if so that table's
 * rules, sets and set elements, counted up to {@link #LIMIT} + 1. Each dump is filtered by table
 * in the kernel, so another table of any size costs nothing here; a count stops where its bound
 * is passed and the census ends there (its socket, opened per census and connected to the
 * kernel, is closed with the dump unfinished). Failures of the socket calls are thrown:
 * LOCK_CONTENDED for the transient ones (EINTR, EAGAIN, EBUSY, ENOBUFS), FIREWALL_UNAVAILABLE for
 * the rest. Runs on a namespace thread while away; never logs.
 */
final class NftCensus implements AutoCloseable {
    /** The most rules, sets and set elements netfence lists back from a table of the iptables backend's leftovers. */
    static final int LIMIT = 10_000;

    /**
     * What the census found.
     *
     * @param counted whether netfence's table was counted (the next four fields); not after
     *     netfence's own transaction replaced it ({@link #leftovers})
     * @param table whether {@code inet netfence} exists
     * @param tableUse its use count (chains, named sets, objects, flowtables); 2 for a table netfence wrote
     * @param tableSets its sets, anonymous ones included; 0 for a table netfence wrote
     * @param tableRules its rules, counted up to one more than the plan has
     * @param leftovers the families ({@code ip}, {@code ip6}) whose {@code filter} table holds a
     *     netfence chain of the iptables backend, each with its size (the census stops at the
     *     first count past its bound: at a set in netfence's table, at a rule more than the plan
     *     has, at a leftover table over {@link #LIMIT}; what comes after it is not counted)
     */
    record Counts(boolean counted, boolean table, long tableUse, long tableSets, long tableRules,
            List<LeftoverTable> leftovers) {
        Counts {
            leftovers = List.copyOf(leftovers);
        }

        /** A census of the leftovers only. */
        static Counts ofLeftovers(List<LeftoverTable> leftovers) {
            return new Counts(false, false, 0, 0, 0, leftovers);
        }
    }

    /** A {@code filter} table holding the iptables backend's chains: its family and its rules, sets and set elements (up to {@link #LIMIT} + 1). */
    record LeftoverTable(String family, long size) {}

    private static final short NFNL_SUBSYS_NFTABLES = 10;
    private static final short NFT_MSG_NEWTABLE = 0;
    private static final short NFT_MSG_GETTABLE = 1;
    private static final short NFT_MSG_GETCHAIN = 4;
    private static final short NFT_MSG_NEWRULE = 6;
    private static final short NFT_MSG_GETRULE = 7;
    private static final short NFT_MSG_NEWSET = 9;
    private static final short NFT_MSG_GETSET = 10;
    private static final short NFT_MSG_NEWSETELEM = 12;
    private static final short NFT_MSG_GETSETELEM = 13;
    private static final short NLMSG_ERROR = 2;
    private static final short NLMSG_DONE = 3;
    private static final short NLM_F_REQUEST = 1;
    private static final short NLM_F_DUMP = 0x300;
    private static final byte NFPROTO_INET = 1;
    private static final byte NFPROTO_IPV4 = 2;
    private static final byte NFPROTO_IPV6 = 10;
    /** NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE: all 1. */
    private static final short ATTR_TABLE = 1;
    private static final short NFTA_TABLE_USE = 3;
    private static final short NFTA_CHAIN_NAME = 3;
    private static final short NFTA_SET_NAME = 2;
    private static final short NFTA_SET_ELEM_LIST_SET = 2;
    private static final short NFTA_SET_ELEM_LIST_ELEMENTS = 3;
    private static final int ENOENT = 2;
    private static final List<Integer> TRANSIENT = List.of(4, 11, 16, 105); // EINTR, EAGAIN, EBUSY, ENOBUFS
    /** A dump's messages come in buffers of at most 32 KB (the kernel's cap); twice that never truncates. */
    private static final ThreadLocal<byte[]> BUFFERS = ThreadLocal.withInitial(() -> new byte[65536]);

    private final int fd;
    private final boolean owned;
    private final java.util.function.IntSupplier sequences;
    private final byte[] buffer = BUFFERS.get();

    private NftCensus(int fd, boolean owned, java.util.function.IntSupplier sequences) {
        this.fd = fd;
        this.owned = owned;
        this.sequences = sequences;
    }

    /** A census over a socket of its own, which it may leave with a dump unfinished and closes. */
    private static NftCensus fresh() {
        int fd;
        try {
            fd = NativeCalls.Netlink.kernelSocket();
        } catch (LastErrorException e) {
            throw failure("opening a netlink socket", e.getErrorCode());
        }
        int[] sequence = {0};
        return new NftCensus(fd, true, () -> ++sequence[0]);
    }

    /**
     * The whole census of the calling thread's namespace (the reconciler's read-back: netfence's
     * table may hold whatever a workload added since the last one); {@code planRules} is how many
     * rules netfence's table should hold.
     */
    static Counts take(int planRules) {
        try (NftCensus census = fresh()) {
            return census.count(planRules);
        }
    }

    /**
     * The leftovers part of the census only, for the read-back right after netfence's own
     * transaction replaced its table (which then holds the plan: a workload's later additions are
     * found by the next resync's census). The lookups go over {@code fd}, a NETLINK_NETFILTER
     * socket of the namespace the caller already has (the apply trip's generation socket), with
     * sequence numbers from {@code sequences}; only a leftover table to size opens a socket of its
     * own for its dumps. Four requests at most when there is nothing to remove.
     */
    static Counts leftovers(int fd, java.util.function.IntSupplier sequences) {
        NftCensus census = new NftCensus(fd, false, sequences);
        return Counts.ofLeftovers(census.leftoverTables());
    }

    private Counts count(int planRules) {
        List<LeftoverTable> leftovers = List.of();
        ByteBuffer table = get(NFT_MSG_GETTABLE, NFPROTO_INET, attr(ATTR_TABLE, NftRenderer.TABLE));
        long use = 0;
        long rules = 0;
        if (table != null) {
            use = u32(table, NFTA_TABLE_USE);
            long sets = dump(NFT_MSG_GETSET, NFPROTO_INET, 1, null, attr(ATTR_TABLE, NftRenderer.TABLE));
            if (sets > 0) {
                return new Counts(true, true, use, sets, 0, leftovers);
            }
            rules = dump(NFT_MSG_GETRULE, NFPROTO_INET, planRules + 1L, null, attr(ATTR_TABLE, NftRenderer.TABLE));
            if (rules > planRules) {
                return new Counts(true, true, use, 0, rules, leftovers);
            }
        }
        return new Counts(true, table != null, use, 0, rules, leftoverTables());
    }

    /** The {@code filter} tables holding the iptables backend's chains, each sized (the count stops at the first over {@link #LIMIT}). */
    private List<LeftoverTable> leftoverTables() {
        List<LeftoverTable> leftovers = new ArrayList<>();
        for (byte family : new byte[] {NFPROTO_IPV4, NFPROTO_IPV6}) {
            if (!holdsIptablesChain(family)) {
                continue;
            }
            long size;
            if (owned) {
                size = leftoverSize(family);
            } else {
                try (NftCensus sizing = fresh()) { // its dumps may be left unfinished: not on the caller's socket
                    size = sizing.leftoverSize(family);
                }
            }
            leftovers.add(new LeftoverTable(family == NFPROTO_IPV4 ? "ip" : "ip6", size));
            if (size > LIMIT) {
                break;
            }
        }
        return leftovers;
    }

    private boolean holdsIptablesChain(byte family) {
        if (get(NFT_MSG_GETTABLE, family, attr(ATTR_TABLE, "filter")) == null) {
            return false;
        }
        for (String chain : NftRuleset.IPTABLES_CHAINS) {
            if (get(NFT_MSG_GETCHAIN, family, attr(ATTR_TABLE, "filter"), attr(NFTA_CHAIN_NAME, chain)) != null) {
                return true;
            }
        }
        return false;
    }

    /** Rules, sets and set elements of {@code family filter}, up to {@link #LIMIT} + 1. */
    private long leftoverSize(byte family) {
        long bound = LIMIT + 1L;
        long size = dump(NFT_MSG_GETRULE, family, bound, null, attr(ATTR_TABLE, "filter"));
        List<String> sets = new ArrayList<>();
        if (size < bound) {
            size += dump(NFT_MSG_GETSET, family, bound - size, sets, attr(ATTR_TABLE, "filter"));
        }
        for (int i = 0; i < sets.size() && size < bound; i++) {
            size += dump(NFT_MSG_GETSETELEM, family, bound - size, null, attr(ATTR_TABLE, "filter"),
                    attr(NFTA_SET_ELEM_LIST_SET, sets.get(i)));
        }
        return Math.min(size, bound);
    }

    /** A non-dump request's reply, or null when the kernel answered ENOENT. */
    private ByteBuffer get(short type, byte family, byte[]... attrs) {
        int seq = send(type, family, NLM_F_REQUEST, attrs);
        ByteBuffer reply = receive();
        int length = reply.getInt(0);
        int replyType = reply.getShort(4) & 0xffff;
        if (reply.getInt(8) != seq || length < 20 || length > reply.remaining()) {
            throw protocol("a reply to another request");
        }
        if (replyType == NLMSG_ERROR) {
            int errno = -reply.getInt(16);
            if (errno == ENOENT) {
                return null;
            }
            throw failure("asking for " + describe(type), errno);
        }
        if (replyType != message((short) (type - 1))) { // NEWTABLE, NEWCHAIN answer GETTABLE, GETCHAIN
            throw protocol("a message of type " + replyType + " for " + describe(type));
        }
        return reply.slice(0, length).order(ByteOrder.nativeOrder());
    }

    /**
     * Sends a dump request and counts what it lists, up to {@code bound}: rules and sets one per
     * message, set elements one per element; stops (leaving the dump unfinished) once the count
     * reaches {@code bound}. The names of the sets listed go to {@code names} when not null.
     */
    private long dump(short type, byte family, long bound, List<String> names, byte[]... attrs) {
        int seq = send(type, family, (short) (NLM_F_REQUEST | NLM_F_DUMP), attrs);
        long count = 0;
        while (true) {
            ByteBuffer batch = receive();
            int at = 0;
            while (at + 16 <= batch.limit()) {
                int length = batch.getInt(at);
                int messageType = batch.getShort(at + 4) & 0xffff;
                if (length < 16 || at + length > batch.limit() || batch.getInt(at + 8) != seq) {
                    throw protocol("a malformed dump");
                }
                if (messageType == NLMSG_DONE) {
                    return count;
                }
                if (messageType == NLMSG_ERROR) {
                    throw failure("listing " + describe(type), length >= 20 ? -batch.getInt(at + 16) : 71);
                }
                ByteBuffer message = batch.slice(at, length).order(ByteOrder.nativeOrder());
                if (messageType == message(NFT_MSG_NEWSETELEM)) {
                    count += elements(message);
                } else if (messageType == message(NFT_MSG_NEWSET)) {
                    count++;
                    if (names != null) {
                        names.add(string(message, NFTA_SET_NAME));
                    }
                } else if (messageType == message(NFT_MSG_NEWRULE)) {
                    count++;
                } else {
                    throw protocol("a message of type " + messageType + " in a dump of " + describe(type));
                }
                if (count >= bound) {
                    return count;
                }
                at += (length + 3) & ~3;
            }
        }
    }

    private int send(short type, byte family, short flags, byte[]... attrs) {
        int length = 20;
        for (byte[] a : attrs) {
            length += a.length;
        }
        int seq = sequences.getAsInt();
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

    /** The next buffer the kernel queued: the kernel answers (and fills a dump's next buffer) inside the calls, so nothing waits. */
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

    private static short message(short type) {
        return (short) ((NFNL_SUBSYS_NFTABLES << 8) | type);
    }

    /** A netlink attribute holding {@code value} as a NUL-terminated string, padded to 4 bytes. */
    private static byte[] attr(short type, String value) {
        byte[] text = value.getBytes(StandardCharsets.US_ASCII);
        int length = 4 + text.length + 1;
        ByteBuffer a = ByteBuffer.allocate((length + 3) & ~3).order(ByteOrder.nativeOrder());
        a.putShort((short) length).putShort(type).put(text);
        return a.array();
    }

    /** The payload offset and length of attribute {@code type} of a message, or null. */
    private static int[] find(ByteBuffer message, short type) {
        int at = 20;
        while (at + 4 <= message.limit()) {
            int length = message.getShort(at) & 0xffff;
            if (length < 4 || at + length > message.limit()) {
                return null;
            }
            if ((message.getShort(at + 2) & 0x3fff) == type) {
                return new int[] {at + 4, length - 4};
            }
            at += (length + 3) & ~3;
        }
        return null;
    }

    private static long u32(ByteBuffer message, short type) {
        int[] a = find(message, type);
        if (a == null || a[1] != 4) {
            throw protocol("a table without its use count");
        }
        return Integer.toUnsignedLong(message.duplicate().order(ByteOrder.BIG_ENDIAN).getInt(a[0]));
    }

    private static String string(ByteBuffer message, short type) {
        int[] a = find(message, type);
        if (a == null || a[1] < 1) {
            throw protocol("a set without a name");
        }
        byte[] text = new byte[a[1] - 1]; // without the terminating NUL
        message.get(a[0], text);
        return new String(text, StandardCharsets.US_ASCII);
    }

    /** The elements an {@code NFT_MSG_NEWSETELEM} message lists (the attributes nested in its element list). */
    private static long elements(ByteBuffer message) {
        int[] list = find(message, NFTA_SET_ELEM_LIST_ELEMENTS);
        if (list == null) {
            return 0;
        }
        long count = 0;
        int at = list[0];
        int end = list[0] + list[1];
        while (at + 4 <= end) {
            int length = message.getShort(at) & 0xffff;
            if (length < 4) {
                throw protocol("a malformed set element");
            }
            count++;
            at += (length + 3) & ~3;
        }
        return count;
    }

    private static String describe(short type) {
        return switch (type) {
            case NFT_MSG_GETTABLE -> "a table";
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

    private static EnforcementException protocol(String what) {
        return new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                "counting the nftables ruleset failed: the kernel sent " + what);
    }

    @Override
    public void close() {
        if (!owned) {
            return;
        }
        try {
            NativeCalls.Netlink.close(fd);
        } catch (LastErrorException ignored) {
            // a socket only read from; a failed close changes nothing netfence relies on
        }
    }
}
