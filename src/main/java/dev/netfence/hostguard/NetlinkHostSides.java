package dev.netfence.hostguard;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@link HostSides} from the kernel's own answers over rtnetlink ({@link Rtnetlink}): dump the
 * links of netfence's namespace, ask which id it gives the container's namespace (by the pinned
 * descriptor, so a pid reused meanwhile cannot redirect the question), and keep the links of kind
 * {@code veth} whose peer namespace has that id. No container-writable file is read and no
 * process is started.
 */
public final class NetlinkHostSides implements HostSides {
    private final Rtnetlink netlink;

    public NetlinkHostSides(Rtnetlink netlink) {
        this.netlink = Objects.requireNonNull(netlink, "netlink");
    }

    @Override
    public List<HostInterface> of(Path nsFile) throws IOException {
        // the dump first: reporting a peer in another namespace is what makes the kernel give it an id
        List<Rtnetlink.Link> links = netlink.links();
        int netnsId = netlink.netnsIdOf(nsFile);
        if (netnsId == Rtnetlink.Link.NO_NETNS) {
            return List.of();
        }
        List<HostInterface> out = new ArrayList<>();
        for (Rtnetlink.Link link : links) {
            if ("veth".equals(link.kind()) && link.peerNetnsId() == netnsId) {
                out.add(new HostInterface(link.name(), link.ifindex(), link.peerIfindex()));
            }
        }
        return out;
    }

    @Override
    public Map<String, Integer> hostLinks() throws IOException {
        Map<String, Integer> out = new HashMap<>();
        for (Rtnetlink.Link link : netlink.links()) {
            out.put(link.name(), link.ifindex());
        }
        return out;
    }
}
