package dev.netfence.nft;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Recognises, in what rtnetlink lists of a namespace's IPv6 routes and addresses, what router
 * advertisements and redirects taught it, so that {@link Ipv6LearntFlush} removes that and nothing
 * else: routes of protocol {@code RTPROT_RA} (the kernel's default routes and route-information
 * routes from an advertisement, and routes a daemon took from one); the on-link prefix routes of
 * an advertisement's prefix-information option, which the kernel files as {@code proto kernel}
 * like an address's own prefix route but marks {@code RTF_PREFIX_RT} (only its prefix-option
 * handling sets that flag, and a dump asked with {@code RTM_F_PREFIX} lists exactly those), except
 * one whose prefix is exactly that of a permanent address on the same device (the kernel keeps
 * one route for both, whichever came first: it is the route the runtime's address makes), unless
 * that address has {@code IFA_F_NOPREFIXROUTE} (it made no route: the one there is the
 * advertisement's); the cached routes a redirect made (an exception whose gateway or device is
 * not that of the route it hangs under, which a dump lists right before it, an on-link one under a
 * route through a gateway included), and, best effort, the
 * other cached routes (a path MTU's: it moves no traffic, and one the kernel cannot delete must
 * not fail every apply until it expires); and the addresses autoconfiguration made, which are
 * never {@code IFA_F_PERMANENT} (an address a runtime adds with an infinite lifetime always is)
 * and carry {@code IFA_PROTO} {@code IFAPROT_KERNEL_RA} where the kernel reports it, else the
 * {@code IFA_F_MANAGETEMPADDR} the kernel (and a SLAAC daemon) sets on a SLAAC address, or the
 * {@code IFA_F_TEMPORARY} of a privacy address made from one (kept when a permanent
 * {@code IFA_F_MANAGETEMPADDR} address of the runtime's on its device and prefix made it). A
 * permanent address is never removed. Also reads the namespace's ICMPv6 counters ({@link #heard}): a
 * namespace whose kernel never took an advertisement or a redirect has nothing to remove. Pure.
 */
final class Ipv6Learnt {
    static final int RTPROT_KERNEL = 2;
    static final int RTPROT_RA = 9;
    static final int RTN_UNICAST = 1;
    static final int RT_TABLE_LOCAL = 255;
    static final int RTM_F_CLONED = 0x200;
    static final int IFA_F_TEMPORARY = 0x01;
    static final int IFA_F_PERMANENT = 0x80;
    static final int IFA_F_MANAGETEMPADDR = 0x100;
    static final int IFA_F_NOPREFIXROUTE = 0x200;
    static final int IFAPROT_KERNEL_RA = 2;

    private Ipv6Learnt() {}

    /**
     * An IPv6 route as an {@code RTM_NEWROUTE} message gives it: its table, protocol, type,
     * {@code rtm_flags}, destination and source prefixes, gateway (null: none), output device
     * (0: none) and metric (-1: none given).
     */
    record Route(int table, int protocol, int type, int flags, byte[] dst, int dstLen, byte[] src, int srcLen,
            byte[] gateway, int oif, long priority) {
        /** A cached route (an exception), not a route of the table. */
        boolean cloned() {
            return (flags & RTM_F_CLONED) != 0;
        }

        @Override
        public String toString() {
            return (cloned() ? "cached " : "") + Ipv6Learnt.text(dst) + "/" + dstLen
                    + (gateway == null ? "" : " via " + Ipv6Learnt.text(gateway)) + " dev " + oif + " proto " + protocol
                    + " table " + table;
        }
    }

    /**
     * An IPv6 address as an {@code RTM_NEWADDR} message gives it: its device, prefix length, flags
     * ({@code IFA_FLAGS} where given, else the header's), scope, {@code IFA_PROTO} (0: none given)
     * and the address.
     */
    record Address(int ifindex, int prefixLen, int flags, int scope, int protocol, byte[] address) {
        boolean permanent() {
            return (flags & IFA_F_PERMANENT) != 0;
        }

        @Override
        public String toString() {
            return Ipv6Learnt.text(address) + "/" + prefixLen + " dev " + ifindex + " flags 0x"
                    + Integer.toHexString(flags) + " proto " + protocol;
        }
    }

    /**
     * What to remove: routes of the tables, cached routes a redirect made, addresses; and, best
     * effort ({@link #none} does not count them), the other cached routes.
     */
    record Removals(List<Route> routes, List<Route> cached, List<Address> addresses, List<Route> pathMtu) {
        boolean none() {
            return routes.isEmpty() && cached.isEmpty() && addresses.isEmpty();
        }
    }

    /**
     * What of the namespace's state came from advertisements and redirects: from {@code routes}
     * (a plain dump: every route and every cached one), {@code prefixRoutes} (a dump asked with
     * {@code RTM_F_PREFIX}: the advertised prefixes' routes) and {@code addresses}.
     */
    static Removals removals(List<Route> routes, List<Route> prefixRoutes, List<Address> addresses) {
        List<Route> remove = new ArrayList<>();
        List<Route> cached = new ArrayList<>();
        List<Route> pathMtu = new ArrayList<>();
        Route under = null; // the route of the table the dump listed last: the one cached routes after it hang under
        for (Route r : routes) {
            if (r.cloned()) {
                (redirected(r, under) ? cached : pathMtu).add(r);
            } else {
                under = r;
                if (r.protocol() == RTPROT_RA) {
                    remove.add(r);
                }
            }
        }
        for (Route r : prefixRoutes) {
            if (advertisedPrefix(r) && !ownPrefix(r, addresses)) {
                remove.add(r);
            }
        }
        List<Address> autoconfigured = new ArrayList<>();
        for (Address a : addresses) {
            if (autoconfigured(a) && !privacyOfPermanent(a, addresses)) {
                autoconfigured.add(a);
            }
        }
        return new Removals(List.copyOf(remove), List.copyOf(cached), List.copyOf(autoconfigured),
                List.copyOf(pathMtu));
    }

    /**
     * Whether cached route {@code r}, listed after route {@code under} (null: none), is a
     * redirect's: it sends another way than the route it hangs under, through another gateway or
     * device, or on-link where that one sends through a gateway (a redirect whose target is the
     * destination itself: the destination is then sent to whoever answers for it on the link). A
     * path MTU's copies that route's gateway and device. With no route listed before it, one with a
     * gateway is taken for a redirect's, one without for a path MTU's.
     */
    static boolean redirected(Route r, Route under) {
        if (under == null) {
            return r.gateway() != null;
        }
        return under.oif() != r.oif() || !Arrays.equals(under.gateway(), r.gateway());
    }

    /**
     * Whether {@code a} is a privacy address ({@code IFA_F_TEMPORARY} alone) that a permanent
     * {@code IFA_F_MANAGETEMPADDR} address of the same device and prefix made: the runtime's.
     */
    static boolean privacyOfPermanent(Address a, List<Address> addresses) {
        if (a.protocol() == IFAPROT_KERNEL_RA || (a.flags() & IFA_F_MANAGETEMPADDR) != 0
                || (a.flags() & IFA_F_TEMPORARY) == 0) {
            return false;
        }
        for (Address b : addresses) {
            if (b.permanent() && (b.flags() & IFA_F_MANAGETEMPADDR) != 0 && b.ifindex() == a.ifindex()
                    && b.prefixLen() == a.prefixLen()
                    && Arrays.equals(prefix(b.address(), b.prefixLen()), prefix(a.address(), a.prefixLen()))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code r}, listed by a dump asked with {@code RTM_F_PREFIX}, has the form of an
     * advertised prefix's route (the kernel's, unicast, on-link, in the tables): what else such a
     * dump could list is never taken for one.
     */
    static boolean advertisedPrefix(Route r) {
        return !r.cloned() && r.protocol() == RTPROT_KERNEL && r.type() == RTN_UNICAST && r.gateway() == null
                && r.table() != RT_TABLE_LOCAL;
    }

    /** Whether {@code a} was made by stateless autoconfiguration from an advertised prefix. */
    static boolean autoconfigured(Address a) {
        if (a.permanent()) {
            return false;
        }
        return a.protocol() == IFAPROT_KERNEL_RA || (a.flags() & (IFA_F_MANAGETEMPADDR | IFA_F_TEMPORARY)) != 0;
    }

    /**
     * Whether prefix route {@code r} is exactly the prefix of a permanent address on its device:
     * the route that address made, or the advertised one the kernel kept in its place.
     */
    static boolean ownPrefix(Route r, List<Address> addresses) {
        for (Address a : addresses) {
            if (a.permanent() && (a.flags() & IFA_F_NOPREFIXROUTE) == 0 && a.ifindex() == r.oif()
                    && a.prefixLen() == r.dstLen()
                    && Arrays.equals(prefix(a.address(), a.prefixLen()), prefix(r.dst(), r.dstLen()))) {
                return true;
            }
        }
        return false;
    }

    /** The first {@code bits} bits of {@code address}, the rest zero. */
    static byte[] prefix(byte[] address, int bits) {
        byte[] out = new byte[16];
        for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) {
            out[i] = (byte) (address[i] & (bits >= 8 ? 0xff : 0xff << (8 - bits)));
        }
        return out;
    }

    /**
     * Whether the kernel of the namespace whose {@code /proc/net/snmp6} reads {@code snmp6} ever took a router advertisement or a redirect
     * ({@code Icmp6InRouterAdvertisements}, {@code Icmp6InRedirects}: counted for every one the
     * ICMPv6 layer takes, before neighbour discovery acts on it; the counters never go down). True
     * when either line is missing or unreadable: a listing that cannot be read is no proof of nothing.
     */
    static boolean heard(String snmp6) {
        return counter(snmp6, ADVERTISEMENTS) != 0 || counter(snmp6, REDIRECTS) != 0;
    }

    private static final String ADVERTISEMENTS = "Icmp6InRouterAdvertisements";
    private static final String REDIRECTS = "Icmp6InRedirects";

    /** The count on the line of {@code text} that starts with {@code name} and blanks, or -1 when none does. */
    private static long counter(String text, String name) {
        for (int at = text.indexOf(name); at >= 0; at = text.indexOf(name, at + 1)) {
            int i = at + name.length();
            if ((at > 0 && text.charAt(at - 1) != '\n') || i == text.length() || !blank(text.charAt(i))) {
                continue;
            }
            int end = text.indexOf('\n', i);
            end = end < 0 ? text.length() : end;
            while (i < end && blank(text.charAt(i))) {
                i++;
            }
            long value = 0;
            int digits = 0;
            for (; i < end && text.charAt(i) >= '0' && text.charAt(i) <= '9' && digits < 18; i++, digits++) {
                value = value * 10 + (text.charAt(i) - '0');
            }
            return digits > 0 && i == end ? value : -1;
        }
        return -1;
    }

    private static boolean blank(char b) {
        return b == ' ' || b == '\t';
    }

    static String text(byte[] address) {
        if (address == null || address.length != 16) {
            return "?";
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 16; i += 2) {
            b.append(i == 0 ? "" : ":").append(Integer.toHexString((address[i] & 0xff) << 8 | (address[i + 1] & 0xff)));
        }
        return b.toString();
    }
}
