package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.nft.Ipv6Learnt.Address;
import dev.netfence.nft.Ipv6Learnt.Removals;
import dev.netfence.nft.Ipv6Learnt.Route;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What {@link Ipv6Learnt} takes for the work of router advertisements and redirects, record by
 * record as this kernel lists them (flags and protocols seen with {@code ip -d} and
 * {@code /proc/net/ipv6_route} on 6.18 in a namespace that took a real advertisement): removed are
 * routes of protocol ra, cached routes, advertised prefixes' routes unless they are a permanent
 * address's own prefix, and addresses autoconfiguration made; kept is everything else, a runtime's
 * static address, prefix route and default route above all.
 */
class Ipv6LearntTest {
    private static final int ETH0 = 2;
    private static final int MAIN = 254;

    /** The runtime's configuration: a static address (permanent, no protocol) and its link-local one. */
    private static final List<Address> RUNTIME = List.of(
            address("2001:db8:77::1", 64, 0x82, 0, ETH0),
            address("fe80::28e3:1bff:fec5:3273", 64, 0x80, 3, ETH0));

    @ParameterizedTest(name = "{0}: removed {7}")
    @CsvSource(delimiter = '|', textBlock = """
            static default route via the gateway | ::/0             | fe80::a1 | 3 | 1 | 0     | 254 | false
            the advertisement's default route    | ::/0             | fe80::99 | 9 | 1 | 0     | 254 | true
            a route-information option's route   | 2001:db8:d::/64  | fe80::99 | 9 | 1 | 0     | 254 | true
            a daemon's route from an advertisement in another table | 2001:db8:d::/64 | fe80::99 | 9 | 1 | 0 | 100 | true
            the static address's prefix route    | 2001:db8:77::/64 | -        | 2 | 1 | 0     | 254 | false
            the link-local prefix route          | fe80::/64        | -        | 2 | 1 | 0     | 254 | false
            a route the runtime added            | 2001:db8:5::/64  | -        | 4 | 1 | 0     | 254 | false
            a local route of an address          | 2001:db8:77::1/128 | -      | 2 | 2 | 0     | 255 | false
            a redirect's cached route            | 2001:db8:b::20/128 | fe80::99 | 3 | 1 | 0x200 | 254 | true
            a path MTU's cached route (no gateway: best effort) | 2001:db8:b::21/128 | - | 3 | 1 | 0x200 | 254 | false
            """)
    void aRouteOfThePlainDumpIsRemovedWhenAnAdvertisementOrARedirectMadeIt(String what, String prefix, String gateway,
            int protocol, int type, String flags, int table, boolean removed) {
        Route r = route(prefix, gateway, protocol, type, Integer.decode(flags), table, ETH0);
        Removals removals = Ipv6Learnt.removals(List.of(r), List.of(), RUNTIME);
        assertThat(removals.routes().contains(r) || removals.cached().contains(r)).as(what).isEqualTo(removed);
        assertThat(removals.cached().contains(r)).as("%s is a cached route", what).isEqualTo(r.cloned() && removed);
    }

    @Test
    void aCachedRouteMustGoWhenARedirectMadeItAndAPathMtusIsOnlyTriedAsItMovesNoTraffic() {
        Route dflt = route("::/0", "fe80::a1", 3, 1, 0, MAIN, ETH0);
        Route mtuViaGateway = route("2001:db8:b::20/128", "fe80::a1", 3, 1, 0x200, MAIN, ETH0);
        Route redirected = route("2001:db8:b::21/128", "fe80::99", 3, 1, 0x200, MAIN, ETH0);
        Route redirectedToItself = route("2001:db8:b::22/128", "-", 3, 1, 0x200, MAIN, ETH0);
        Route onLink = route("2001:db8:77::/64", "-", 2, 1, 0, MAIN, ETH0);
        Route mtuOnLink = route("2001:db8:77::5/128", "-", 2, 1, 0x200, MAIN, ETH0);
        Route redirectedOnLink = route("2001:db8:77::6/128", "fe80::98", 2, 1, 0x200, MAIN, ETH0);
        Removals removals = Ipv6Learnt.removals(List.of(dflt, mtuViaGateway, redirected, redirectedToItself, onLink,
                mtuOnLink, redirectedOnLink), List.of(), RUNTIME);
        assertThat(removals.cached()).containsExactly(redirected, redirectedToItself, redirectedOnLink);
        assertThat(removals.pathMtu()).containsExactly(mtuViaGateway, mtuOnLink);
        assertThat(Ipv6Learnt.removals(List.of(dflt, mtuViaGateway, onLink, mtuOnLink), List.of(), RUNTIME).none())
                .as("path MTU routes left over do not fail the apply").isTrue();
    }

