package dev.netfence.testkit;

import dev.netfence.policy.Family;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A throw-away two-namespace network for kernel tests: {@code nft-<random>-c} (the "container")
 * and {@code nft-<random>-p} (its peer; {@code nft} unless NETFENCE_TEST_NETNS_PREFIX says otherwise), joined by a veth pair. Addresses live in the test
 * ranges: container 198.18.X.1/24 and 2001:db8:X::1/64, peer .2 and ::2, plus "other host"
 * addresses (.3, ::3) and a "blocked subnet" host (198.19.X.2, 2001:db8:X:1::2) on the peer.
 * The container's {@code /etc/netns/NAME/resolv.conf} names the peer as nameserver (ip netns
 * exec bind-mounts it over /etc/resolv.conf). Duplicate address detection is off on both ends, so
 * the link-local addresses are usable at once. A {@link NetAgent} runs in each namespace; the
 * container agent's pid is the "container pid". {@link #close()} kills only the agents it
 * started and deletes the namespaces and the /etc/netns directory, also after failures.
 */
public final class SandboxNet implements AutoCloseable {
    public static final int TIMEOUT_MS = 1500;
    /** How the namespaces' names begin: {@code nft}, or NETFENCE_TEST_NETNS_PREFIX where a machine asks for its own. */
    private static final String PREFIX = System.getenv().getOrDefault("NETFENCE_TEST_NETNS_PREFIX", "nft");

    private final String id;
    private final int x;
    private final List<Runnable> cleanups = new ArrayList<>();
    private Agent container;
    private Agent peer;
    private String peerNat64;

    private SandboxNet() {
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        this.id = HexFormat.of().formatHex(random);
        this.x = 1 + Byte.toUnsignedInt(random[0]) % 250;
    }

    /** Builds the network and starts both agents; on any failure cleans up what was made. */
    public static SandboxNet create() throws IOException {
        SandboxNet net = new SandboxNet();
        try {
            net.build();
            return net;
        } catch (RuntimeException | IOException e) {
            net.close();
            throw e;
        }
    }

