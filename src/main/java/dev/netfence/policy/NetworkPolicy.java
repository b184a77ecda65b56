package dev.netfence.policy;

import java.util.List;
import java.util.Objects;

/**
 * A validated sandbox network policy (the seed's {@code NetworkPolicy}, with every flag
 * resolved): what the rule planner turns into firewall rules. Instances come only from the
 * policy parser or the presets, so every field is already checked.
 */
public record NetworkPolicy(
        NetworkMode mode,
        List<Endpoint> allowedEndpoints,
        List<Cidr> blockedSubnets,
        boolean dns,
        boolean outbound,
        boolean inbound) {
    public NetworkPolicy {
        Objects.requireNonNull(mode, "mode");
        allowedEndpoints = List.copyOf(allowedEndpoints);
        blockedSubnets = List.copyOf(blockedSubnets);
        if (allowedEndpoints.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException(
                    "at most " + MAX_ENTRIES + " allowedEndpoints, was: " + allowedEndpoints.size());
        }
        if (blockedSubnets.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException(
                    "at most " + MAX_ENTRIES + " blockedSubnets, was: " + blockedSubnets.size());
        }
    }

    /** Most allowed endpoints, and most blocked subnets, one policy may list. */
    public static final int MAX_ENTRIES = 512;
}
