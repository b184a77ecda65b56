package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.hostguard.Rtnetlink.Link;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link NetlinkDump} over answers made by hand, as the kernel frames them: what a workload that
 * makes many links, or keeps them changing, can make netfence read and take.
 */
class NetlinkDumpTest {
    private static final int SEQ = 77;
    private static final short RTM_NEWLINK = 16;
    private static final short NLMSG_DONE = 3;
    private static final short NLMSG_ERROR = 2;
    private static final short MULTI = 0x2;
    private static final short DUMP_INTR = 0x10;

    @Test
    void everyLinkOfAnAnswerSpreadOverDatagramsIsReadWithItsNameKindAndPeer() throws IOException {
        Datagrams in = new Datagrams(
                datagram(link(1, "lo", "", 0, -1, SEQ, MULTI), link(2, "eth0", "veth", 9, 0, SEQ, MULTI)),
                datagram(link(3, "br0", "bridge", 0, -1, SEQ, MULTI), done(SEQ, MULTI)));

        NetlinkDump.Answer<Link> answer = NetlinkDump.read(in, SEQ, 1024);

        assertThat(answer.interrupted()).isFalse();
        assertThat(answer.links()).containsExactly(new Link(1, "lo", "", 0, -1), new Link(2, "eth0", "veth", 9, 0),
                new Link(3, "br0", "bridge", 0, -1));
        assertThat(in.left()).isZero();
    }

    @Test
    void oneLinkPastTheLimitEndsTheAnswerWithoutReadingAnotherDatagram() throws IOException {
        Datagrams in = new Datagrams(
                datagram(link(1, "a", "veth", 0, -1, SEQ, MULTI), link(2, "b", "veth", 0, -1, SEQ, MULTI),
                        link(3, "c", "veth", 0, -1, SEQ, MULTI)),
                datagram(link(4, "d", "veth", 0, -1, SEQ, MULTI), done(SEQ, MULTI)));

        NetlinkDump.Answer<Link> answer = NetlinkDump.read(in, SEQ, 2);

        assertThat(answer.overLimit()).isTrue();
        assertThat(in.left()).as("the rest of the dump stays unread").isEqualTo(1);
    }

    @Test
    void exactlyTheLimitIsAWholeAnswer() throws IOException {
        Datagrams in = new Datagrams(datagram(link(1, "a", "veth", 0, -1, SEQ, MULTI),
                link(2, "b", "veth", 0, -1, SEQ, MULTI), done(SEQ, MULTI)));

        assertThat(NetlinkDump.read(in, SEQ, 2).links()).extracting(Link::name).containsExactly("a", "b");
    }

    @Test
    void aDumpTheKernelEndedWithAnErrorIsNoWholeAnswer() throws IOException {
        // NLMSG_DONE carrying -EMSGSIZE: a link's message did not fit the kernel's dump buffer (a
        // workload holding CAP_NET_ADMIN gave lo hundreds of alternative names), nothing of it read
        Datagrams in = new Datagrams(datagram(message(NLMSG_DONE, MULTI, SEQ, int32(-90))));

        assertThat(NetlinkDump.read(in, SEQ, 2).overLimit()).as("taken for an empty list before").isTrue();
    }

    @Test
    void anAnswerIsInterruptedWhenAnyOfItsMessagesCarriesTheKernelsMark() throws IOException {
        NetlinkDump.Answer<Link> onALink = NetlinkDump.read(new Datagrams(datagram(link(1, "a", "veth", 0, -1, SEQ,
                (short) (MULTI | DUMP_INTR)), link(2, "b", "veth", 0, -1, SEQ, MULTI), done(SEQ, MULTI))), SEQ, 10);
        NetlinkDump.Answer<Link> onDone = NetlinkDump.read(new Datagrams(datagram(link(1, "a", "veth", 0, -1, SEQ, MULTI),
                done(SEQ, (short) (MULTI | DUMP_INTR)))), SEQ, 10);

        assertThat(onALink.interrupted()).isTrue();
        assertThat(onDone.interrupted()).isTrue();
        assertThat(onDone.links()).hasSize(1);
    }

