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
    /** A host-namespace veth whose peer (index {@code peerIfindex}) is in the container's namespace. */
    record HostInterface(String name, int ifindex, int peerIfindex) {}

    /**
     * The host interfaces whose peer is in the namespace {@code nsFile} leads to (a pinned
     * {@code /proc/<pid>/fd/<n>}); empty when there are none (mode none, macvlan, slirp4netns,
     * pasta, a peer in another namespace).
     */
    List<HostInterface> of(Path nsFile) throws IOException;

    /** Every link of the host namespace, name to ifindex. */
    Map<String, Integer> hostLinks() throws IOException;
}
