package dev.netfence.nft;

import static dev.netfence.nft.Ipv6LearntTest.address;
import static dev.netfence.nft.Ipv6LearntTest.bytes;
import static dev.netfence.nft.Ipv6LearntTest.route;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.nft.Ipv6Learnt.Address;
import dev.netfence.nft.Ipv6Learnt.Route;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * {@link Ipv6LearntMessages}: a dumped route or address is read with every field the deletion
 * needs, and the deletion names exactly that route or address (read back with the same reader: a
 * deletion has the layout of the message it deletes).
 */
class Ipv6LearntMessagesTest {
    @Test
    void aDumpedRouteIsReadWithItsTableProtocolGatewayDeviceAndMetric() throws Exception {
        ByteBuffer m = message(24, 10, 0, 0, 0, 254, 9, 0, 1, 0,
                attr(15, intBytes(254)), attr(1, bytes("2001:db8:d::")), attr(6, intBytes(1024)),
                attr(5, bytes("fe80::6ca8:73ff:fe09:cf2d")), attr(4, intBytes(2)), attr(20, new byte[] {1}));
        m.put(17, (byte) 64); // rtm_dst_len
        Route r = Ipv6LearntMessages.route(m, 0, m.limit());
        assertThat(r.table()).isEqualTo(254);
        assertThat(r.protocol()).isEqualTo(9);
        assertThat(r.type()).isEqualTo(1);
        assertThat(r.dstLen()).isEqualTo(64);
        assertThat(r.dst()).isEqualTo(bytes("2001:db8:d::"));
        assertThat(r.gateway()).isEqualTo(bytes("fe80::6ca8:73ff:fe09:cf2d"));
        assertThat(r.oif()).isEqualTo(2);
        assertThat(r.priority()).isEqualTo(1024);
        assertThat(r.cloned()).isFalse();
    }

    @Test
    void aRouteWithoutGatewayOrMetricAndATableOnlyInTheHeaderIsReadSo() throws Exception {
        ByteBuffer m = message(24, 10, 0, 0, 0, 254, 3, 0, 1, 0x200, attr(1, bytes("2001:db8:b::20")));
        m.put(17, (byte) 128);
        Route r = Ipv6LearntMessages.route(m, 0, m.limit());
        assertThat(r.table()).isEqualTo(254);
        assertThat(r.gateway()).isNull();
        assertThat(r.priority()).isEqualTo(-1);
        assertThat(r.cloned()).isTrue();
    }

