package dev.netfence.policy;

import java.util.Objects;

/**
 * One allowed destination, already validated: an IPv4 or IPv6 literal (in canonical form) or an
 * RFC 1123 hostname (lower case) that is resolved at apply time, a port 1-65535 and a protocol.
 *
 * @param host canonical IP literal or lower-case hostname, never bracketed
 * @param family the literal's family, or null for a hostname
 */
public record Endpoint(String host, Family family, int port, Protocol protocol) {
    public Endpoint {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(protocol, "protocol");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be 1-65535, was: " + port);
        }
    }

    public boolean isHostname() {
        return family == null;
    }

    /** The policy-file form: {@code host:port}, {@code [v6]:port}, with {@code /udp} for UDP. */
    @Override
    public String toString() {
        String h = family == Family.IPV6 ? "[" + host + "]" : host;
        return h + ":" + port + (protocol == Protocol.UDP ? "/udp" : "");
    }
}
