package dev.netfence.netns;

import java.time.Duration;
import java.util.List;

/**
 * Turns off transmit checksum offload on every interface but {@code lo} of a pinned network
 * namespace, so that its kernel completes each frame's checksums before the frame leaves it. A
 * frame left for later completion carries the position where the checksum goes, and a workload
 * holding CAP_NET_RAW ({@code PACKET_VNET_HDR}) or CAP_NET_ADMIN (a tun device's vnet header)
 * chooses that position itself: anywhere in the frame. Completed on the host after the host
 * guard judged the frame (a routed link without offload, a NIC), the kernel then writes there a
 * value the workload tuned, a destination port or an IPv6 destination the guard never saw. With
 * offload off inside, the bytes the guard judges are the bytes that leave. Implementations: the
 * in-process one of the nft package (an {@code ethtool} ioctl on a namespace thread). Failures are
 * EnforcementExceptions.
 */
public interface ChecksumOffload {

    /**
     * Turns it off; what it did. FIREWALL_UNAVAILABLE or TIMEOUT when the namespace cannot be
     * entered or an interface's setting cannot be read or written.
     */
    Switched turnOff(PinnedNamespace ns, Duration timeout);

    /**
     * The interfaces whose offload was on and is off now ({@code switched}), and those where it
     * stays on because the device does not let it be turned off ({@code stuck}: their frames may
     * still be completed later).
     */
    record Switched(List<String> switched, List<String> stuck) {
        public Switched {
            switched = List.copyOf(switched);
            stuck = List.copyOf(stuck);
        }
    }
}