    @Test
    void messagesOfAnotherSequenceNumberAreSkipped() throws IOException {
        Datagrams in = new Datagrams(
                datagram(link(5, "stale", "veth", 0, -1, SEQ - 1, MULTI), done(SEQ - 1, (short) (MULTI | DUMP_INTR))),
                datagram(link(6, "mine", "veth", 0, -1, SEQ, MULTI), done(SEQ, MULTI)));

        NetlinkDump.Answer<Link> answer = NetlinkDump.read(in, SEQ, 10);

        assertThat(answer.links()).extracting(Link::name).containsExactly("mine");
        assertThat(answer.interrupted()).isFalse();
    }

    @Test
    void aTruncatedMessageOrAnErrorTheKernelReportsFailsTheAnswer() {
        byte[] whole = link(1, "a", "veth", 0, -1, SEQ, MULTI);
        byte[] cut = java.util.Arrays.copyOf(whole, whole.length - 8);

        assertThatThrownBy(() -> NetlinkDump.read(new Datagrams(cut), SEQ, 10))
                .isInstanceOf(IOException.class).hasMessageContaining("truncated netlink message");
        assertThatThrownBy(() -> NetlinkDump.read(new Datagrams(datagram(error(SEQ, -95))), SEQ, 10))
                .isInstanceOf(IOException.class).hasMessage("RTM_GETLINK failed: errno 95");
    }

    @Test
    void aLinksEthernetAddressIsReadAsLowerCaseHexAndOtherLengthsAsNone() throws IOException {
        byte[] ether = withAttr(link(2, "eth0", "veth", 9, 0, SEQ, MULTI), NetlinkDump.IFLA_ADDRESS,
                new byte[] {0x0a, 0x58, (byte) 0xbe, (byte) 0xef, 0x00, 0x05});
        byte[] tunnel = withAttr(link(3, "ipip0", "ipip", 0, -1, SEQ, MULTI), NetlinkDump.IFLA_ADDRESS, new byte[4]);

        List<Link> links = NetlinkDump.read(new Datagrams(datagram(ether, tunnel, done(SEQ, MULTI))), SEQ, 10).links();

        assertThat(links).extracting(Link::mac).containsExactly("0a:58:be:ef:00:05", "");
    }

    @Test
    void theNamespaceALinkWasAnsweredForIsTheEchoedTargetIdAndNetfencesOwnWithoutOne() throws IOException {
        byte[] echoed = withAttr(link(2, "eth0", "veth", 9, 0, SEQ, MULTI), NetlinkDump.IFLA_TARGET_NETNSID, int32(7));
        byte[] own = link(3, "lo", "", 0, -1, SEQ, MULTI);

        List<Link> links = NetlinkDump.read(new Datagrams(datagram(echoed, own, done(SEQ, MULTI))), SEQ, 10).links();

        assertThat(links).extracting(Link::answeredFor).containsExactly(7, Link.NO_NETNS);
    }

    @Test
    void aLinkAnsweredForAnotherNamespaceThanTheOneAskedForIsRefused() throws IOException {
        Link echoed = new Link(2, "eth0", "veth", 9, 0, "", 7);
        Link own = new Link(3, "lo", "", 0, -1);

        assertThat(Rtnetlink.answeredFor(echoed, 7, "link dump")).isSameAs(echoed);
        assertThat(Rtnetlink.answeredFor(own, Link.NO_NETNS, "link request")).isSameAs(own);
        assertThatThrownBy(() -> Rtnetlink.answeredFor(own, 7, "link dump")).isInstanceOf(IOException.class)
                .hasMessage("the link dump of namespace id 7 was answered for netfence's own namespace"
                        + " (IFLA_TARGET_NETNSID not honoured)");
        assertThatThrownBy(() -> Rtnetlink.answeredFor(echoed, 8, "link request")).isInstanceOf(IOException.class)
                .hasMessage("the link request of namespace id 8 was answered for namespace id 7"
                        + " (IFLA_TARGET_NETNSID not honoured)");
    }

    @Test
    void anAddressIsItsLocalOneWhereGivenWithItsFamilyAndTheNamespaceTheKernelAnsweredFor() throws IOException {
        byte[] ptp = address(2, 2, 0, attr(NetlinkDump.IFA_ADDRESS, new byte[] {10, 0, 0, 1}),
                attr(NetlinkDump.IFA_LOCAL, new byte[] {10, 0, 0, 2}), attr(NetlinkDump.IFA_TARGET_NETNSID, int32(7)));
        byte[] v6 = address(10, 3, 0, attr(NetlinkDump.IFA_ADDRESS, java.net.InetAddress.getByName("fe80::1").getAddress()));
        byte[] none = address(2, 4, 0);

        List<Rtnetlink.Address> read = NetlinkDump.read(new Datagrams(datagram(ptp, v6, none, done(SEQ, MULTI))), SEQ, 10,
                NetlinkDump.RTM_NEWADDR, "RTM_GETADDR", NetlinkDump::parseAddress).links();

        assertThat(read).containsExactly(new Rtnetlink.Address(2, false, "10.0.0.2", 7),
                new Rtnetlink.Address(3, true, "fe80::1", -1), null);
    }

