package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.CommandResult;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A podman sandbox of the host guard binding proofs: what it is (MAC, address), the bridge it is a port of and the MAC its
 * frames are sent to, that of its own veth's host side. Not the bridge's: podman's bridge has
 * no MAC of its own here (addr_assign_type 1), the kernel gives it the lowest of its ports',
 * which changes whenever a container (of any run on this host) comes or goes, and a frame to
 * a MAC the bridge no longer holds is flooded to the ports and not received by the host. A
 * port's own MAC stays a local entry of the bridge's forwarding database while the port
 * exists, so frames to it are received by the host (the bridge device) as frames to the
 * bridge's are.
 */
final class BindingSandbox {
    private static final SecureRandom RANDOM = new SecureRandom();

    final PodmanContainer container;
    final String mac;
    final String bridge;
    final String hostSide;
    final String hostSideIndex;
    final String hostSideMac;
    final String prefix; // the gateway's address on the bridge, e.g. 10.88.0.1/16

    private final Path frameSender;
    private final int hostPort;

    /**
     * {@code container}, whose frames {@code frameSender} (the sender of {@link ForgedFrames.Scripts})
     * writes (null: none are sent through this object, only what it found is read); {@code hostPort}:
     * the UDP port its datagrams go to.
     */
    BindingSandbox(PodmanContainer container, Path frameSender, int hostPort) throws IOException {
        this.container = container;
        this.frameSender = frameSender;
        this.hostPort = hostPort;
        this.mac = HostGuardPodmanTest.macOf(container);
        String line = Sh.ok("ip", "-o", "-4", "addr", "show", "to", container.gateway() + "/32").trim();
        assertThat(line).as("the host interface holding %s", container.gateway()).isNotEmpty();
        String[] f = line.split("\\s+");
        this.bridge = f[1];
        this.prefix = f[3];
        String eth0 = Sh.ok("nsenter", "-t", Integer.toString(container.pid()), "-n", "ip", "-o", "link", "show",
                "eth0");
        Matcher peer = Pattern.compile("^\\d+: eth0@if(\\d+):").matcher(eth0);
        assertThat(peer.find()).as("the peer index of %s's eth0: %s", container, eth0).isTrue();
        this.hostSideIndex = peer.group(1);
        this.hostSide = Sh.ok("ip", "-o", "link", "show").lines()
                .filter(l -> l.startsWith(peer.group(1) + ": ")).map(l -> l.split(":? ")[1].split("@")[0])
                .findFirst().orElseThrow(() -> new AssertionError("no host link " + peer.group(1)));
        assertThat(Path.of("/sys/class/net", hostSide, "master").toRealPath().getFileName().toString())
                .as("the bridge that %s, the host side of %s, is a port of", hostSide, container).isEqualTo(bridge);
        this.hostSideMac = Files.readString(Path.of("/sys/class/net", hostSide, "address")).trim();
    }

    /**
     * Fails unless the host guard on the sandbox's veth, when the frames were sent, was the
     * one this case wrote ({@code auto}) or none ({@code off}): what was seen says nothing
     * about this case otherwise. Other runs on this host (another checkout's tests) write
     * chains of the same table, named after their veths, and podman gives the next container
     * the lowest free veth name; such a chain then filters this sandbox's frames.
     */
    void assertGuardedOnlyAs(HostGuardMode mode) {
        CommandResult chain = Sh.run("nft", "list", "chain", "netdev", "netfence", hostSide);
        if (mode == HostGuardMode.AUTO) {
            assertThat(chain.stdout()).as("the guard chain of %s", hostSide)
                    .contains("netfence container=" + container.id() + " ifindex=" + hostSideIndex);
        } else {
            assertThat(chain.ok()).as("a guard chain of %s, not this case's: %s", hostSide, chain.stdout()).isFalse();
        }
    }

    /** Three copies of a UDP datagram to the allowed host port, from {@code srcMac}/{@code srcIp}. */
    void udp(String srcMac, String srcIp, String payload) {
        send("udp", srcMac, srcIp, container.gateway(), Integer.toString(hostPort), payload);
    }

