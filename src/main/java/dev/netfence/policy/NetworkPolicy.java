package dev.netfence.policy;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * A validated sandbox network policy (the seed's {@code NetworkPolicy}, with every flag
 * resolved): what the rule planner turns into firewall rules. Instances come only from the
 * policy parser or the presets, so every field is already checked.
 *
 * @param dnsServers resolvers the policy's author trusts: with {@code dns} on, DNS (udp and tcp
 *     53) is opened to these and to the node's {@code --dns-servers}, and to nothing else; never
 *     read from the container
 */
public record NetworkPolicy(
        NetworkMode mode,
        List<Endpoint> allowedEndpoints,
        List<Cidr> blockedSubnets,
        boolean dns,
        boolean outbound,
        boolean inbound,
        List<InetAddress> dnsServers) {
    public NetworkPolicy {
        Objects.requireNonNull(mode, "mode");
        allowedEndpoints = List.copyOf(allowedEndpoints);
        blockedSubnets = List.copyOf(blockedSubnets);
        dnsServers = dnsServers == null ? List.of() : List.copyOf(dnsServers);
        if (allowedEndpoints.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException(
                    "at most " + MAX_ENTRIES + " allowedEndpoints, was: " + allowedEndpoints.size());
        }
        // the list in force: at most MAX_ENTRIES written, and the default ranges of a family they left out
        if (blockedSubnets.size() > MAX_ENTRIES + Presets.defaultBlockedSubnets().size()) {
            throw new IllegalArgumentException(
                    "at most " + MAX_ENTRIES + " blockedSubnets, was: " + blockedSubnets.size());
        }
        if (dnsServers.size() > MAX_DNS_SERVERS) {
            throw new IllegalArgumentException(
                    "at most " + MAX_DNS_SERVERS + " dnsServers, was: " + dnsServers.size());
        }
    }

    /** A policy that trusts no resolver of its own (only the node's, if any). */
    public NetworkPolicy(NetworkMode mode, List<Endpoint> allowedEndpoints, List<Cidr> blockedSubnets, boolean dns,
            boolean outbound, boolean inbound) {
        this(mode, allowedEndpoints, blockedSubnets, dns, outbound, inbound, List.of());
    }

    /** Most allowed endpoints, and most blocked subnets, one policy may list. */
    public static final int MAX_ENTRIES = 512;

    /** Most trusted resolvers one policy (or one node's {@code --dns-servers}) may list. */
    public static final int MAX_DNS_SERVERS = 16;
}