    @Test
    void anAddressWhoseDuplicateDetectionFailedIsAnotherNodesAndMarkedSo() throws IOException {
        byte[] inHeader = address(10, 2, NetlinkDump.IFA_F_DADFAILED,
                attr(NetlinkDump.IFA_ADDRESS, java.net.InetAddress.getByName("2001:db8::9").getAddress()));
        byte[] inAttribute = address(10, 2, 0,
                attr(NetlinkDump.IFA_ADDRESS, java.net.InetAddress.getByName("2001:db8::8").getAddress()),
                attr(NetlinkDump.IFA_FLAGS, int32(NetlinkDump.IFA_F_DADFAILED | 0x100)));
        byte[] tentative = address(10, 2, 0x40,
                attr(NetlinkDump.IFA_ADDRESS, java.net.InetAddress.getByName("2001:db8::7").getAddress()));

        List<Rtnetlink.Address> read = NetlinkDump.read(new Datagrams(datagram(inHeader, inAttribute, tentative,
                done(SEQ, MULTI))), SEQ, 10, NetlinkDump.RTM_NEWADDR, "RTM_GETADDR", NetlinkDump::parseAddress).links();

        assertThat(read).containsExactly(new Rtnetlink.Address(2, true, "2001:db8::9", -1, true),
                new Rtnetlink.Address(2, true, "2001:db8::8", -1, true), new Rtnetlink.Address(2, true, "2001:db8::7", -1));
    }

    @Test
    void anotherNamespacesLinksThatKeepChangingAreRefusedAfterThreeInterruptedDumps() throws IOException {
        AtomicInteger dumps = new AtomicInteger();
        List<Link> links = NetlinkDump.attempts(() -> {
            dumps.incrementAndGet();
            return new NetlinkDump.Answer<>(List.of(new Link(2, "eth0", "veth", 9, 0)), true);
        }, false);

        assertThat(links).isNull();
        assertThat(dumps).hasValue(NetlinkDump.ATTEMPTS);
    }

    @Test
    void netfencesOwnLinksAreTakenAsReadAfterThreeInterruptedDumps() throws IOException {
        AtomicInteger dumps = new AtomicInteger();
        List<Link> links = NetlinkDump.attempts(() -> {
            dumps.incrementAndGet();
            return new NetlinkDump.Answer<>(List.of(new Link(1, "lo", "", 0, -1)), true);
        }, true);

        assertThat(links).containsExactly(new Link(1, "lo", "", 0, -1));
        assertThat(dumps).hasValue(NetlinkDump.ATTEMPTS);
    }

    @Test
    void theFirstAnswerNotInterruptedIsTaken() throws IOException {
        Deque<NetlinkDump.Answer<Link>> answers = new ArrayDeque<>(List.of(
                new NetlinkDump.Answer<>(List.of(new Link(1, "old", "veth", 0, -1)), true),
                new NetlinkDump.Answer<>(List.of(new Link(2, "new", "veth", 0, -1)), false)));

        assertThat(NetlinkDump.attempts(answers::removeFirst, false)).extracting(Link::name).containsExactly("new");
        assertThat(answers).isEmpty();
    }

    @Test
    void anAnswerOverTheLimitEndsTheDumpsAtOnce() throws IOException {
        AtomicInteger dumps = new AtomicInteger();

        assertThat(NetlinkDump.attempts(() -> {
            dumps.incrementAndGet();
            return new NetlinkDump.Answer<Link>(null, true);
        }, false)).isNull();
        assertThat(dumps).hasValue(1);
    }