    private void build() throws IOException {
        String c = containerNs();
        String p = peerNs();
        Sh.ok("ip", "netns", "add", c);
        cleanups.add(0, () -> Sh.run("ip", "netns", "del", c));
        Sh.ok("ip", "netns", "add", p);
        cleanups.add(0, () -> Sh.run("ip", "netns", "del", p));
        Path etc = Path.of("/etc/netns", c);
        Files.createDirectories(etc);
        cleanups.add(0, () -> deleteTree(etc));
        Files.writeString(etc.resolve("resolv.conf"),
                "# test resolv.conf\nsearch example.test\nnameserver " + peerV4() + "\nnameserver " + peerV6() + "\n",
                StandardCharsets.UTF_8);
        Sh.ok("ip", "-n", c, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", p);
        address(c, "198.18." + x + ".1/24", "2001:db8:" + x + "::1/64");
        address(p, peerV4() + "/24", peerV6() + "/64");
        address(p, otherHostV4() + "/24", otherHostV6() + "/64");
        address(p, blockedHostV4() + "/24", blockedHostV6() + "/64");
        for (String ns : List.of(c, p)) {
            // without duplicate detection the link-local address is usable at link up: while it is
            // tentative the kernel sends no neighbour solicitation for a source it does not own (a
            // forged one), so such datagrams waited up to 2.3 s and outlasted a probe's window
            Sh.ok("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0");
            Sh.ok("ip", "-n", ns, "link", "set", "lo", "up");
            Sh.ok("ip", "-n", ns, "link", "set", "eth0", "up");
        }
        Sh.ok("ip", "-n", c, "route", "add", "198.19." + x + ".0/24", "dev", "eth0");
        Sh.ok("ip", "-n", c, "-6", "route", "add", "2001:db8:" + x + ":1::/64", "dev", "eth0");
        container = Agent.start(c);
        cleanups.add(0, container::close);
        peer = Agent.start(p);
        cleanups.add(0, peer::close);
    }

    private static void address(String ns, String v4, String v6) {
        Sh.ok("ip", "-n", ns, "addr", "add", v4, "dev", "eth0");
        Sh.ok("ip", "-n", ns, "-6", "addr", "add", v6, "dev", "eth0", "nodad");
    }

    public String containerNs() {
        return PREFIX + "-" + id + "-c";
    }

    public String peerNs() {
        return PREFIX + "-" + id + "-p";
    }

    /** The pid of the process standing in for the container. */
    public int containerPid() {
        return (int) container.pid();
    }

    public Agent containerAgent() {
        return container;
    }

    public Agent peerAgent() {
        return peer;
    }

    public String containerV4() {
        return "198.18." + x + ".1";
    }

    public String containerV6() {
        return "2001:db8:" + x + "::1";
    }

    /** The peer; also the container's nameserver. */
    public String peerV4() {
        return "198.18." + x + ".2";
    }

    public String peerV6() {
        return "2001:db8:" + x + "::2";
    }

    /** A second host on the container's subnet (a peer address not named in policies). */
    public String otherHostV4() {
        return "198.18." + x + ".3";
    }

    public String otherHostV6() {
        return "2001:db8:" + x + "::3";
    }

    /** A host in {@link #blockedSubnetV4()}. */
    public String blockedHostV4() {
        return "198.19." + x + ".2";
    }

    public String blockedHostV6() {
        return "2001:db8:" + x + ":1::2";
    }

    public String blockedSubnetV4() {
        return "198.19." + x + ".0/24";
    }

    public String blockedSubnetV6() {
        return "2001:db8:" + x + ":1::/64";
    }

    /**
     * The peer's IPv4 address in its NAT64 form (64:ff9b::c612:X02), which the peer holds and the
     * container routes to it on-link from the first call on: the peer stands in for a translator
     * delivering to its IPv4 address.
     */
    public synchronized String peerNat64() {
        if (peerNat64 == null) {
            String a = "64:ff9b::c612:" + Integer.toHexString(x << 8 | 2);
            Sh.ok("ip", "-n", peerNs(), "-6", "addr", "add", a + "/128", "dev", "eth0", "nodad");
            Sh.ok("ip", "-n", containerNs(), "-6", "route", "add", a + "/128", "dev", "eth0");
            peerNat64 = a;
        }
        return peerNat64;
    }

    /** Makes the peer accept TCP on {@code port} and echo UDP on {@code port} (all its addresses). */
    public void peerListens(int port) throws IOException {
        check(peer.send("listen tcp " + port));
        check(peer.send("listen udp " + port));
    }

    /** The container's TCP connect result to host:port: OK, REFUSED, UNREACHABLE or TIMEOUT. */
    public String containerTcp(String host, int port) throws IOException {
        return container.send("tcp " + host + " " + port + " " + TIMEOUT_MS);
    }

    /** The container's UDP echo result to host:port: OK, REFUSED or TIMEOUT. */
    public String containerUdp(String host, int port) throws IOException {
        return container.send("udp " + host + " " + port + " " + TIMEOUT_MS);
    }

    /** The peer's TCP connect result into the container. */
    public String peerTcp(String host, int port) throws IOException {
        return peer.send("tcp " + host + " " + port + " " + TIMEOUT_MS);
    }

    /**
     * Removes every filter rule and user chain of both families in the container namespace
     * (iptables-nft) and netfence's nft table.
     */
    public void resetRules() {
        byte[] empty = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
                .getBytes(StandardCharsets.UTF_8);
        for (String bin : List.of("iptables-nft-restore", "ip6tables-nft-restore")) {
            Sh.ok(empty, "ip", "netns", "exec", containerNs(), bin);
        }
        Sh.ok("table inet netfence\ndelete table inet netfence\n".getBytes(StandardCharsets.UTF_8),
                "ip", "netns", "exec", containerNs(), "nft", "-f", "-");
    }

    /**
     * Empties the container namespace's iptables-legacy filter tables (both families). Separate from
     * {@link #resetRules()}: a legacy table, once made, stays in the namespace, and only the classes
     * that run the legacy backend should make one.
     */
    public void resetLegacyRules() {
        byte[] empty = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
                .getBytes(StandardCharsets.UTF_8);
        for (String bin : List.of("iptables-legacy-restore", "ip6tables-legacy-restore")) {
            Sh.ok(empty, "ip", "netns", "exec", containerNs(), bin);
        }
    }

    /** Every rule netfence could have written in the container namespace: iptables-nft of both families, then nft's listing. */
    public String allRules() {
        return save(Family.IPV4) + "\n" + save(Family.IPV6) + "\n"
                + Rulesets.zeroNftCounters(Sh.ok("ip", "netns", "exec", containerNs(), "nft", "list", "ruleset"));
    }

    /** The container namespace's filter table as iptables-save prints it (nft backend), normalized. */
    public String save(Family family) {
        String bin = family == Family.IPV4 ? "iptables-nft-save" : "ip6tables-nft-save";
        return Rulesets.normalize(Sh.ok("ip", "netns", "exec", containerNs(), bin, "-t", "filter"));
    }

    private static void check(String answer) throws IOException {
        if (!"OK".equals(answer)) {
            throw new IOException("agent answered " + answer);
        }
    }

    private static void deleteTree(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // already gone
        }
    }

    @Override
    public void close() {
        for (Runnable cleanup : cleanups) {
            try {
                cleanup.run();
            } catch (RuntimeException e) {
                // keep cleaning up the rest
            }
        }
        cleanups.clear();
    }
}