    /**
     * Three copies of a UDP datagram from the container's own MAC and address to {@code dstIp},
     * port {@code port}, through the host; returns the line {@link ForgedFrames.Tap} prints for it.
     */
    String udpTo(String dstIp, int port, String payload) {
        send("udp", mac, container.ipv4(), dstIp, Integer.toString(port), payload);
        return "UDP " + container.ipv4() + " " + dstIp + " " + port + " " + payload;
    }

    /**
     * Three copies of a UDP datagram from the container's own MAC and {@code source} to
     * {@code destination} behind a segment routing header whose last segment is {@code last};
     * returns the line {@link ForgedFrames.Tap} ({@code mcast}) prints for it.
     */
    String segmentRouted(String source, String destination, String last, String payload) {
        send("srh", mac, source, destination, last, payload);
        return "UDP6 " + ForgedFrames.inetNtop(source) + " " + payload;
    }

    /** As {@link #segmentRouted}, its segment routing header behind a routing header with no segment left. */
    String segmentRoutedBehindASpentHeader(String source, String destination, String last, String payload) {
        send("srh", mac, source, destination, last, payload, "spent-first");
        return "UDP6 " + ForgedFrames.inetNtop(source) + " " + payload;
    }

    /**
     * Three copies of a TCP segment with only ACK set from the container's own MAC and address to
     * {@code dstIp}, port {@code port}, in a frame to {@code dstMac}; returns the line
     * {@link ForgedFrames.Tap} ({@code udp}) prints for it.
     */
    String tcpAckTo(String dstMac, String dstIp, int port, String payload) {
        sendTo(dstMac, "tcpack", mac, container.ipv4(), dstIp, Integer.toString(port), payload);
        return "TCP " + container.ipv4() + " " + dstIp + " " + port + " " + payload;
    }

    /** As {@link #udpTo}, with a source route ({@code lsrr:HOP} or {@code ssrr:HOP}) whose last hop is HOP. */
    String udpTo(String dstIp, int port, String payload, String route) {
        send("udp", mac, container.ipv4(), dstIp, Integer.toString(port), payload, route);
        return "UDP " + container.ipv4() + " " + dstIp + " " + port + " " + payload;
    }

    /**
     * Three copies of an ARP frame from the container's own MAC to the host, with sender
     * {@code sha}/{@code spa} and target {@code tpa} and a random target MAC; returns the line
     * {@link ForgedFrames.Tap} prints for it.
     */
    String arp(int op, String sha, String spa, String tpa) {
        String tha = ForgedFrames.randomMac();
        send("arp", mac, Integer.toString(op), sha, spa, tha, tpa);
        return op + " " + sha + " " + spa + " " + tha + " " + tpa;
    }

    /** As {@link #arp(int, String, String, String)}, the frame tagged for VLAN {@code vid} (802.1Q). */
    String taggedArp(int vid, int op, String sha, String spa, String tpa) {
        String tha = ForgedFrames.randomMac();
        send("arp", mac, Integer.toString(op), sha, spa, tha, tpa, Integer.toString(vid));
        return op + " " + sha + " " + spa + " " + tha + " " + tpa;
    }

    /**
     * Three copies of a neighbour advertisement for {@code target} from the container's own
     * MAC and {@code source}, to all nodes, giving its own MAC; returns the line
     * {@link ForgedFrames.Tap} prints for it.
     */
    String na(String source, String target) {
        send("na", mac, source, "ff02::1", target, mac);
        return "NA " + ForgedFrames.inetNtop(source) + " " + ForgedFrames.inetNtop(target);
    }

    /**
     * Three copies of a neighbour advertisement for {@code target} from the container's own MAC and
     * {@code source}, to all nodes, whose target link-layer address option gives {@code lladdr}
     * (after an unknown option when {@code hidden}); returns the line {@link ForgedFrames.Tap}
     * ({@code ndll}) prints for it.
     */
    String naGiving(String source, String target, String lladdr, boolean hidden) {
        if (hidden) {
            send("na", mac, source, "ff02::1", target, lladdr, "hidden");
        } else {
            send("na", mac, source, "ff02::1", target, lladdr);
        }
        return "NA " + ForgedFrames.inetNtop(source) + " " + ForgedFrames.inetNtop(target) + " " + lladdr;
    }

