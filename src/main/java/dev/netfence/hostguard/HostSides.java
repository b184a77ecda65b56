package dev.netfence.hostguard;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Finds the host side of a container's network: the interfaces of netfence's own (the host's)
 * namespace that are veths whose peer lives in the container's namespace, and the host's links.
 */
public interface HostSides {
    /**
     * A host-namespace veth whose peer (index {@code peerIfindex}) is in the container's namespace,
     * and what that peer may send as (its {@link Binding}; null when not known: no binding).
     */
    record HostInterface(String name, int ifindex, int peerIfindex, Binding binding) {
        /** A host side whose peer's addresses are not known. */
        public HostInterface(String name, int ifindex, int peerIfindex) {
            this(name, ifindex, peerIfindex, null);
        }
    }

    /**
     * The source addresses a container's interface may send frames as, read from the kernel: its
     * link-layer address ({@code aa:bb:cc:dd:ee:ff}) and its IPv4 and IPv6 addresses (RFC 5952
     * text for IPv6), in the order found. Empty address lists mean none: nothing of that family
     * may leave (also when they could not all be read). {@code failedIpv6}: IPv6 addresses it was
     * given whose duplicate address detection failed, never bound (another node answered for
     * them), but its own all the same where it is the first to be guarded with them.
     */
    record Binding(String mac, List<String> ipv4, List<String> ipv6, List<String> failedIpv6) {
        private static final java.util.regex.Pattern MAC = java.util.regex.Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");

        public Binding(String mac, List<String> ipv4, List<String> ipv6) {
            this(mac, ipv4, ipv6, List.of());
        }

        public Binding {
            failedIpv6 = List.copyOf(failedIpv6);
            if (mac == null || !MAC.matcher(mac).matches()) {
                throw new IllegalArgumentException("mac must be six lower-case hex bytes separated by colons, was: " + mac);
            }
            ipv4 = List.copyOf(ipv4);
            ipv6 = List.copyOf(ipv6);
            for (String a : ipv4) {
                if (dev.netfence.policy.IpAddresses.parseIpv4(a) == null) {
                    throw new IllegalArgumentException("ipv4 must hold IPv4 addresses, was: " + a);
                }
            }
            for (String a : failedIpv6) {
                if (dev.netfence.policy.IpAddresses.parseIpv6(a) == null) {
                    throw new IllegalArgumentException("failedIpv6 must hold IPv6 addresses, was: " + a);
                }
            }
            for (String a : ipv6) {
                if (dev.netfence.policy.IpAddresses.parseIpv6(a) == null) {
                    throw new IllegalArgumentException("ipv6 must hold IPv6 addresses, was: " + a);
                }
            }
        }
    }

    /**
     * What {@link #of} found: the host interfaces whose peer is in the container's namespace, the
     * container's interfaces that reach outside its namespace by another way (described as
     * {@code name (kind)}), which no host guard can cover, and, when the container's interfaces
     * were not all examined (the host interfaces were then found from the host's side), why
     * ({@code unexamined}; null when they were).
     */
    record Found(List<HostInterface> interfaces, List<String> unguarded, String unexamined) {
        public Found {
            interfaces = List.copyOf(interfaces);
            unguarded = List.copyOf(unguarded);
        }

        /** Every interface of the container examined. */
        public Found(List<HostInterface> interfaces, List<String> unguarded) {
            this(interfaces, unguarded, null);
        }
    }

    /**
     * The host side of the namespace {@code nsFile} leads to (a pinned {@code /proc/<pid>/fd/<n>}):
     * no interfaces when there is none (mode none, slirp4netns, pasta, macvlan, a peer in another
     * namespace).
     */
    Found of(Path nsFile) throws IOException;

    /** Every link of the host namespace, name to ifindex. */
    Map<String, Integer> hostLinks() throws IOException;

    /** Whether the host link named {@code name} has index {@code ifindex} (the same device as when it was found). */
    default boolean current(String name, int ifindex) throws IOException {
        return Integer.valueOf(ifindex).equals(hostLinks().get(name));
    }
}
