package dev.netfence.policy;

import java.util.List;

/**
 * The seed's named policies, and its default blocked-subnet list. {@link #defaultPolicy()} is
 * {@code DefaultNetworkPolicy()} and {@link #hipaa(List)} is {@code HIPAACompliantPolicy(allowlist)},
 * field for field, except that the IPv6 ranges the seed forgot are added: {@code fc00::/7} and
 * {@code fe80::/10} join the default list, and hipaa blocks {@code ::/0} next to
 * {@code 0.0.0.0/0} so IPv6 is not left open.
 */
public final class Presets {
    private static final List<Cidr> DEFAULT_BLOCKED = List.of(
            new Cidr("10.0.0.0", 8, Family.IPV4),
            new Cidr("172.16.0.0", 12, Family.IPV4),
            new Cidr("192.168.0.0", 16, Family.IPV4),
            new Cidr("fc00::", 7, Family.IPV6),
            new Cidr("fe80::", 10, Family.IPV6));

    // The seed blocks 0.0.0.0/0, which only covers IPv4; ::/0 blocks IPv6 the same way, so a
    // HIPAA sandbox cannot reach the internet over IPv6 either.
    private static final List<Cidr> HIPAA_BLOCKED = List.of(
            new Cidr("0.0.0.0", 0, Family.IPV4),
            new Cidr("::", 0, Family.IPV6));

    private Presets() {}

    /** The seed's private ranges plus the IPv6 unique-local and link-local ranges. */
    public static List<Cidr> defaultBlockedSubnets() {
        return DEFAULT_BLOCKED;
    }

    /** The seed's {@code DefaultNetworkPolicy}: mode none, nothing allowed, all flags off. */
    public static NetworkPolicy defaultPolicy() {
        return new NetworkPolicy(NetworkMode.NONE, List.of(), DEFAULT_BLOCKED, false, false, false);
    }

    /**
     * The seed's {@code HIPAACompliantPolicy}: bridge mode, everything blocked but the allowlist;
     * DNS and outbound on only when the allowlist is non-empty; never inbound.
     */
    public static NetworkPolicy hipaa(List<Endpoint> allowlist) {
        boolean any = !allowlist.isEmpty();
        return new NetworkPolicy(NetworkMode.BRIDGE, allowlist, HIPAA_BLOCKED, any, any, false);
    }
}