    @Test
    void anAttributeThatRunsPastItsMessageIsNotRead() throws Exception {
        ByteBuffer m = message(24, 10, 0, 0, 0, 254, 9, 0, 1, 0, attr(4, intBytes(2)));
        m.putShort(28, (short) 64); // the OIF attribute claims more than the message holds
        assertThat(Ipv6LearntMessages.route(m, 0, m.limit()).oif()).isZero();
        assertThatThrownBy(() -> Ipv6LearntMessages.route(ByteBuffer.allocate(20), 0, 20))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aDumpedAddressIsReadWithItsWideFlagsAndProtocol() throws Exception {
        ByteBuffer m = addressMessage(64, 0x00, 0, 2, attr(1, bytes("2001:db8:c:0:28e3:1bff:fec5:3273")),
                attr(8, intBytes(0x100)), attr(11, new byte[] {2}));
        Address a = Ipv6LearntMessages.address(m, 0, m.limit());
        assertThat(a.ifindex()).isEqualTo(2);
        assertThat(a.prefixLen()).isEqualTo(64);
        assertThat(a.flags()).isEqualTo(0x100);
        assertThat(a.protocol()).isEqualTo(2);
        assertThat(a.address()).isEqualTo(bytes("2001:db8:c:0:28e3:1bff:fec5:3273"));
        assertThat(Ipv6Learnt.autoconfigured(a)).isTrue();
    }

    @Test
    void anAddressFromAKernelWithoutFlagsOrProtocolAttributesKeepsTheHeadersFlags() throws Exception {
        ByteBuffer m = addressMessage(64, 0x82, 0, 2, attr(1, bytes("2001:db8:77::1")));
        Address a = Ipv6LearntMessages.address(m, 0, m.limit());
        assertThat(a.flags()).isEqualTo(0x82);
        assertThat(a.protocol()).isZero();
        assertThat(a.permanent()).isTrue();
    }

    @Test
    void theDeletionOfARouteNamesItsTableDestinationDeviceGatewayProtocolAndMetric() throws Exception {
        Route r = route("::/0", "fe80::99", 9, 1, 0, 254, 2);
        ByteBuffer m = wrap(Ipv6LearntMessages.deleteRoute(r, 41));
        assertThat(m.getShort(4)).isEqualTo(Ipv6LearntMessages.RTM_DELROUTE);
        assertThat(m.getShort(6)).as("request, acknowledged").isEqualTo((short) 5);
        assertThat(m.getInt(8)).isEqualTo(41);
        Route back = Ipv6LearntMessages.route(m, 0, m.getInt(0));
        assertThat(back.table()).isEqualTo(254);
        assertThat(back.protocol()).isEqualTo(9);
        assertThat(back.dstLen()).isZero();
        assertThat(back.gateway()).isEqualTo(bytes("fe80::99"));
        assertThat(back.oif()).isEqualTo(2);
        assertThat(back.priority()).isEqualTo(1024);
        assertThat(back.cloned()).isFalse();
    }

    @Test
    void theDeletionOfACachedRouteIsMarkedClonedAndNamesNoProtocolOrMetric() throws Exception {
        Route r = route("2001:db8:b::20/128", "fe80::99", 3, 1, 0x200, 254, 2);
        Route back = Ipv6LearntMessages.route(wrap(Ipv6LearntMessages.deleteRoute(r, 7)), 0,
                Ipv6LearntMessages.deleteRoute(r, 7).length);
        assertThat(back.cloned()).isTrue();
        assertThat(back.protocol()).isZero();
        assertThat(back.priority()).isEqualTo(-1);
        assertThat(back.dst()).isEqualTo(bytes("2001:db8:b::20"));
        assertThat(back.dstLen()).isEqualTo(128);
    }

    @Test
    void aRouteOfATablePastTwoHundredFiftyFiveIsNamedByItsAttribute() {
        Route r = new Route(1000, 9, 1, 0, new byte[16], 0, new byte[16], 0, null, 2, 1024);
        byte[] delete = Ipv6LearntMessages.deleteRoute(r, 1);
        assertThat(delete[16 + 4] & 0xff).as("the header's table: RT_TABLE_COMPAT").isEqualTo(252);
        assertThat(Ipv6LearntMessages.route(wrap(delete), 0, delete.length).table()).isEqualTo(1000);
    }

    @Test
    void theDeletionOfAnAddressNamesItsDevicePrefixLengthAndAddress() throws Exception {
        Address a = address("2001:db8:c:0:1:2:3:4", 64, 0x100, 2, 2);
        byte[] delete = Ipv6LearntMessages.deleteAddress(a, 9);
        ByteBuffer m = wrap(delete);
        assertThat(m.getShort(4)).isEqualTo(Ipv6LearntMessages.RTM_DELADDR);
        Address back = Ipv6LearntMessages.address(m, 0, delete.length);
        assertThat(back.ifindex()).isEqualTo(2);
        assertThat(back.prefixLen()).isEqualTo(64);
        assertThat(back.address()).isEqualTo(bytes("2001:db8:c:0:1:2:3:4"));
    }

    @Test
    void theDumpRequestsAskForIpv6AndThePrefixDumpForPrefixRoutesOnly() {
        ByteBuffer plain = wrap(Ipv6LearntMessages.routeDump(3, 0));
        ByteBuffer prefixes = wrap(Ipv6LearntMessages.routeDump(4, Ipv6LearntMessages.RTM_F_PREFIX));
        ByteBuffer addresses = wrap(Ipv6LearntMessages.addressDump(5));
        assertThat(plain.getShort(4)).isEqualTo(Ipv6LearntMessages.RTM_GETROUTE);
        assertThat(plain.getShort(6)).as("request, dump").isEqualTo((short) 0x301);
        assertThat(plain.get(16)).as("AF_INET6").isEqualTo((byte) 10);
        assertThat(plain.getInt(24)).isZero();
        assertThat(prefixes.getInt(24)).isEqualTo(0x800);
        assertThat(addresses.getShort(4)).isEqualTo(Ipv6LearntMessages.RTM_GETADDR);
        assertThat(addresses.get(16)).isEqualTo((byte) 10);
        assertThat(addresses.getInt(0)).isEqualTo(24);
    }

    private static ByteBuffer wrap(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.nativeOrder());
    }

    private static byte[] intBytes(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array();
    }

    private static byte[] attr(int type, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(Ipv6LearntMessages.align(4 + data.length)).order(ByteOrder.nativeOrder());
        b.putShort((short) (4 + data.length)).putShort((short) type).put(data);
        return b.array();
    }

    /** An RTM_NEWROUTE-shaped message: header, rtmsg fields as given, then the attributes. */
    private static ByteBuffer message(int type, int family, int dstLen, int srcLen, int tos, int table, int protocol,
            int scope, int rtType, int flags, byte[]... attrs) {
        int length = 28;
        for (byte[] a : attrs) {
            length += a.length;
        }
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.nativeOrder());
        b.putInt(length).putShort((short) type).putShort((short) 2).putInt(1).putInt(0);
        b.put((byte) family).put((byte) dstLen).put((byte) srcLen).put((byte) tos).put((byte) table).put((byte) protocol)
                .put((byte) scope).put((byte) rtType).putInt(flags);
        for (byte[] a : attrs) {
            b.put(a);
        }
        return b.flip();
    }

    private static ByteBuffer addressMessage(int prefixLen, int flags, int scope, int ifindex, byte[]... attrs) {
        int length = 24;
        for (byte[] a : attrs) {
            length += a.length;
        }
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.nativeOrder());
        b.putInt(length).putShort((short) 20).putShort((short) 2).putInt(1).putInt(0);
        b.put((byte) 10).put((byte) prefixLen).put((byte) flags).put((byte) scope).putInt(ifindex);
        for (byte[] a : attrs) {
            b.put(a);
        }
        return b.flip();
    }
}
