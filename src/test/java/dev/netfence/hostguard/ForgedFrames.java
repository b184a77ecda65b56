package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.Python;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Frames that claim any identity, for the host guard's binding proofs ({@link HostGuardBindingPodmanTest}):
 * a python sender that writes whole Ethernet frames on AF_PACKET with every field given (Java has
 * no AF_PACKET), and listeners that print every ARP frame or ICMPv6 neighbour advertisement a host
 * interface receives, run as a child process ({@link Tap}).
 */
final class ForgedFrames {
    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    private ForgedFrames() {}

    /** {@link #FRAME_SENDER} and {@link #LISTENER} written to temporary files, removed by {@link #close}. */
    record Scripts(Path sender, Path listener) implements AutoCloseable {
        static Scripts write() throws IOException {
            Path sender = java.nio.file.Files.createTempFile("guard-forge", ".py");
            java.nio.file.Files.writeString(sender, FRAME_SENDER, StandardCharsets.UTF_8);
            Path listener = java.nio.file.Files.createTempFile("guard-tap", ".py");
            java.nio.file.Files.writeString(listener, LISTENER, StandardCharsets.UTF_8);
            return new Scripts(sender, listener);
        }

        @Override
        public void close() throws IOException {
            java.nio.file.Files.deleteIfExists(sender);
            java.nio.file.Files.deleteIfExists(listener);
        }
    }

    /** 12 random hex digits, to tell one case's frames from any other's. */
    static String token() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** A random locally administered unicast MAC, 02:xx:xx:xx:xx:xx. */
    static String randomMac() {
        byte[] b = new byte[5];
        RANDOM.nextBytes(b);
        return "02:" + HexFormat.ofDelimiter(":").formatHex(b);
    }

