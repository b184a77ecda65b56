package dev.netfence.hostguard;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * {@link HostSides} from the kernel's own answers over rtnetlink ({@link Rtnetlink}): ask which id
 * netfence's namespace gives the container's namespace (by the pinned descriptor, so a pid reused
 * meanwhile cannot redirect the question), dump the container's links by that id (without
 * entering its namespace), and for each of its veths whose peer is in another namespace ask for
 * the host link with the peer's index: it is the container's host side when it is a veth whose
 * own peer is that very interface in the container's namespace (a veth pair names its two ends
 * both ways, so the check is exact; a peer in a third namespace finds no such link). This costs
 * three small exchanges whatever the number of host interfaces; when the kernel has not yet
 * given the container's namespace an id (it assigns one when it reports a peer there, so a
 * namespace without a veth into the host often has none), netfence has it assign one
 * ({@link Rtnetlink#assignNetnsId}): two more exchanges the first time, never a dump of the
 * host's links. A namespace of more than {@link #LOOKUPS} veths (a workload can make pairs of
 * them) has its host sides found in one dump of the host's links instead of one exchange per
 * veth. A container link other than {@code lo} is covered when it
 * is the peer of a guarded host veth, or a virtual device whose lower device or peer is inside
 * the container's namespace (a VLAN or macvlan on eth0, a tunnel, a dummy: what it sends leaves,
 * if at all, through another interface of the namespace); a device without a kind (a physical
 * NIC moved in) or one whose lower device or peer is in another namespace (a macvlan/ipvlan on a
 * host NIC, a veth into a third namespace) is reported unguarded. No container-writable file is
 * read, no process is started, and nothing is cached: every call asks the kernel again (an
 * interface the runtime adds later, e.g. {@code podman network connect}, is seen at the next
 * apply or resync). A namespace of more than {@link #MAX_LINKS} links (a workload holding
 * CAP_NET_ADMIN can make thousands of dummies, and each apply would read them all) is not read
 * past that, nor one whose links kept changing through three dumps (an interrupted dump may have
 * skipped some): its host sides are found from the host's own links instead (the veths whose peer is
 * in the container's namespace, which the workload cannot add to), and the outcome says the
 * others were not examined (guards {@code netns} only). Stopping there and finding nothing would
 * have let a workload switch its own host guard off. Each host side found carries its peer's
 * {@link Binding} (the source binding of its chain): the peer's link-layer address (from the
 * container's links, or asked for by index where those were not read) and its addresses, from one
 * address dump of the container's namespace ({@link Rtnetlink#addressesOf}, at most
 * {@link #MAX_ADDRESSES}), less any address the host itself holds (one dump of the host's
 * addresses): a workload holding CAP_NET_ADMIN can give its interface the gateway's address, and
 * the binding must not then let it answer for the gateway.
 */
