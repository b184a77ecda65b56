package dev.netfence.policy;

import java.util.Objects;

/**
 * An IPv4 or IPv6 network with no host bits set, e.g. {@code 10.0.0.0/8} or {@code fc00::/7}.
 *
 * @param address canonical network address (as {@link java.net.InetAddress#getHostAddress()}
 *     prints it for IPv4; compressed lower-case RFC 5952 form for IPv6)
 */
public record Cidr(String address, int prefix, Family family) {
    public Cidr {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(family, "family");
        int max = family == Family.IPV4 ? 32 : 128;
        if (prefix < 0 || prefix > max) {
            throw new IllegalArgumentException("prefix must be 0-" + max + ", was: " + prefix);
        }
    }

    @Override
    public String toString() {
        return address + "/" + prefix;
    }
}