    /**
     * As {@link #naGiving(String, String, String, boolean)}, the message behind a destination
     * options header (padding only), which receivers skip; the line {@link ForgedFrames.Tap}
     * ({@code ndll}) prints for it.
     */
    String naBehindOptionsGiving(String source, String target, String lladdr) {
        send("na", mac, source, "ff02::1", target, lladdr, "dstopt");
        return "NA/60 " + ForgedFrames.inetNtop(source) + " " + ForgedFrames.inetNtop(target) + " " + lladdr;
    }

    /**
     * As {@link #naGiving(String, String, String, boolean)}, the message behind a 1 KB hop-by-hop
     * header of options receivers skip, holding text (what a workload could send its neighbours
     * that way); the line {@link ForgedFrames.Tap} ({@code ndll}) prints for it.
     */
    String naCarryingGiving(String source, String target, String lladdr) {
        send("na", mac, source, "ff02::1", target, lladdr, "carrying");
        return "NA/0 " + ForgedFrames.inetNtop(source) + " " + ForgedFrames.inetNtop(target) + " " + lladdr;
    }

    /**
     * Three copies of a neighbour advertisement for {@code target} from the container's own MAC and
     * {@code source}, to all nodes, giving its own MAC, split into two IPv6 fragments (the first
     * holding the ICMPv6 header's first 8 bytes); returns the lines {@link ForgedFrames.Tap}
     * ({@code nd}) prints for the first fragment and for the second.
     */
    List<String> fragmentedNa(String source, String target) {
        send("nafrag", mac, source, "ff02::1", target, mac);
        String from = ForgedFrames.inetNtop(source);
        return List.of("FRAG6 " + from + " 0 136", "FRAG6 " + from + " 1 -");
    }

    /**
     * Three copies of a neighbour solicitation for {@code target} from the container's own MAC and
     * {@code source}, to all nodes, whose source link-layer address option gives {@code lladdr};
     * returns the line {@link ForgedFrames.Tap} ({@code ndll}) prints for it.
     */
    String nsGiving(String source, String target, String lladdr) {
        send("ns", mac, source, "ff02::1", target, lladdr);
        return "NS " + ForgedFrames.inetNtop(source) + " " + ForgedFrames.inetNtop(target) + " " + lladdr;
    }

    /**
     * Three copies of a router solicitation from the container's own MAC and {@code source} to all
     * routers, whose source link-layer address option gives {@code lladdr}; returns the line
     * {@link ForgedFrames.Tap} ({@code ndll}) prints for it.
     */
    String rsGiving(String source, String lladdr) {
        send("rs", mac, source, "ff02::2", lladdr);
        return "RS " + ForgedFrames.inetNtop(source) + " " + lladdr;
    }

    /**
     * Three copies of a duplicate address detection probe for {@code target}: a neighbour
     * solicitation from {@code ::} to its solicited-node group; returns the line
     * {@link ForgedFrames.Tap} prints for it.
     */
    String ns(String target) {
        byte[] t = dev.netfence.policy.IpAddresses.parseIpv6(target);
        String group = String.format("ff02::1:ff%02x:%02x%02x", t[13] & 0xff, t[14] & 0xff, t[15] & 0xff);
        send("ns", mac, "::", group, target);
        return "NS :: " + ForgedFrames.inetNtop(target);
    }

    /**
     * Three copies of a router advertisement from the container's own MAC and link-local
     * {@code source} to {@code destination}, announcing a prefix, told apart by a random reachable
     * time; returns the line {@link ForgedFrames.Tap} prints for it.
     */
    String ra(String source, String destination) {
        String reachable = Integer.toString(1 + RANDOM.nextInt(Integer.MAX_VALUE - 1));
        send("ra", mac, source, destination, reachable);
        return "RA " + ForgedFrames.inetNtop(source) + " " + reachable;
    }

    /**
     * Three copies of an MLD general query from the container's own MAC and {@code source} to
     * {@code destination}; returns the line {@link ForgedFrames.Tap} prints for it.
     */
    String mq(String source, String destination) {
        return mq(source, destination, false);
    }

    /** As {@link #mq(String, String)}, behind an authentication header too when {@code ah}. */
    String mq(String source, String destination, boolean ah) {
        String response = Integer.toString(1 + RANDOM.nextInt(32766));
        if (ah) {
            send("mq", mac, source, destination, response, "ah");
        } else {
            send("mq", mac, source, destination, response);
        }
        return "MQ " + ForgedFrames.inetNtop(source) + " " + response;
    }