    @Test
    void anAdvertisedPrefixIsNotKeptForAPermanentAddressThatMadeNoPrefixRoute() {
        Route r = route("2001:db8:77::/64", "-", 2, 1, 0, MAIN, ETH0);
        List<Address> noPrefixRoute = List.of(address("2001:db8:77::1", 64, 0x280, 0, ETH0));
        assertThat(Ipv6Learnt.removals(List.of(), List.of(r), noPrefixRoute).routes()).containsExactly(r);
        assertThat(Ipv6Learnt.removals(List.of(), List.of(r), RUNTIME).routes()).isEmpty();
    }

    @Test
    void thePrivacyAddressesOfTheRuntimesOwnPermanentTemporaryAddressMakerAreKept() {
        Address maker = address("2001:db8:77::1", 64, 0x180, 0, ETH0);
        Address itsPrivacy = address("2001:db8:77:0:9:8:7:6", 64, 0x01, 0, ETH0);
        Address anotherPrefixs = address("2001:db8:c:0:9:8:7:6", 64, 0x01, 0, ETH0);
        Address onAnotherDevice = address("2001:db8:77:0:9:8:7:5", 64, 0x01, 0, ETH0 + 1);
        assertThat(Ipv6Learnt.removals(List.of(), List.of(), List.of(maker, itsPrivacy, anotherPrefixs, onAnotherDevice))
                .addresses()).containsExactly(anotherPrefixs, onAnotherDevice);
    }

    @ParameterizedTest(name = "{0}: removed {3}")
    @CsvSource(delimiter = '|', textBlock = """
            an on-link prefix for an allowed destination's /64        | 2001:db8:a::/64  | 2 | true
            the advertised prefix of an autoconfigured address        | 2001:db8:c::/64  | 2 | true
            the static address's prefix, advertised before the address came | 2001:db8:77::/64 | 2 | false
            a /48 around the static address's /64                     | 2001:db8::/48    | 2 | true
            the static address's prefix on another device             | 2001:db8:77::/64 | 3 | true
            """)
    void anAdvertisedPrefixRouteIsRemovedUnlessItIsAPermanentAddresssOwnPrefix(String what, String prefix, int oif,
            boolean removed) {
        Route r = route(prefix, "-", 2, 1, 0, MAIN, oif);
        assertThat(Ipv6Learnt.removals(List.of(), List.of(r), RUNTIME).routes().contains(r)).as(what).isEqualTo(removed);
    }

    @Test
    void onlyTheKernelsOnLinkUnicastRoutesOfAPrefixDumpCountAsAdvertisedPrefixes() {
        List<Route> notPrefixes = List.of(
                route("::/0", "fe80::a1", 3, 1, 0, MAIN, ETH0),
                route("2001:db8:5::/64", "-", 4, 1, 0, MAIN, ETH0),
                route("2001:db8:5::1/128", "-", 2, 2, 0, 255, ETH0),
                route("2001:db8:5::/64", "fe80::a1", 2, 1, 0, MAIN, ETH0),
                route("2001:db8:5::1/128", "-", 2, 1, 0x200, MAIN, ETH0));
        assertThat(Ipv6Learnt.removals(List.of(), notPrefixes, RUNTIME).none())
                .as("a dump that listed more than the advertised prefixes removes none of the rest").isTrue();
    }

