package dev.netfence.hostguard;

import dev.netfence.hostguard.HostSides.Binding;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
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
 * pass, and the neighbour's traffic come to it. IPv6 addresses follow the interface (autoconfigured
 * and temporary addresses come later, and a link-local one may still be tentative at the first
 * read). Entries are forgotten with their chain. They live in memory, and a restarted netfence
 * takes them back from the chains it adopts ({@link #fromListedRules}: the MAC and IPv4 addresses
 * the chain's binding rules hold, which a previous run narrowed already), so a workload that
 * changed its interface while netfence was down does not have that bound either. Not thread-safe:
 * used under {@link HostGuards}' lock.
 */
final class FirstBindings {
    private static final Logger LOG = LoggerFactory.getLogger(FirstBindings.class);
    private static final Pattern MAC_RULE = Pattern.compile("ether saddr != ([0-9a-f]{2}(?::[0-9a-f]{2}){5}) drop( .*)?");
    private static final Pattern IPV4_RULE = Pattern.compile("ip saddr != (?:\\{ ([0-9., ]+) \\}|([0-9.]+)) drop( .*)?");
    private static final Pattern NO_IPV4_RULE = Pattern.compile("meta protocol ip drop( .*)?");

    private final Map<GuardChain, Binding> first = new HashMap<>();

    /**
     * What {@code chain} may bind of {@code read}: {@code read} itself, remembered, the first time
     * (null stays null: nothing read, nothing remembered); afterwards the first MAC, the IPv4
     * addresses of {@code read} that were among the first ones, and the IPv6 addresses of {@code read}.
     */
    Binding narrow(GuardChain chain, Binding read) {
        if (read == null) {
            return null;
        }
        Binding known = first.putIfAbsent(chain, read);
        if (known == null) {
            return read;
        }
        List<String> ipv4 = read.ipv4().stream().filter(known.ipv4()::contains).toList();
        if (!read.mac().equals(known.mac()) || ipv4.size() != read.ipv4().size()) {
            LOG.warn("the container behind host interface {} now holds MAC {} and IPv4 {}; its guard keeps MAC {} and"
                    + " binds IPv4 {} only (what it held at its first apply)", chain.device(), read.mac(), read.ipv4(),
                    known.mac(), ipv4);
        }
        return new Binding(known.mac(), ipv4, read.ipv6());
    }

    /**
     * Remembers {@code binding} as {@code chain}'s first unless one is known already (a chain
     * adopted from a previous run, whose binding rules were read back).
     */
    void remember(GuardChain chain, Binding binding) {
        first.putIfAbsent(chain, binding);
    }

    /**
     * The MAC and IPv4 addresses bound by a chain whose rules nft lists as {@code rules}, when they
     * begin with the binding {@link GuardRenderer#binding} writes (its first rule the MAC's, its
     * fourth the IPv4 sources' or, with none, all IPv4 dropped); empty otherwise (a chain written
     * without a binding, or closed). The IPv6 addresses are left out: they follow the interface.
     */
    static Optional<Binding> fromListedRules(List<String> rules) {
        if (rules.size() < 4) {
            return Optional.empty();
        }
        Matcher mac = MAC_RULE.matcher(rules.get(0));
        if (!mac.matches()) {
            return Optional.empty();
        }
        Matcher ipv4 = IPV4_RULE.matcher(rules.get(3));
        if (ipv4.matches()) {
            String listed = ipv4.group(1) != null ? ipv4.group(1) : ipv4.group(2);
            try {
                return Optional.of(new Binding(mac.group(1), List.of(listed.split(", ")), List.of()));
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
        }
        return NO_IPV4_RULE.matcher(rules.get(3)).matches()
                ? Optional.of(new Binding(mac.group(1), List.of(), List.of()))
                : Optional.empty();
    }

    /** Forgets the first binding of every chain {@code gone} accepts. */
    void forget(Predicate<GuardChain> gone) {
        first.keySet().removeIf(gone);
    }

    /** Chains remembered. */
    int size() {
        return first.size();
    }
}
