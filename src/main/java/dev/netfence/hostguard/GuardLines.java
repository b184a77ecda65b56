package dev.netfence.hostguard;

import dev.netfence.policy.Cidr;
import dev.netfence.policy.Family;
import dev.netfence.rules.IcmpNames;
import dev.netfence.rules.Rule;
import dev.netfence.rules.Transport;
import dev.netfence.rules.Verdict;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The host guard's egress rules of one family, with runs of consecutive rules that differ in one
 * value folded into one rule over an anonymous set: allowed endpoints (host address and port,
 * same transport) into {@code ip daddr . tcp dport { a . 443, b . 8443 }}, destinations into
 * {@code ip daddr { 10.0.0.0/8, 172.16.0.0/12 }}, ICMPv6 types into
 * {@code icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }}. Why: libnftables parses and
 * evaluates each rule (≈ 40 µs) and the kernel validates each; set elements cost far less, so the
 * guard write no longer grows by a rule per endpoint (the bench's policy went from 27 rules to
 * 11). Why it is the same filter: a run is only folded when its rules are consecutive, have the
 * same verdict and the same matches but for the folded value; under first-match semantics a
 * packet matching any rule of the run gets that verdict there and one matching none goes on to
 * the next rule, exactly as with the one rule over the union. Only host addresses are paired
 * with ports (no interval concatenations), and destinations are folded only when no two of them
 * overlap or touch, so nft stores and prints back exactly the elements written (it would merge
 * touching prefixes into a range, which is the same union but another text). nft prints a set's
 * elements in its own order, so listings are compared with {@link #canonical}, which sorts the
 * elements of every set on each line. Text only; every token comes from validated records.
 */
final class GuardLines {
    private static final Pattern SET = Pattern.compile("\\{ ([^{}]*) \\}");

    private GuardLines() {}

    /** One rule to be written: its matches, in nft's order, and its verdict. */
    private record Line(Family family, List<Cidr> daddrs, String l4, List<Integer> ports, boolean pairs,
            List<Integer> types, String head, String tail) {
        Line {
            daddrs = List.copyOf(daddrs);
            ports = List.copyOf(ports);
            types = List.copyOf(types);
        }

        /** Equal but for the destinations. */
        boolean sameButDaddr(Line o) {
            return family == o.family && !pairs && !o.pairs && daddrs.size() == 1 && o.daddrs.size() == 1
                    && Objects.equals(l4, o.l4) && ports.equals(o.ports) && types.equals(o.types)
                    && Objects.equals(head, o.head) && tail.equals(o.tail);
        }

        /** An allowed endpoint: one host address and one port. */
        boolean endpoint() {
            return !pairs && daddrs.size() == 1 && host(daddrs.get(0)) && ports.size() == 1 && types.isEmpty()
                    && head == null;
        }

        /** Equal but for the ICMPv6 type. */
        boolean sameButType(Line o) {
            return family == o.family && types.size() == 1 && o.types.size() == 1 && !pairs && !o.pairs
                    && daddrs.equals(o.daddrs) && Objects.equals(head, o.head) && tail.equals(o.tail);
        }

        String render() {
            String p = family == Family.IPV4 ? "ip" : "ip6";
            List<String> parts = new ArrayList<>();
            if (head != null) {
                parts.add(head);
            }
            if (pairs) {
                List<String> elements = new ArrayList<>();
                for (int i = 0; i < daddrs.size(); i++) {
                    elements.add(address(daddrs.get(i)) + " . " + ports.get(i));
                }
                parts.add(p + " daddr . " + l4 + " dport " + set(elements));
            } else {
                if (!daddrs.isEmpty()) {
                    parts.add(p + " daddr " + set(daddrs.stream().map(GuardLines::address).toList()));
                }
                if (l4 != null) {
                    parts.add(ports.isEmpty() ? "meta l4proto " + l4 : l4 + " dport " + ports.get(0));
                }
                if (!types.isEmpty()) {
                    parts.add("icmpv6 type " + set(types.stream().map(IcmpNames::nft).toList()));
                }
            }
            parts.add(tail);
            return String.join(" ", parts);
        }
    }

    /**
     * The rules of {@code output} (one family's NETFENCE-OUT, loopback and established rules
     * already taken out by the caller) as nft rule texts, folded as described above.
     */
    static List<String> render(Family family, List<Rule> output) {
        List<Line> lines = new ArrayList<>();
        for (Rule rule : output) {
            lines.add(line(family, rule));
        }
        lines = foldEndpoints(lines);
        lines = foldDestinations(lines);
        lines = foldTypes(lines);
        return lines.stream().map(Line::render).toList();
    }

    /**
     * {@code text} with the elements of every anonymous set sorted, so a listing can be compared
     * with what was written whatever order nft prints the elements in.
     */
    static String canonical(String text) {
        Matcher m = SET.matcher(text);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            List<String> elements = new ArrayList<>(List.of(m.group(1).split(", ")));
            elements.sort(Comparator.naturalOrder());
            m.appendReplacement(sb, Matcher.quoteReplacement("{ " + String.join(", ", elements) + " }"));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private static Line line(Family family, Rule rule) {
        String p = family == Family.IPV4 ? "ip" : "ip6";
        Cidr destination = rule.destination();
        String head = destination == null && rule.transport() != Transport.ICMPV6 ? "meta protocol " + p : null;
        String l4 = switch (rule.transport()) {
            case TCP -> "tcp";
            case UDP -> "udp";
            case ICMPV6 -> rule.icmpType() == null ? "ipv6-icmp" : null;
            case ICMP -> throw new IllegalArgumentException("the host guard has no IPv4 ICMP match: " + rule);
            case ANY -> null;
        };
        String tail = (rule.hopLimit() != null ? (family == Family.IPV4 ? "ip ttl " : "ip6 hoplimit ") + rule.hopLimit() + " "
                : "") + (rule.verdict() == Verdict.ACCEPT ? "accept" : "drop");
        return new Line(family, destination == null ? List.of() : List.of(destination), l4,
                rule.port() == null ? List.of() : List.of(rule.port()), false,
                rule.icmpType() == null ? List.of() : List.of(rule.icmpType()), head, tail);
    }

    /** Runs of two or more endpoints of one transport and verdict: one {@code daddr . dport} set. */
    private static List<Line> foldEndpoints(List<Line> lines) {
        List<Line> out = new ArrayList<>();
        int i = 0;
        while (i < lines.size()) {
            Line first = lines.get(i);
            int j = i + 1;
            if (first.endpoint()) {
                while (j < lines.size() && lines.get(j).endpoint() && lines.get(j).family() == first.family()
                        && lines.get(j).l4().equals(first.l4()) && lines.get(j).tail().equals(first.tail())) {
                    j++;
                }
            }
            if (j - i < 2) {
                out.add(first);
                i++;
                continue;
            }
            Set<String> seen = new LinkedHashSet<>();
            List<Cidr> daddrs = new ArrayList<>();
            List<Integer> ports = new ArrayList<>();
            for (Line l : lines.subList(i, j)) {
                if (seen.add(address(l.daddrs().get(0)) + " . " + l.ports().get(0))) {
                    daddrs.add(l.daddrs().get(0));
                    ports.add(l.ports().get(0));
                }
            }
            out.add(daddrs.size() == 1 ? first
                    : new Line(first.family(), daddrs, first.l4(), ports, true, List.of(), null, first.tail()));
            i = j;
        }
        return out;
    }

    /** Runs equal but for one destination each, when no two destinations overlap or touch: one set. */
    private static List<Line> foldDestinations(List<Line> lines) {
        List<Line> out = new ArrayList<>();
        int i = 0;
        while (i < lines.size()) {
            Line first = lines.get(i);
            int j = i + 1;
            List<Cidr> daddrs = new ArrayList<>(first.daddrs());
            while (j < lines.size() && first.sameButDaddr(lines.get(j))) {
                Cidr next = lines.get(j).daddrs().get(0);
                if (daddrs.contains(next)) {
                    j++; // the same rule twice: the second never decides anything
                    continue;
                }
                if (daddrs.stream().anyMatch(d -> touching(d, next))) {
                    break;
                }
                daddrs.add(next);
                j++;
            }
            out.add(j == i + 1 ? first : new Line(first.family(), daddrs, first.l4(), first.ports(), false,
                    first.types(), first.head(), first.tail()));
            i = j;
        }
        return out;
    }

    /** Runs equal but for one ICMPv6 type each: one type set. */
    private static List<Line> foldTypes(List<Line> lines) {
        List<Line> out = new ArrayList<>();
        int i = 0;
        while (i < lines.size()) {
            Line first = lines.get(i);
            Set<Integer> types = new LinkedHashSet<>(first.types());
            int j = i + 1;
            while (j < lines.size() && first.sameButType(lines.get(j))) {
                types.add(lines.get(j).types().get(0));
                j++;
            }
            out.add(j == i + 1 ? first : new Line(first.family(), first.daddrs(), first.l4(), first.ports(),
                    false, List.copyOf(types), first.head(), first.tail()));
            i = j;
        }
        return out;
    }

    private static String set(List<String> elements) {
        return elements.size() == 1 ? elements.get(0) : "{ " + String.join(", ", elements) + " }";
    }

    static String address(Cidr cidr) {
        return host(cidr) ? cidr.address() : cidr.address() + '/' + cidr.prefix();
    }

    private static boolean host(Cidr cidr) {
        return cidr.prefix() == (cidr.family() == Family.IPV4 ? 32 : 128);
    }

    /** Whether the two networks overlap or are adjacent (nft would merge them into one range). */
    private static boolean touching(Cidr a, Cidr b) {
        BigInteger[] x = range(a);
        BigInteger[] y = range(b);
        if (x == null || y == null) {
            return true; // an address form this check does not know: not folded
        }
        return x[0].compareTo(y[1].add(BigInteger.ONE)) <= 0 && y[0].compareTo(x[1].add(BigInteger.ONE)) <= 0;
    }

    /** First and last address of {@code cidr}, or null when its literal is not of its prefix's width. */
    private static BigInteger[] range(Cidr cidr) {
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(cidr.address()).getAddress(); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an address literal: " + cidr.address(), e);
        }
        int bits = bytes.length * 8;
        if (bits != (cidr.family() == Family.IPV4 ? 32 : 128)) {
            return null;
        }
        BigInteger size = BigInteger.ONE.shiftLeft(bits - cidr.prefix());
        BigInteger start = new BigInteger(1, bytes).shiftRight(bits - cidr.prefix()).shiftLeft(bits - cidr.prefix());
        return new BigInteger[] {start, start.add(size).subtract(BigInteger.ONE)};
    }
}