    @ParameterizedTest(name = "{0}: removed {4}")
    @CsvSource(delimiter = '|', textBlock = """
            the runtime's static address               | 2001:db8:77::1       | 0x82  | 0 | false
            the kernel's link-local address            | fe80::1              | 0x80  | 3 | false
            loopback                                   | ::1                  | 0x80  | 1 | false
            a SLAAC address (IFA_PROTO kernel_ra)      | 2001:db8:c:0:1:2:3:4 | 0x100 | 2 | true
            a SLAAC address in the static prefix       | 2001:db8:77:0:1:2:3:4 | 0x100 | 2 | true
            a SLAAC address of a kernel without IFA_PROTO | 2001:db8:c:0:1:2:3:4 | 0x100 | 0 | true
            a privacy address made from a SLAAC one    | 2001:db8:c:0:9:8:7:6 | 0x01  | 0 | true
            a deprecated SLAAC address                 | 2001:db8:c:0:1:2:3:5 | 0x120 | 2 | true
            a DHCPv6 lease (finite lifetime)           | 2001:db8:77::99      | 0x00  | 0 | false
            a permanent address someone marked proto ra | 2001:db8:77::98     | 0x80  | 2 | false
            a permanent address marked mngtmpaddr      | 2001:db8:77::97      | 0x180 | 0 | false
            """)
    void anAddressIsRemovedOnlyWhenAutoconfigurationMadeItAndItIsNotPermanent(String what, String address,
            String flags, int protocol, boolean removed) {
        Address a = address(address, 64, Integer.decode(flags), protocol, ETH0);
        assertThat(Ipv6Learnt.removals(List.of(), List.of(), List.of(a)).addresses().contains(a)).as(what)
                .isEqualTo(removed);
    }

    @Test
    void aNamespaceThatNeverTookAnAdvertisementOrARedirectHasNothingToRemove() {
        assertThat(heard(snmp6(0, 0))).isFalse();
        assertThat(heard(snmp6(5, 0))).isTrue();
        assertThat(heard(snmp6(0, 1))).isTrue();
        assertThat(heard(snmp6(0, 0) + "Icmp6InRouterAdvertisementsX     \t0\n")).as("another counter's line").isFalse();
    }

    @Test
    void countersThatCannotBeReadAreNoProofOfNothing() {
        assertThat(heard("")).isTrue();
        assertThat(heard("Icmp6InRouterAdvertisements     \t0\n")).as("no redirect line").isTrue();
        assertThat(heard("Icmp6InRouterAdvertisements     \tx\nIcmp6InRedirects                \t0\n")).isTrue();
        assertThat(heard("Icmp6InRouterAdvertisements     \t0 1\nIcmp6InRedirects                \t0\n")).isTrue();
        assertThat(heard("Icmp6InRouterAdvertisements0\nIcmp6InRedirects                \t0\n")).isTrue();
        String full = snmp6(0, 0);
        assertThat(heard(full.substring(0, full.indexOf("Icmp6InRedirects"))))
                .as("a listing cut before the redirect line").isTrue();
    }

    private static boolean heard(String snmp6) {
        return Ipv6Learnt.heard(snmp6);
    }

    @Test
    void aPrefixIsTheAddressCutToItsLength() throws UnknownHostException {
        assertThat(Ipv6Learnt.prefix(bytes("2001:db8:77:0:1:2:3:4"), 64)).isEqualTo(bytes("2001:db8:77::"));
        assertThat(Ipv6Learnt.prefix(bytes("2001:db8:77:ff::"), 60)).isEqualTo(bytes("2001:db8:77:f0::"));
        assertThat(Ipv6Learnt.prefix(bytes("2001:db8::1"), 0)).isEqualTo(bytes("::"));
    }

    /** The lines of a real /proc/net/snmp6 around the two counters, with their padding. */
    static String snmp6(long advertisements, long redirects) {
        return "Icmp6InRouterSolicits           \t0\nIcmp6InRouterAdvertisements     \t" + advertisements
                + "\nIcmp6InNeighborSolicits         \t2\nIcmp6InRedirects                \t" + redirects
                + "\nIcmp6OutRouterSolicits          \t2\nIcmp6InType134                  \t" + advertisements + "\n";
    }

    static Route route(String prefix, String gateway, int protocol, int type, int flags, int table, int oif) {
        String[] parts = prefix.split("/");
        return new Route(table, protocol, type, flags, uncheckedBytes(parts[0]), Integer.parseInt(parts[1]), new byte[16], 0,
                gateway.equals("-") ? null : uncheckedBytes(gateway), oif, flags == 0 ? 1024 : -1);
    }

    static Address address(String address, int prefixLen, int flags, int protocol, int ifindex) {
        return new Address(ifindex, prefixLen, flags, 0, protocol, uncheckedBytes(address));
    }

    static byte[] bytes(String address) throws UnknownHostException {
        return InetAddress.getByName(address).getAddress();
    }

    private static byte[] uncheckedBytes(String address) {
        try {
            return bytes(address);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(address, e);
        }
    }
}