public final class NetlinkHostSides implements HostSides {
    /** The most links of a container's namespace examined one by one. */
    static final int MAX_LINKS = 1024;
    /** Veths in a container's namespace past which its host sides are found in one dump of the host's links. */
    static final int LOOKUPS = 8;
    /** The most addresses of a container's namespace read for its host guards' source binding. */
    static final int MAX_ADDRESSES = 1024;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NetlinkHostSides.class);
    private final Rtnetlink netlink;

    public NetlinkHostSides(Rtnetlink netlink) {
        this.netlink = Objects.requireNonNull(netlink, "netlink");
    }

    @Override
    public Found of(Path nsFile) throws IOException {
        int netnsId = netlink.netnsIdOf(nsFile);
        if (netnsId == Rtnetlink.Link.NO_NETNS) {
            // no id yet (nothing has reported a peer there): have the kernel assign one
            netnsId = netlink.assignNetnsId(nsFile);
            if (netnsId == Rtnetlink.Link.NO_NETNS) {
                return new Found(List.of(), List.of());
            }
        }
        List<Rtnetlink.Link> links = netlink.linksOf(netnsId, MAX_LINKS);
        if (links == null) {
            return new Found(bound(netnsId, new ArrayList<>(hostVethsInto(netnsId).values()), Map.of()), List.of(),
                    "more than " + MAX_LINKS
                    + " interfaces, interfaces that kept changing while they were read, or a dump the kernel ended"
                    + " with an error");
        }
        long veths = links.stream().filter(l -> "veth".equals(l.kind()) && l.peerIfindex() > 0).count();
        // a host link by index per veth, or, for many veths (pairs the workload made), one dump of the host's
        Map<Integer, HostInterface> hostSides = veths > LOOKUPS ? hostVethsInto(netnsId) : null;
        List<HostInterface> out = new ArrayList<>();
        List<String> unguarded = new ArrayList<>();
        for (Rtnetlink.Link inside : links) {
            boolean covered = inside.name().equals("lo");
            if (!covered && hostSides != null) {
                HostInterface side = hostSides.get(inside.ifindex());
                if (side != null) {
                    out.add(side);
                    covered = true;
                }
            } else if (!covered && "veth".equals(inside.kind()) && inside.peerIfindex() > 0) {
                Optional<Rtnetlink.Link> host = netlink.link(inside.peerIfindex());
                if (host.isPresent() && "veth".equals(host.get().kind()) && host.get().peerNetnsId() == netnsId
                        && host.get().peerIfindex() == inside.ifindex()) {
                    out.add(new HostInterface(host.get().name(), host.get().ifindex(), inside.ifindex()));
                    covered = true;
                }
            }
            covered |= !inside.kind().isEmpty() && inside.peerNetnsId() == Rtnetlink.Link.NO_NETNS;
            if (!covered) {
                unguarded.add(inside.name() + " (" + (inside.kind().isEmpty() ? "device" : inside.kind()) + ")");
            }
        }
        Map<Integer, String> macs = new HashMap<>();
        for (Rtnetlink.Link inside : links) {
            macs.put(inside.ifindex(), inside.mac());
        }
        return new Found(bound(netnsId, out, macs), unguarded);
    }

    /**
     * {@code sides} with the {@link Binding} of each one's peer: the peer's link-layer address
     * ({@code macs}, by the peer's index, else asked for by index) and its addresses, from one
     * dump of the container's addresses. Addresses past {@link #MAX_ADDRESSES}, or that kept
     * changing through three dumps, are not read: the peers then get no address at all (their IP
     * traffic is dropped at the host side: only the workload that made them loses by it). Where the
     * binding cannot be read at all (a peer without a link-layer address, a kernel without
     * {@code NETLINK_GET_STRICT_CHK} or one that answers for another namespace, a failed exchange),
     * the sides are returned without one, and a warning says so: the guard, whether the policy or
     * a quarantine, is written all the same.
     */
    private List<HostInterface> bound(int netnsId, List<HostInterface> sides, Map<Integer, String> macs) {
        if (sides.isEmpty()) {
            return sides;
        }
        try {
            return boundOrFail(netnsId, sides, macs);
        } catch (IOException | RuntimeException e) {
            // the guard itself (the policy, a quarantine) must still be written: it is, without the binding
            LOG.warn("cannot read the addresses of the container namespace netfence calls {} ({}): its host guards {}"
                    + " are written without a source binding", netnsId, e.getMessage(),
                    sides.stream().map(HostInterface::name).toList());
            return sides;
        }
    }

    private List<HostInterface> boundOrFail(int netnsId, List<HostInterface> sides, Map<Integer, String> macs)
            throws IOException {
        List<Rtnetlink.Address> addresses = netlink.addressesOf(netnsId, MAX_ADDRESSES);
        if (addresses == null) {
            LOG.warn("the container namespace netfence calls {} has more than {} addresses, addresses that kept"
                    + " changing while they were read, or a dump the kernel ended with an error: its host guards let no"
                    + " IP traffic through", netnsId, MAX_ADDRESSES);
            addresses = List.of();
        }
        // an address the host holds (the bridge's gateway address above all) is never the container's,
        // whatever a workload holding CAP_NET_ADMIN gave its interface: bound, it could answer for it
        Set<String> host = new HashSet<>();
        if (!addresses.isEmpty()) {
            for (Rtnetlink.Address a : netlink.hostAddresses()) {
                host.add(a.address());
            }
        }
        List<HostInterface> out = new ArrayList<>(sides.size());
        for (HostInterface side : sides) {
            String mac = macs.get(side.peerIfindex());
            if (mac == null) {
                mac = netlink.link(netnsId, side.peerIfindex()).map(Rtnetlink.Link::mac).orElse("");
            }
            if (mac.isEmpty()) {
                throw new IOException("the container's interface " + side.peerIfindex() + " behind host interface "
                        + side.name() + " has no link-layer address (it went away?)");
            }
            Set<String> ipv4 = new LinkedHashSet<>();
            Set<String> ipv6 = new LinkedHashSet<>();
            Set<String> failed = new LinkedHashSet<>();
            for (Rtnetlink.Address a : addresses) {
                if (a.failed()) {
                    if (a.ifindex() == side.peerIfindex() && a.ipv6()) {
                        failed.add(a.address());
                    }
                } else if (a.ifindex() == side.peerIfindex() && !host.contains(a.address())) {
                    (a.ipv6() ? ipv6 : ipv4).add(a.address());
                } else if (a.ifindex() == side.peerIfindex()) {
                    LOG.warn("the container behind host interface {} holds {}, an address of the host: not bound"
                            + " (its frames from that address are dropped)", side.name(), a.address());
                }
            }
            out.add(new HostInterface(side.name(), side.ifindex(), side.peerIfindex(),
                    new Binding(mac, List.copyOf(ipv4), List.copyOf(ipv6), List.copyOf(failed))));
        }
        return out;
    }

    /** The host's veths whose peer is in namespace {@code netnsId}, by the peer's index there. */
    private Map<Integer, HostInterface> hostVethsInto(int netnsId) throws IOException {
        Map<Integer, HostInterface> out = new LinkedHashMap<>();
        for (Rtnetlink.Link host : netlink.links()) {
            if ("veth".equals(host.kind()) && host.peerNetnsId() == netnsId && host.peerIfindex() > 0) {
                out.put(host.peerIfindex(), new HostInterface(host.name(), host.ifindex(), host.peerIfindex()));
            }
        }
        return out;
    }

    /** One RTM_GETLINK by index, not a dump: the link with index {@code ifindex}, and its name. */
    @Override
    public boolean current(String name, int ifindex) throws IOException {
        return netlink.link(ifindex).map(link -> link.name().equals(name)).orElse(false);
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