    /** An IPv4 literal as a 32-bit number. */
    static int toInt(String ipv4) throws IOException {
        byte[] b = InetAddress.getByName(ipv4).getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    /** A 32-bit number as the 4 bytes of an IPv4 address. */
    static byte[] toBytes(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    /** {@code ipv6} as glibc's inet_ntop (the listener's python) prints it. */
    static String inetNtop(String ipv6) {
        return dev.netfence.policy.IpAddresses.format(dev.netfence.policy.IpAddresses.parseIpv6(ipv6));
    }

    /**
     * Writes COUNT copies of one Ethernet frame on AF_PACKET, every field given, so any identity
     * can be claimed. argv: KIND IFACE DSTMAC SRCMAC COUNT, then for {@code udp}: SRCIP DSTIP DPORT
     * PAYLOAD [lsrr:HOP|ssrr:HOP|hidden-lsrr:HOP] (IPv4/UDP, checksums right; with a loose or
     * strict source route whose last hop is HOP; hidden-: behind an unknown option, and sent after
     * the sender dropped every capability, as nft parses options differently then), for
     * {@code tcpack}: SRCIP DSTIP DPORT PAYLOAD [later-fragment] (an IPv4 TCP segment with only ACK
     * set; or an IPv4 fragment at offset 8 bytes, protocol TCP, holding such a segment, which a
     * match on the TCP header reads as one), for {@code tcpack6}: SRCIP6 DSTIP6 DPORT PAYLOAD
     * [later-fragment] (the same over IPv6, the fragment behind a fragment header), for {@code arp}: OP SHA SPA THA TPA [VID] (Ethernet/IPv4 ARP,
     * with an 802.1Q tag of VLAN VID when given),
     * for {@code na}: SRCIP6 DSTIP6 TARGET TLLA [hidden|dstopt] (an ICMPv6 neighbour advertisement, override
     * flag set, hop limit 255, with its target link-layer address option, after an unknown option
     * when {@code hidden}, behind a destination options header when {@code dstopt}, behind a 1 KB
     * hop-by-hop header of experimental options (type 0x1e, which receivers skip) holding text when
     * {@code carrying}), for {@code nafrag}: the same split into two IPv6 fragments, the first
     * holding only the ICMPv6 header's first 8 bytes, for {@code ns}: SRCIP6 DSTIP6 TARGET [SLLA] (a neighbour solicitation,
     * without options as duplicate address detection sends it, or with its source link-layer
     * address option), for {@code rs}: SRCIP6 DSTIP6 SLLA (a router solicitation with its source
     * link-layer address option),
     * for {@code ra}: SRCIP6 DSTIP6 REACHABLE (a router advertisement: router lifetime 1800 s, the
     * number REACHABLE as its reachable time, which tells one from another, and a prefix
     * information option announcing 2001:db8:bad::/64 for address autoconfiguration, hop limit 255),
     * for {@code mq}: SRCIP6 DSTIP6 RESPONSE [ah] (an MLDv2 general query behind a hop-by-hop header
     * with the router alert option, and then an authentication header when {@code ah} is given, hop
     * limit 1, as a querier sends it; the number RESPONSE, below 32768, as its maximum response
     * code, which tells one from another), for {@code mrd}: SRCIP6 DSTIP6 INTERVAL (a multicast
     * router advertisement, ICMPv6 151, the same way, INTERVAL below 65536 its query interval),
     * for {@code igmpq}: SRCIP DSTIP RESPONSE (an IGMPv3 general query with the router alert
     * option, TTL 1, RESPONSE below 256 its maximum response code), for {@code pim}: SRCIP DSTIP
     * HOLDTIME (a PIMv2 hello, TTL 1, HOLDTIME below 65536 in its holdtime option), for {@code srh}:
     * SRCIP6 DSTIP6 FINAL PAYLOAD [spent-first] (a UDP datagram to DSTIP6 behind a segment routing
     * header whose last segment is FINAL, one segment left; with spent-first, that header comes
     * after another with no segment left, which a host skips to follow the second).
     */
    static final String FRAME_SENDER = """
            import socket, struct, sys
            def mac(text):
                return bytes.fromhex(text.replace(":", ""))
            def csum(b):
                if len(b) % 2:
                    b += bytes(1)
                s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
                s = (s >> 16) + (s & 0xffff)
                s += s >> 16
                return ~s & 0xffff
            kind, iface, dst_mac, src_mac, count = sys.argv[1], sys.argv[2], mac(sys.argv[3]), mac(sys.argv[4]), int(sys.argv[5])
            if kind == "udp":
                sip, dip = socket.inet_aton(sys.argv[6]), socket.inet_aton(sys.argv[7])
                dport, payload = int(sys.argv[8]), sys.argv[9].encode()
                opts = b""
                if len(sys.argv) > 10:  # a source route: lsrr:ADDR or ssrr:ADDR, the datagram's last hop
                    route, hop = sys.argv[10].split(":")
                    hidden = route.startswith("hidden-")  # behind an unknown option (type 25), as a receiver skips it
                    route = route[len("hidden-"):] if hidden else route
                    opts = bytes([131 if route == "lsrr" else 137, 7, 4]) + socket.inet_aton(hop) + bytes(1)
                    opts = (bytes([25, 8]) + bytes(6) + opts) if hidden else opts
                length = 8 + len(payload)
                udp = struct.pack("!HHHH", 40000, dport, length, 0) + payload
                final = socket.inet_aton(sys.argv[10].split(":")[1]) if opts else dip
                udp = udp[:6] + struct.pack("!H", csum(sip + final + struct.pack("!BBH", 0, 17, length) + udp) or 0xffff) + udp[8:]
                ip = struct.pack("!BBHHHBBH4s4s", 0x45 + len(opts) // 4, 0, 20 + len(opts) + length, 1, 0x4000, 64, 17, 0,
                                 sip, dip) + opts
                ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
                frame = dst_mac + src_mac + struct.pack("!H", 0x0800) + ip + udp
            elif kind == "tcpack":  # an IPv4 TCP segment with only ACK set, from port 40000; or a later fragment
                sip, dip = socket.inet_aton(sys.argv[6]), socket.inet_aton(sys.argv[7])
                tcp = struct.pack("!HHIIBBHHH", 40000, int(sys.argv[8]), 1, 1, 5 << 4, 0x10, 65535, 0, 0) + sys.argv[9].encode()
                tcp = tcp[:16] + struct.pack("!H", csum(sip + dip + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
                frag = 0x0001 if sys.argv[10:] == ["later-fragment"] else 0x4000  # offset 8 bytes, holding what reads as a segment
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, frag, 64, 6, 0, sip, dip)
                ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
                frame = dst_mac + src_mac + struct.pack("!H", 0x0800) + ip + tcp
            elif kind == "tcpack6":  # the same over IPv6; a later fragment behind a fragment header at offset 8 bytes
                sip, dip = (socket.inet_pton(socket.AF_INET6, a) for a in sys.argv[6:8])
                tcp = struct.pack("!HHIIBBHHH", 40000, int(sys.argv[8]), 1, 1, 5 << 4, 0x10, 65535, 0, 0) + sys.argv[9].encode()
                tcp = tcp[:16] + struct.pack("!H", csum(sip + dip + struct.pack("!I", len(tcp)) + bytes(3) + bytes([6]) + tcp)) + tcp[18:]
                frag = struct.pack("!BBHI", 6, 0, 1 << 3, 9) if sys.argv[10:] == ["later-fragment"] else b""
                ip6 = struct.pack("!IHBB", 6 << 28, len(frag) + len(tcp), 44 if frag else 6, 64) + sip + dip + frag
                frame = dst_mac + src_mac + struct.pack("!H", 0x86dd) + ip6 + tcp
            elif kind == "srh":
                sip, dip, final = (socket.inet_pton(socket.AF_INET6, a) for a in sys.argv[6:9])
                payload = sys.argv[9].encode()
                udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
                udp = udp[:6] + struct.pack("!H", csum(sip + final + struct.pack("!I", len(udp)) + bytes(3) + bytes([17]) + udp) or 0xffff) + udp[8:]
                srh = bytes([17, 2, 4, 1, 0, 0, 0, 0]) + final  # segment routing header: segments left 1, the last segment FINAL
                if len(sys.argv) > 10 and sys.argv[10] == "spent-first":  # behind a routing header with no segment left
                    srh = bytes([43, 2, 4, 0, 0, 0, 0, 0]) + dip + srh
                ip6 = struct.pack("!IHBB", 6 << 28, len(srh) + len(udp), 43, 64) + sip + dip + srh
                frame = dst_mac + src_mac + struct.pack("!H", 0x86dd) + ip6 + udp
            elif kind in ("igmpq", "pim"):
                sip, dip = socket.inet_aton(sys.argv[6]), socket.inet_aton(sys.argv[7])
                if kind == "igmpq":
                    body, proto, opts = struct.pack("!BBHIBBH", 0x11, int(sys.argv[8]), 0, 0, 2, 125, 0), 2, bytes([148, 4, 0, 0])
                else:
                    body, proto, opts = struct.pack("!BBHHHH", 0x20, 0, 0, 1, 2, int(sys.argv[8])), 103, b""
                body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
                ip = struct.pack("!BBHHHBBH4s4s", 0x45 + len(opts) // 4, 0, 20 + len(opts) + len(body), 1, 0, 1, proto, 0, sip, dip) + opts
                ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
                frame = dst_mac + src_mac + struct.pack("!H", 0x0800) + ip + body
            elif kind in ("na", "nafrag", "ns", "rs", "ra", "mq", "mrd"):
                sip, dip = (socket.inet_pton(socket.AF_INET6, a) for a in sys.argv[6:8])
                if kind == "mq":
                    icmp = struct.pack("!BBHHH", 130, 0, 0, int(sys.argv[8]), 0) + bytes(16) + struct.pack("!BBH", 2, 125, 0)
                elif kind == "mrd":
                    icmp = struct.pack("!BBHHH", 151, 20, 0, int(sys.argv[8]), 2)
                elif kind == "ra":
                    prefix = struct.pack("!BBBBIII", 3, 4, 64, 0xc0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, "2001:db8:bad::")
                    icmp = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, int(sys.argv[8]), 0) + prefix
                elif kind in ("na", "nafrag"):  # an unknown option (200) first when asked, which receivers skip
                    target = socket.inet_pton(socket.AF_INET6, sys.argv[8])
                    hidden = bytes([200, 1]) + bytes(6) if sys.argv[10:] == ["hidden"] else b""
                    icmp = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + target + hidden + bytes([2, 1]) + mac(sys.argv[9])
                elif kind == "rs":
                    icmp = struct.pack("!BBHI", 133, 0, 0, 0) + bytes([1, 1]) + mac(sys.argv[8])
                else:  # from :: a solicitation carries no source link-layer address option (RFC 4861)
                    sll = bytes([1, 1]) + mac(sys.argv[9]) if len(sys.argv) > 9 else b""
                    icmp = struct.pack("!BBHI", 135, 0, 0, 0) + socket.inet_pton(socket.AF_INET6, sys.argv[8]) + sll
                pseudo = sip + dip + struct.pack("!I", len(icmp)) + bytes(3) + bytes([58])
                icmp = icmp[:2] + struct.pack("!H", csum(pseudo + icmp)) + icmp[4:]
                if kind == "nafrag":  # two fragments: the ICMPv6 header's first 8 bytes, then the rest
                    ident = int.from_bytes(icmp[8:12], "big")
                    frames = []
                    for off, part, more in ((0, icmp[:8], 1), (1, icmp[8:], 0)):
                        frag = struct.pack("!BBHI", 58, 0, off << 3 | more, ident)
                        ip6 = struct.pack("!IHBB", 6 << 28, len(frag) + len(part), 44, 255) + sip + dip + frag
                        frames.append(dst_mac + src_mac + struct.pack("!H", 0x86dd) + ip6 + part)
                elif kind in ("mq", "mrd"):  # hop-by-hop: router alert (MLD), PadN; then AH with a 12-byte ICV if asked
                    ah = bytes([58, 4, 0, 0]) + struct.pack("!II", 0x100, 1) + bytes(12) if sys.argv[9:] == ["ah"] else b""
                    hbh = bytes([51 if ah else 58, 0, 5, 2, 0, 0, 1, 0])
                    ip6 = struct.pack("!IHBB", 6 << 28, len(hbh) + len(ah) + len(icmp), 0, 1) + sip + dip + hbh + ah
                elif sys.argv[10:] == ["dstopt"]:  # behind a destination options header holding only padding
                    dst = bytes([58, 0, 1, 4, 0, 0, 0, 0])
                    ip6 = struct.pack("!IHBB", 6 << 28, len(dst) + len(icmp), 60, 255) + sip + dip + dst
                elif sys.argv[10:] == ["carrying"]:  # behind a 1 KB hop-by-hop header of options receivers skip
                    data = b"".join(bytes([0x1e, 253]) + (b"covert-" * 37)[:253] for _ in range(4))
                    hbh = bytes([58, 127]) + data + bytes([1, 0])  # 2 + 4 x 255 + PadN 2 = 1,024 bytes
                    ip6 = struct.pack("!IHBB", 6 << 28, len(hbh) + len(icmp), 0, 255) + sip + dip + hbh
                else:
                    ip6 = struct.pack("!IHBB", 6 << 28, len(icmp), 58, 255) + sip + dip
                if kind != "nafrag":
                    frame = dst_mac + src_mac + struct.pack("!H", 0x86dd) + ip6 + icmp
            elif kind == "arp":
                op, sha, spa = int(sys.argv[6]), mac(sys.argv[7]), socket.inet_aton(sys.argv[8])
                tha, tpa = mac(sys.argv[9]), socket.inet_aton(sys.argv[10])
                tag = struct.pack("!HH", 0x8100, int(sys.argv[11])) if len(sys.argv) > 11 else b""
                frame = dst_mac + src_mac + tag + struct.pack("!HHHBBH", 0x0806, 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa
            else:
                raise SystemExit("unknown kind: " + kind)
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            s.bind((iface, 0))
            if kind == "udp" and len(sys.argv) > 10 and sys.argv[10].startswith("hidden-"):
                import os  # sent as a workload that kept the socket and dropped every capability would
                os.setgroups([]); os.setgid(65534); os.setuid(65534)
            for _ in range(count):
                for f in (frames if kind == "nafrag" else [frame]):
                    s.send(f)
            """;

    /**
     * Prints READY once bound to IFACE, then one line per frame of KIND received (not sent) there:
     * for {@code arp} every ARP frame, as OP SHA SPA THA TPA; for {@code nd} every ICMPv6 neighbour
     * advertisement or solicitation, as NA (or NS) SRC TARGET, every IPv6 fragment, as FRAG6 SRC
     * OFFSET TYPE (the ICMPv6 type in a first fragment, else -), every router advertisement, as RA
     * SRC REACHABLE, and every MLD query behind an 8-byte hop-by-hop header, as MQ SRC RESPONSE;
     * for {@code ndll} every neighbour advertisement or solicitation, as NA (or NS) SRC TARGET LLADDR
     * (behind hop-by-hop, routing or destination options headers, NA/60 ... and so on, the headers'
     * numbers in order),
     * and router solicitation, as RS SRC LLADDR, LLADDR the first link-layer address option of the
     * kind a receiver takes (target in an advertisement, source otherwise), or - for none;
     * for {@code udp} every IPv4 UDP datagram, as UDP SRC DST DPORT PAYLOAD, and TCP segment, as TCP SRC DST DPORT PAYLOAD;
     * for {@code tcp6} every IPv6 TCP segment (a later fragment's bytes read as one), as TCP6 SRC DST DPORT PAYLOAD;
     * for {@code mcast} what makes a snooping bridge take a port for a multicast router's and a
     * neighbour advertisement: IGMP SRC TYPE CODE, PIM SRC HOLDTIME, and past any IPv6 extension
     * headers (hop-by-hop, routing, destination options, authentication), MQ SRC RESPONSE, MRD SRC
     * INTERVAL, NA SRC TARGET, and UDP6 SRC PAYLOAD for an IPv6 UDP datagram.
     * Ends when stdin closes or SECONDS passed. argv: IFACE SECONDS KIND.
     */
    static final String LISTENER = """
            import os, select, socket, struct, sys, time
            iface, seconds, kind = sys.argv[1], float(sys.argv[2]), sys.argv[3]
            proto = {"arp": 0x0806, "udp": 0x0800, "mcast": 0x0003}.get(kind, 0x86dd)
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
            s.bind((iface, proto))
            def mcast(f):
                ether = struct.unpack("!H", f[12:14])[0]
                if ether == 0x0800 and len(f) >= 34:
                    off = 14 + (f[14] & 15) * 4
                    src = socket.inet_ntoa(f[26:30])
                    if f[23] == 2 and len(f) >= off + 2:
                        return "IGMP %s %d %d" % (src, f[off], f[off + 1])
                    if f[23] == 103 and len(f) >= off + 10:
                        return "PIM %s %d" % (src, struct.unpack("!H", f[off + 8:off + 10])[0])
                    return False
                if ether != 0x86dd or len(f) < 54:
                    return False
                nh, off, src = f[20], 54, socket.inet_ntop(socket.AF_INET6, f[22:38])
                while nh in (0, 43, 60, 51) and len(f) >= off + 2:
                    nh, off = f[off], off + ((f[off + 1] + 2) * 4 if nh == 51 else (f[off + 1] + 1) * 8)
                if nh == 17 and len(f) >= off + 8:
                    return "UDP6 %s %s" % (src, f[off + 8:].decode("ascii", "replace"))
                if nh != 58 or len(f) < off + 8:
                    return False
                if f[off] == 130:
                    return "MQ %s %d" % (src, struct.unpack("!H", f[off + 4:off + 6])[0])
                if f[off] == 151:
                    return "MRD %s %d" % (src, struct.unpack("!H", f[off + 4:off + 6])[0])
                if f[off] == 136 and len(f) >= off + 24:
                    return "NA %s %s" % (src, socket.inet_ntop(socket.AF_INET6, f[off + 8:off + 24]))
                return False
            def mac(b):
                return ":".join("%02x" % x for x in b)
            def ndll(f):
                if len(f) < 62:
                    return False
                nh, at, chain = f[20], 54, ""  # past hop-by-hop, routing and destination options headers
                while nh in (0, 43, 60) and len(f) >= at + 2:
                    nh, at, chain = f[at], at + (f[at + 1] + 1) * 8, chain + "/%d" % nh
                f = f[:54] + f[at:]
                if len(f) < 62 or nh != 58 or f[54] not in (133, 135, 136):
                    return False
                off, want = (62, 1) if f[54] == 133 else (78, 2 if f[54] == 136 else 1)
                ll = "-"
                while len(f) >= off + 2 and f[off + 1] > 0:
                    if f[off] == want and f[off + 1] == 1 and len(f) >= off + 8:
                        ll = mac(f[off + 2:off + 8])
                        break
                    off += f[off + 1] * 8
                src = socket.inet_ntop(socket.AF_INET6, f[22:38])
                if f[54] == 133:
                    return "RS%s %s %s" % (chain, src, ll)
                return "%s%s %s %s %s" % ("NA" if f[54] == 136 else "NS", chain, src, socket.inet_ntop(socket.AF_INET6, f[62:78]), ll)
            def line(f):
                if kind == "mcast":
                    return mcast(f)
                if kind == "ndll":
                    return ndll(f)
                if kind == "tcp6":  # past hop-by-hop, destination options and fragment headers
                    nh, at = f[20], 54
                    while nh in (0, 60, 44) and len(f) >= at + 8:
                        nh, at = f[at], at + (8 if nh == 44 else (f[at + 1] + 1) * 8)
                    return nh == 6 and len(f) >= at + 20 and " ".join(["TCP6", socket.inet_ntop(socket.AF_INET6, f[22:38]),
                        socket.inet_ntop(socket.AF_INET6, f[38:54]), str(struct.unpack("!H", f[at + 2:at + 4])[0]),
                        f[at + (f[at + 12] >> 4) * 4:].decode("ascii", "replace")])
                if kind == "udp":
                    off = 14 + (f[14] & 15) * 4
                    data = off + (8 if f[23] == 17 else (f[off + 12] >> 4) * 4 if len(f) >= off + 20 else len(f) + 1)
                    return len(f) >= data and f[23] in (6, 17) and " ".join(["UDP" if f[23] == 17 else "TCP",
                        socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34]),
                        str(struct.unpack("!H", f[off + 2:off + 4])[0]), f[data:].decode("ascii", "replace")])
                if kind == "arp":
                    return len(f) >= 42 and " ".join([str(struct.unpack("!H", f[20:22])[0]), mac(f[22:28]),
                        socket.inet_ntoa(f[28:32]), mac(f[32:38]), socket.inet_ntoa(f[38:42])])
                if len(f) >= 90 and f[20] == 0 and f[54] == 58 and f[62] == 130:
                    return " ".join(["MQ", socket.inet_ntop(socket.AF_INET6, f[22:38]), str(struct.unpack("!H", f[66:68])[0])])
                if len(f) >= 70 and f[20] == 58 and f[54] == 134:
                    return " ".join(["RA", socket.inet_ntop(socket.AF_INET6, f[22:38]), str(struct.unpack("!I", f[62:66])[0])])
                if len(f) >= 63 and f[20] == 44:  # an IPv6 fragment: its offset, and the ICMPv6 type in a first one
                    off = struct.unpack("!H", f[56:58])[0] >> 3
                    return "FRAG6 %s %d %s" % (socket.inet_ntop(socket.AF_INET6, f[22:38]), off,
                        f[62] if off == 0 and f[54] == 58 else "-")
                return len(f) >= 78 and f[20] == 58 and f[54] in (135, 136) and " ".join([
                    "NA" if f[54] == 136 else "NS",
                    socket.inet_ntop(socket.AF_INET6, f[22:38]), socket.inet_ntop(socket.AF_INET6, f[62:78])])
            print("READY", flush=True)
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                ready = select.select([s, 0], [], [], max(0.0, end - time.monotonic()))[0]
                if 0 in ready and not os.read(0, 64):
                    break
                if s in ready:
                    frame, addr = s.recvfrom(2048)
                    text = addr[2] != socket.PACKET_OUTGOING and line(frame)
                    if text:
                        print(text, flush=True)
            """;

    /**
     * {@link #LISTENER} (written to {@code listener}) for frames of {@code kind} ({@code arp},
     * {@code nd}, {@code udp}, {@code mcast}) on {@code bridge} in the host namespace, run as a child process (Java has no
     * AF_PACKET): every such frame the bridge receives, one line each, as it comes. It ends
     * when its stdin closes, after 30 s at the latest, and is killed by {@link #close()}.
     */
    static final class Tap implements AutoCloseable {
        private final Process process;
        private final List<String> lines = new CopyOnWriteArrayList<>();
        private final Thread reader;

        Tap(Path listener, String bridge, String kind) throws IOException {
            this(List.of(Python.EXE, listener.toString(), bridge, "30", kind), bridge);
        }

        /** The listener on {@code iface} inside the network namespace {@code netns} ({@code ip netns} name). */
        static Tap inNamespace(Path listener, String netns, String iface, String kind) throws IOException {
            return new Tap(List.of("ip", "netns", "exec", netns, Python.EXE, listener.toString(), iface, "30", kind),
                    netns + "/" + iface);
        }

        private Tap(List<String> command, String bridge) throws IOException {
            process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8));
            reader = new Thread(() -> {
                try {
                    for (String line; (line = out.readLine()) != null; ) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // the process was killed
                }
            }, "guard-tap");
            reader.setDaemon(true);
            reader.start();
            Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(lines)
                    .as("the ARP listener on %s (its process %s)", bridge, process.isAlive() ? "runs" : "ended")
                    .contains("READY"));
        }

        /** Every frame seen (OP SHA SPA THA TPA), once {@code last} was (5 s at most) and 300 ms more passed; stops the listener. */
        List<String> framesAfter(String last) throws Exception {
            try {
                Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> lines.contains(last));
            } catch (ConditionTimeoutException e) {
                // asserted by the caller, with what was seen
            }
            Thread.sleep(300);
            process.getOutputStream().close();
            process.waitFor(5, TimeUnit.SECONDS);
            reader.join(2000);
            return lines.stream().filter(l -> !l.equals("READY")).toList();
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
