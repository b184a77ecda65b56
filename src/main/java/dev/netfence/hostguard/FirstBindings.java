package dev.netfence.hostguard;

import dev.netfence.hostguard.HostSides.Binding;
import dev.netfence.policy.IpAddresses;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source binding each guard chain was first given, which later reads can only narrow: the
 * link-layer address and the IPv4 addresses of a container's interface are taken at the chain's
 * first apply (the runtime's, as the container starts), and a later read binds its IPv4 addresses
 * only where they were among those and keeps the first MAC. Without it the binding follows
 * whatever the interface holds at each resync, so a workload holding CAP_NET_ADMIN could give
 * itself a neighbour's address or MAC and have it bound: its ARP replies for that address, or its
 * frames from that MAC (which move the neighbour's entry in the bridge's forwarding table), would
 * pass, and the neighbour's traffic come to it. IPv6 addresses follow the interface
 * (autoconfigured and temporary addresses come later), except that an address gained later is
 * not bound where another host interface's chain held it at its first apply: a neighbour's (also
 * one the neighbour was given but lost to duplicate address detection, {@code failedIpv6}). One
 * claimed before that neighbour's first apply was bound, as gained later, until then
 * ({@link ClaimedAddresses}).
 * They live in memory, and a restarted netfence takes them back
 * from the chains it adopts ({@link #fromListedRules}: the addresses the chain's binding rules
 * hold, which a previous run narrowed already), so a workload that
 * changed its interface while netfence was down does not have that bound either (of IPv6, a
 * restarted netfence takes as first what the chain bound at its first write: the guard writes
 * later ones apart). Keyed by host interface, not by container: the members of a pod share one,
 * and a member that starts later is held to the binding the first one was given; forgotten when
 * the interface is gone. Not thread-safe:
 * used under {@link HostGuards}' lock.
 */
final class FirstBindings {
    private static final Logger LOG = LoggerFactory.getLogger(FirstBindings.class);
    private static final Pattern MAC_RULE = Pattern.compile("ether saddr != ([0-9a-f]{2}(?::[0-9a-f]{2}){5}) drop( .*)?");
    private static final Pattern IPV4_RULE = Pattern.compile("ip saddr != (?:\\{ ([0-9., ]+) \\}|([0-9.]+)) drop( .*)?");
    private static final Pattern NO_IPV4_RULE = Pattern.compile("meta protocol ip drop( .*)?");
    private static final Pattern IPV6_RULE = Pattern.compile("ip6 saddr != (?:\\{ ([0-9a-f:., ]+) \\}|([0-9a-f:.]+))"
            + "(?: ip6 saddr != (?:\\{ ([0-9a-f:., ]+) \\}|([0-9a-f:.]+)))? drop( .*)?");

    /** By host interface: a pod's members share one, and each member's chain is written on it in turn. */
    private final Map<Veth, Binding> first = new HashMap<>();
    /**
     * By host interface, the last read {@link #narrow} warned about: the warning is logged when what
     * the interface holds changes, not at every guard write (each apply and resync), which a
     * workload holding CAP_NET_ADMIN in its namespace could otherwise keep repeating.
     */
    private final Map<Veth, Binding> warned = new HashMap<>();
    /** Addresses a warning lists at most (a workload may hold a thousand). */
    static final int LISTED = 16;

    /** A host interface, by name and index (a name reused by a new interface is another). */
    private record Veth(String device, int ifindex) {
        static Veth of(GuardChain chain) {
            return new Veth(chain.device(), chain.ifindex());
        }
    }

    /**
     * What {@code chain} may bind of {@code read}: {@code read} itself, remembered, the first time
     * (null stays null: nothing read, nothing remembered); when nothing could be read later (null),
     * the first binding as it was (a failed read must not lift the binding for a write); afterwards
     * the first MAC, the IPv4
     * addresses of {@code read} that were among the first ones, and the IPv6 addresses of
     * {@code read} that were among the first ones or that no other container's chain held at its
     * own first apply (a neighbour's address, which it may claim only while no such neighbour is
     * guarded).
     */
    Binding narrow(GuardChain chain, Binding read) {
        if (read == null) {
            return first.get(Veth.of(chain));
        }
        Binding known = first.putIfAbsent(Veth.of(chain), read);
        if (known == null) {
            return read;
        }
        List<String> ipv4 = read.ipv4().stream().filter(known.ipv4()::contains).toList();
        List<String> ipv6 = read.ipv6().stream().filter(a -> known.ipv6().contains(a) || !anotherHeldFirst(chain, a))
                .toList();
        boolean narrowed4 = !read.mac().equals(known.mac()) || ipv4.size() != read.ipv4().size();
        boolean narrowed6 = ipv6.size() != read.ipv6().size();
        if ((narrowed4 || narrowed6) && !read.equals(warned.put(Veth.of(chain), read))) {
            if (narrowed4) {
                LOG.warn("the container behind host interface {} now holds MAC {} and IPv4 {}; its guard keeps MAC {}"
                        + " and binds IPv4 {} only (what it held at its first apply)", chain.device(), read.mac(),
                        listed(read.ipv4()), known.mac(), listed(ipv4));
            }
            if (narrowed6) {
                LOG.warn("the container behind host interface {} now holds IPv6 {}; its guard binds {} only (the"
                        + " others are addresses another container's interface held at its first apply)",
                        chain.device(), listed(read.ipv6()), listed(ipv6));
            }
        } else if (!narrowed4 && !narrowed6) {
            warned.remove(Veth.of(chain));
        }
        return new Binding(known.mac(), ipv4, ipv6);
    }

    /** {@code addresses} for a log line: the first {@link #LISTED}, and how many more. */
    static String listed(List<String> addresses) {
        return addresses.size() <= LISTED ? addresses.toString()
                : addresses.subList(0, LISTED) + " and " + (addresses.size() - LISTED) + " more";
    }

    /** Whether another host interface than {@code chain}'s held IPv6 {@code address} at its first apply. */
    private boolean anotherHeldFirst(GuardChain chain, String address) {
        Veth own = Veth.of(chain);
        for (Map.Entry<Veth, Binding> other : first.entrySet()) {
            if (!other.getKey().equals(own) && (other.getValue().ipv6().contains(address)
                    || other.getValue().failedIpv6().contains(address))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The IPv6 addresses of {@code bound} (what {@link #narrow} gave {@code chain}) that were not
     * among its first: the guard writes them apart, so that a restarted netfence does not take
     * them for first ones ({@link #fromListedRules}).
     */
    List<String> later(GuardChain chain, Binding bound) {
        Binding known = first.get(Veth.of(chain));
        return bound == null || known == null ? List.of()
                : bound.ipv6().stream().filter(a -> !known.ipv6().contains(a)).toList();
    }

    /** {@code chain}'s first binding, or null when none is known. */
    Binding first(GuardChain chain) {
        return first.get(Veth.of(chain));
    }

    /**
     * Remembers {@code binding} as {@code chain}'s first unless one is known already (a chain
     * adopted from a previous run, whose binding rules were read back).
     */
    void remember(GuardChain chain, Binding binding) {
        first.putIfAbsent(Veth.of(chain), binding);
    }

    /**
     * The first binding of a chain whose rules nft lists as {@code rules}, when they begin with the
     * binding {@link GuardRenderer#binding} writes (its first rule the MAC's, its fourth the IPv4
     * sources' or, with none, all IPv4 dropped, its fifth the IPv6 sources': {@code ::} and the
     * first ones, then in a second lookup of the same rule those gained later, which are left
     * out); empty otherwise (a chain written without a binding).
     */
    static Optional<Binding> fromListedRules(List<String> rules) {
        if (rules.size() < 5) {
            return Optional.empty();
        }
        Matcher mac = MAC_RULE.matcher(rules.get(0));
        Matcher ipv4 = IPV4_RULE.matcher(rules.get(3));
        Matcher ipv6 = IPV6_RULE.matcher(rules.get(4));
        if (!mac.matches() || !ipv6.matches()) {
            return Optional.empty();
        }
        List<String> v4;
        if (ipv4.matches()) {
            v4 = List.of((ipv4.group(1) != null ? ipv4.group(1) : ipv4.group(2)).split(", "));
        } else if (NO_IPV4_RULE.matcher(rules.get(3)).matches()) {
            v4 = List.of();
        } else {
            return Optional.empty();
        }
        String listed6 = ipv6.group(1) != null ? ipv6.group(1) : ipv6.group(2);
        List<String> v6 = new ArrayList<>();
        for (String a : listed6.split(", ")) {
            byte[] bytes = IpAddresses.parseIpv6(a);
            if (bytes == null) {
                return Optional.empty();
            }
            String formatted = IpAddresses.format(bytes);
            if (!formatted.equals("::")) {
                v6.add(formatted); // as the kernel's answers are written
            }
        }
        try {
            return Optional.of(new Binding(mac.group(1), v4, v6));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * The IPv6 addresses gained later that a chain listed as {@code rules} binds (the second lookup
     * of its IPv6 source rule, see {@link #fromListedRules}); empty when it has none or another shape.
     */
    static List<String> laterFromListedRules(List<String> rules) {
        Matcher ipv6 = rules.size() < 5 ? null : IPV6_RULE.matcher(rules.get(4));
        if (ipv6 == null || !ipv6.matches() || (ipv6.group(3) == null && ipv6.group(4) == null)) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String a : (ipv6.group(3) != null ? ipv6.group(3) : ipv6.group(4)).split(", ")) {
            byte[] bytes = IpAddresses.parseIpv6(a);
            if (bytes == null) {
                return List.of();
            }
            out.add(IpAddresses.format(bytes));
        }
        return out;
    }

    /**
     * Forgets the first binding of every host interface that is gone: no link of its name in
     * {@code links} (name to ifindex), or one with another index. Not on a container's release:
     * the interface may outlive it (a pod's, whose next member is then held to the same binding).
     */
    void forgetGone(Map<String, Integer> links) {
        first.keySet().removeIf(v -> !Integer.valueOf(v.ifindex()).equals(links.get(v.device())));
        warned.keySet().removeIf(v -> !first.containsKey(v));
    }

    /** Chains remembered. */
    int size() {
        return first.size();
    }
}