    @Test
    void anOverLimitOrErroredDumpOfNetfencesOwnNamespaceIsAnIoErrorNotAMissingList() {
        // its callers take a list (they met null with a NullPointerException)
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> NetlinkDump.attempts(
                () -> new NetlinkDump.Answer<Link>(null, false), true)).isInstanceOf(IOException.class)
                .hasMessageContaining("netfence's own namespace");
    }

    /** Datagrams handed out in order; the test fails when more are read than there are. */
    private static final class Datagrams implements NetlinkDump.Datagrams {
        private final Deque<byte[]> left = new ArrayDeque<>();

        Datagrams(byte[]... datagrams) {
            left.addAll(List.of(datagrams));
        }

        @Override
        public ByteBuffer next() {
            if (left.isEmpty()) {
                throw new AssertionError("read past the end of the answer");
            }
            return ByteBuffer.wrap(left.removeFirst()).order(ByteOrder.nativeOrder());
        }

        int left() {
            return left.size();
        }
    }

    private static byte[] datagram(byte[]... messages) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] m : messages) {
            out.writeBytes(m);
        }
        return out.toByteArray();
    }

    /** An RTM_NEWLINK message: ifinfomsg, IFLA_IFNAME, IFLA_LINK and IFLA_LINK_NETNSID when a peer, IFLA_LINKINFO with its kind. */
    private static byte[] link(int ifindex, String name, String kind, int peer, int netnsId, int seq, short flags) {
        ByteArrayOutputStream attrs = new ByteArrayOutputStream();
        attrs.writeBytes(attr(NetlinkDump.IFLA_IFNAME, zeroEnded(name)));
        if (peer != 0) {
            attrs.writeBytes(attr(NetlinkDump.IFLA_LINK, int32(peer)));
            attrs.writeBytes(attr(NetlinkDump.IFLA_LINK_NETNSID, int32(netnsId)));
        }
        if (!kind.isEmpty()) {
            attrs.writeBytes(attr(NetlinkDump.IFLA_LINKINFO, attr(NetlinkDump.IFLA_INFO_KIND, zeroEnded(kind))));
        }
        ByteBuffer body = ByteBuffer.allocate(16 + attrs.size()).order(ByteOrder.nativeOrder());
        body.put((byte) 0).put((byte) 0).putShort((short) 1).putInt(ifindex).putInt(0).putInt(0);
        body.put(attrs.toByteArray());
        return message(RTM_NEWLINK, flags, seq, body.array());
    }

    /** {@code message} (one netlink message) with one more attribute at its end. */
    private static byte[] withAttr(byte[] message, int type, byte[] payload) {
        byte[] a = attr(type, payload);
        ByteBuffer m = ByteBuffer.allocate(message.length + a.length).order(ByteOrder.nativeOrder());
        m.put(message).put(a);
        m.putInt(0, ByteBuffer.wrap(message).order(ByteOrder.nativeOrder()).getInt(0) + a.length);
        return m.array();
    }

    /** An RTM_NEWADDR message: ifaddrmsg of {@code family} on link {@code ifindex} with {@code flags}, then {@code attrs}. */
    private static byte[] address(int family, int ifindex, int flags, byte[]... attrs) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).put((byte) family).put((byte) 24)
                .put((byte) flags).put((byte) 0).putInt(ifindex).array());
        for (byte[] a : attrs) {
            body.writeBytes(a);
        }
        return message(NetlinkDump.RTM_NEWADDR, MULTI, SEQ, body.toByteArray());
    }

    private static byte[] done(int seq, short flags) {
        return message(NLMSG_DONE, flags, seq, int32(0));
    }

    private static byte[] error(int seq, int negativeErrno) {
        return message(NLMSG_ERROR, (short) 0, seq, ByteBuffer.allocate(20).order(ByteOrder.nativeOrder())
                .putInt(negativeErrno).array());
    }

    private static byte[] message(short type, short flags, int seq, byte[] body) {
        int length = 16 + body.length;
        ByteBuffer m = ByteBuffer.allocate(Rtnetlink.align(length)).order(ByteOrder.nativeOrder());
        m.putInt(length).putShort(type).putShort(flags).putInt(seq).putInt(0).put(body);
        return m.array();
    }

    private static byte[] attr(int type, byte[] payload) {
        int length = 4 + payload.length;
        ByteBuffer a = ByteBuffer.allocate(Rtnetlink.align(length)).order(ByteOrder.nativeOrder());
        a.putShort((short) length).putShort((short) type).put(payload);
        return a.array();
    }

    private static byte[] zeroEnded(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return java.util.Arrays.copyOf(b, b.length + 1);
    }

    private static byte[] int32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array();
    }
}
