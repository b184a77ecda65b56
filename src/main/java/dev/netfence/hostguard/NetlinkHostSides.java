package dev.netfence.hostguard;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * {@link HostSides} from the kernel's own answers over rtnetlink ({@link Rtnetlink}): dump the
 * links of netfence's namespace, ask which id it gives the container's namespace (by the pinned
 * descriptor, so a pid reused meanwhile cannot redirect the question), and keep the links of kind
 * {@code veth} whose peer namespace has that id. Then the container's own links are dumped (by
 * that id, without entering the namespace) to find interfaces that reach outside another way: a
 * link other than {@code lo} is covered when it is the peer of a guarded host veth, or when it is
 * a virtual device whose lower device or peer is inside the container's namespace (a VLAN or
 * macvlan on eth0, a tunnel, a dummy: what it sends leaves, if at all, through another interface
 * of the namespace); a device without a kind (a physical NIC moved in) or one whose lower device
 * or peer is in another namespace (a macvlan/ipvlan on a host NIC, a veth into a third namespace)
 * is reported unguarded. No container-writable file is read and no process is started.
 */
public final class NetlinkHostSides implements HostSides {
    private final Rtnetlink netlink;

    public NetlinkHostSides(Rtnetlink netlink) {
        this.netlink = Objects.requireNonNull(netlink, "netlink");
    }

    @Override
    public Found of(Path nsFile) throws IOException {
        // the dump first: reporting a peer in another namespace is what makes the kernel give it an id
        List<Rtnetlink.Link> links = netlink.links();
        int netnsId = netlink.netnsIdOf(nsFile);
        if (netnsId == Rtnetlink.Link.NO_NETNS) {
            return new Found(List.of(), List.of());
        }
        List<HostInterface> out = new ArrayList<>();
        Set<Integer> guardedPeers = new HashSet<>();
        for (Rtnetlink.Link link : links) {
            if ("veth".equals(link.kind()) && link.peerNetnsId() == netnsId) {
                out.add(new HostInterface(link.name(), link.ifindex(), link.peerIfindex()));
                guardedPeers.add(link.peerIfindex());
            }
        }
        List<String> unguarded = new ArrayList<>();
        for (Rtnetlink.Link inside : netlink.linksOf(netnsId)) {
            boolean covered = inside.name().equals("lo") || guardedPeers.contains(inside.ifindex())
                    || (!inside.kind().isEmpty() && inside.peerNetnsId() == Rtnetlink.Link.NO_NETNS);
            if (!covered) {
                unguarded.add(inside.name() + " (" + (inside.kind().isEmpty() ? "device" : inside.kind()) + ")");
            }
        }
        return new Found(out, unguarded);
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
