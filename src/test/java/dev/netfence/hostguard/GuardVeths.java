package dev.netfence.hostguard;

import dev.netfence.rules.PlannedRules;
import dev.netfence.testkit.Sh;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The host guard kernel tests' fixture: namespaces whose {@code eth0} is a veth with its peer in
 * the host namespace (as a bridge network gives a container, without the container), host links
 * the test makes, and what the tests read of the host table. {@link #cleanUp} deletes every link
 * and namespace made through it and removes the chains of interfaces that are gone, whatever the
 * test did; call it from {@code @AfterEach}.
 */
final class GuardVeths {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final List<String> namespaces = new ArrayList<>();
    private final List<String> links = new ArrayList<>();
    /** What the names of the namespaces and host links made here start with. */
    private final String prefix;

    GuardVeths() {
        this("gd");
    }

    /** Names its namespaces {@code <prefix>-<hex>} and its host links {@code <prefix><hex><suffix>} (at most 6 characters). */
    GuardVeths(String prefix) {
        if (prefix.length() > 6) {
            throw new IllegalArgumentException("an interface name has at most 15 characters: prefix too long, " + prefix);
        }
        this.prefix = prefix;
    }

    /** A container's namespace: its name, the host side of its eth0 and the address of each family on eth0. */
    record Container(String ns, String hostSide, String ipv4, String ipv6) {
        Path nsFile() {
            return Path.of("/run/netns", ns);
        }

        /** The link-layer address of the container's eth0, as ip prints it. */
        String mac() {
            String line = Sh.ok("ip", "-n", ns, "-o", "link", "show", "eth0");
            return line.substring(line.indexOf("link/ether ") + "link/ether ".length()).split(" ")[0];
        }

        /** What nft lists for this container's {@code chain} holding {@code plan}: its source binding (read with ip), then the plan. */
        String listing(GuardChain chain, PlannedRules plan) {
            GuardRenderer renderer = new GuardRenderer();
            List<String> body = new ArrayList<>(renderer.binding(
                    new HostSides.Binding(mac(), List.of(ipv4), List.of(ipv6)), plan));
            body.addAll(renderer.rules(plan));
            return renderer.listing(chain, body);
        }
    }

    /** A host guard of {@code mode} over the kernel's answers and in-process libnftables. */
    static HostGuards guards(HostGuardMode mode) {
        return new HostGuards(mode, new NetlinkHostSides(new Rtnetlink()), LibNftablesTable.load().orElseThrow());
    }

    /**
     * A namespace whose eth0 is a veth with its peer in the host namespace, and an address of each
     * family on eth0 (down, so no link-local one comes and goes while a test reads it).
     */
    Container container() {
        return container(hostLink("h"));
    }

    /** As {@link #container()}, its eth0's host side named {@code host} (a name made here, free again). */
    Container container(String host) {
        String ns = namespace();
        Sh.ok("ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns);
        int n = 1 + new java.util.Random().nextInt(250);
        String ipv4 = "198.19." + n + ".2";
        String ipv6 = "2001:db8:" + Integer.toHexString(0xa00 + n) + "::2";
        Sh.ok("ip", "-n", ns, "addr", "add", ipv4 + "/30", "dev", "eth0");
        Sh.ok("ip", "-n", ns, "addr", "add", ipv6 + "/64", "dev", "eth0", "nodad");
        return new Container(ns, host, ipv4, ipv6);
    }

    /** A new namespace, deleted by {@link #cleanUp}. */
    String namespace() {
        String ns = (prefix.equals("gd") ? "guard" : prefix) + "-" + hex();
        Sh.ok("ip", "netns", "add", ns);
        namespaces.add(ns);
        return ns;
    }

    /** A free host link name ending in {@code suffix}, deleted by {@link #cleanUp} once the test makes it. */
    String hostLink(String suffix) {
        String name = prefix + hex() + suffix;
        links.add(name);
        return name;
    }

    /** A free link name ending in {@code suffix}, for a link the test makes inside a namespace (not deleted here). */
    static String linkName(String suffix) {
        return "gd" + hex() + suffix;
    }

    void cleanUp() {
        links.forEach(l -> Sh.run("ip", "link", "del", l));
        namespaces.forEach(ns -> Sh.run("ip", "netns", "del", ns));
        for (String link : links) {
            awaitGone(link);
        }
        guards(HostGuardMode.AUTO).adopt(); // removes the chains of every interface that is gone
    }

    /** The chains of netfence's host table, by name. */
    static List<String> chains() {
        String listing = Sh.run("nft", "list", "table", "netdev", "netfence").stdout();
        return GuardListing.parse(listing).stream().map(GuardListing.Chain::name).toList();
    }

    /** What nft lists for {@code device}'s chain of the host table. */
    static String listed(String device) {
        return Sh.ok("nft", "list", "chain", "netdev", "netfence", device);
    }

    static int ifindex(String link) {
        return Integer.parseInt(Sh.ok("cat", "/sys/class/net/" + link + "/ifindex").strip());
    }

    static void awaitGone(String link) {
        long until = System.nanoTime() + 30_000_000_000L; // a namespace of a thousand links goes in the background
        while (Sh.run("ip", "link", "show", link).ok()) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException(link + " still exists");
            }
            LockSupport.parkNanos(20_000_000L);
        }
    }

    private static String hex() {
        byte[] b = new byte[4];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
