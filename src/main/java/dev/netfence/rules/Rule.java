package dev.netfence.rules;

import dev.netfence.policy.Cidr;
import java.util.Objects;

/**
 * One backend-neutral firewall rule: the chain it lives in, what it matches and its verdict.
 * Every field is already validated (a {@link Cidr}, a port 1-65535, an ICMPv6 type), so a
 * renderer only formats tokens and never sees policy strings. The static factories are the
 * only shapes the planner produces.
 *
 * @param destination destination network, or null for any
 * @param port destination port (TCP/UDP only), or null for any
 * @param loopback match the loopback interface ({@code -o lo} on OUT, {@code -i lo} on IN)
 * @param established match conntrack state RELATED,ESTABLISHED
 * @param icmpv6Type ICMPv6 type (ICMPV6 only), or null
 */
public record Rule(
        Direction direction,
        Transport transport,
        Cidr destination,
        Integer port,
        boolean loopback,
        boolean established,
        Integer icmpv6Type,
        Verdict verdict) {

    public Rule {
        Objects.requireNonNull(direction, "direction");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(verdict, "verdict");
        if (port != null) {
            if (transport != Transport.TCP && transport != Transport.UDP) {
                throw new IllegalArgumentException("port needs transport TCP or UDP, was: " + transport);
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port must be 1-65535, was: " + port);
            }
        }
        if (icmpv6Type != null) {
            if (transport != Transport.ICMPV6) {
                throw new IllegalArgumentException("icmpv6Type needs transport ICMPV6, was: " + transport);
            }
            if (icmpv6Type < 0 || icmpv6Type > 255) {
                throw new IllegalArgumentException("icmpv6Type must be 0-255, was: " + icmpv6Type);
            }
        }
    }

    /** Accept everything on the loopback interface. */
    public static Rule loopback(Direction direction) {
        return new Rule(direction, Transport.ANY, null, null, true, false, null, Verdict.ACCEPT);
    }

    /** Accept packets of connections that are already established (or related to one). */
    public static Rule established(Direction direction) {
        return new Rule(direction, Transport.ANY, null, null, false, true, null, Verdict.ACCEPT);
    }

    /** Accept one ICMPv6 neighbour-discovery message type (133-136). */
    public static Rule neighbourDiscovery(Direction direction, int type) {
        return new Rule(direction, Transport.ICMPV6, null, null, false, false, type, Verdict.ACCEPT);
    }

    /** Accept outbound traffic to {@code destination} on {@code transport} port {@code port}. */
    public static Rule allowOut(Cidr destination, Transport transport, int port) {
        Objects.requireNonNull(destination, "destination");
        return new Rule(Direction.OUT, transport, destination, port, false, false, null, Verdict.ACCEPT);
    }

    /** Reject outbound traffic to a blocked subnet. */
    public static Rule rejectOut(Cidr destination) {
        Objects.requireNonNull(destination, "destination");
        return new Rule(Direction.OUT, Transport.ANY, destination, null, false, false, null, Verdict.REJECT);
    }

    /** The chain's final catch-all rule. */
    public static Rule catchAll(Direction direction, Verdict verdict) {
        return new Rule(direction, Transport.ANY, null, null, false, false, null, verdict);
    }
}
