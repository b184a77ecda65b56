package dev.netfence.hostguard;

import dev.netfence.hostguard.HostSides.Binding;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
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
 * read). Entries are forgotten with their chain; they live in memory only, so after a restart the
 * first apply takes the kernel's answer again. Not thread-safe: used under {@link HostGuards}'
 * lock.
 */
final class FirstBindings {
    private static final Logger LOG = LoggerFactory.getLogger(FirstBindings.class);

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

    /** Forgets the first binding of every chain {@code gone} accepts. */
    void forget(Predicate<GuardChain> gone) {
        first.keySet().removeIf(gone);
    }

    /** Chains remembered. */
    int size() {
        return first.size();
    }
}