    /**
     * Three copies each of what a multicast router sends (from the container's own MAC and
     * addresses, {@code linkLocal} its IPv6 one): a multicast router advertisement to all snoopers,
     * an IGMP general query to all systems and a PIM hello to all PIM routers; returns the lines
     * {@link ForgedFrames.Tap} ({@code mcast}) prints for them.
     */
    List<String> multicastRouterMessages(String linkLocal) {
        String interval = Integer.toString(1 + RANDOM.nextInt(65534));
        send("mrd", mac, linkLocal, "ff02::6a", interval);
        String response = Integer.toString(1 + RANDOM.nextInt(254));
        send("igmpq", mac, container.ipv4(), "224.0.0.1", response);
        String holdtime = Integer.toString(1 + RANDOM.nextInt(65534));
        send("pim", mac, container.ipv4(), "224.0.0.13", holdtime);
        return List.of("MRD " + ForgedFrames.inetNtop(linkLocal) + " " + interval,
                "IGMP " + container.ipv4() + " 17 " + response, "PIM " + container.ipv4() + " " + holdtime);
    }

    /** The guard chain of the container's host side, as nft lists it, its binding first (fails when there is none). */
    String chain() {
        String listed = Sh.ok("nft", "list", "chain", "netdev", "netfence", hostSide);
        assertThat(listed).as("the guard chain of %s", hostSide).contains("ether saddr != " + mac + " drop");
        return listed;
    }

    /** The line {@code ip -6 -o addr} prints for the container's link-local address on eth0, with its flags. */
    String linkLocalFlags() {
        return Sh.ok("nsenter", "-t", Integer.toString(container.pid()), "-n", "ip", "-6", "-o", "addr",
                "show", "dev", "eth0", "scope", "link");
    }

    /** The container's IPv6 link-local address on eth0. */
    String linkLocal() {
        String out = Sh.ok("nsenter", "-t", Integer.toString(container.pid()), "-n", "ip", "-6", "-o", "addr",
                "show", "dev", "eth0", "scope", "link");
        Matcher m = Pattern.compile("inet6 (fe80:[0-9a-f:]+)/").matcher(out);
        assertThat(m.find()).as("an IPv6 link-local address on %s's eth0: %s", container, out).isTrue();
        return m.group(1);
    }

    private void send(String kind, String srcMac, String... rest) {
        sendTo(hostSideMac, kind, srcMac, rest);
    }

    private void sendTo(String dstMac, String kind, String srcMac, String... rest) {
        java.util.Objects.requireNonNull(frameSender, "this sandbox was made to be read, not to send frames");
        List<String> argv = new ArrayList<>(List.of("nsenter", "-t", Integer.toString(container.pid()), "-n",
                Python.EXE, frameSender.toString(), kind, "eth0", dstMac, srcMac, "3"));
        argv.addAll(List.of(rest));
        Sh.ok(argv.toArray(String[]::new));
    }

    /**
     * An address of the bridge's subnet, in its upper half (podman hands out the lowest free
     * ones), that no running container holds and the host has no neighbour entry for.
     */
    String unusedAddress() throws IOException {
        String[] p = prefix.split("/");
        int bits = Integer.parseInt(p[1]);
        assertThat(bits).as("the bridge's prefix length").isBetween(8, 28);
        int base = ForgedFrames.toInt(p[0]) & (int) (0xffffffffL << (32 - bits));
        int size = 1 << (32 - bits);
        Set<String> taken = new HashSet<>(List.of(container.gateway(), container.ipv4()));
        List<String> running = new ArrayList<>(List.of("podman", "inspect", "--format",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"));
        running.addAll(List.of(Sh.ok("podman", "ps", "-q").strip().split("\\s+")));
        taken.addAll(List.of(Sh.run(running.toArray(String[]::new)).stdout().split("\\s+")));
        for (String line : Sh.ok("ip", "-4", "neigh", "show", "dev", bridge).split("\n")) {
            taken.add(line.split(" ")[0]);
        }
        for (int tries = 0; tries < 100; tries++) {
            int host = size / 2 + RANDOM.nextInt(size / 2 - 1); // never the broadcast address
            String candidate = InetAddress.getByAddress(ForgedFrames.toBytes(base + host)).getHostAddress();
            if (!taken.contains(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("no unused address in " + prefix);
    }
}
