# Writes COUNT copies of one Ethernet frame on AF_PACKET, every field given, so any identity
# can be claimed. argv: KIND IFACE DSTMAC SRCMAC COUNT, then for udp: SRCIP DSTIP DPORT
# PAYLOAD [lsrr:HOP|ssrr:HOP|hidden-lsrr:HOP] (IPv4/UDP, checksums right; with a loose or
# strict source route whose last hop is HOP; hidden-: behind an unknown option, and sent after
# the sender dropped every capability, as nft parses options differently then), for
# tcpack: SRCIP DSTIP DPORT PAYLOAD [later-fragment] (an IPv4 TCP segment with only ACK
# set; or an IPv4 fragment at offset 8 bytes, protocol TCP, holding such a segment, which a
# match on the TCP header reads as one), for tcpack6: SRCIP6 DSTIP6 DPORT PAYLOAD
# [later-fragment] (the same over IPv6, the fragment behind a fragment header), for arp: OP SHA SPA THA TPA [VID] (Ethernet/IPv4 ARP,
# with an 802.1Q tag of VLAN VID when given),
# for na: SRCIP6 DSTIP6 TARGET TLLA [hidden|dstopt] (an ICMPv6 neighbour advertisement, override
# flag set, hop limit 255, with its target link-layer address option, after an unknown option
# when hidden, behind a destination options header when dstopt, behind a 1 KB
# hop-by-hop header of experimental options (type 0x1e, which receivers skip) holding text when
# carrying), for nafrag: the same split into two IPv6 fragments, the first
# holding only the ICMPv6 header's first 8 bytes, for ns: SRCIP6 DSTIP6 TARGET [SLLA] (a neighbour solicitation,
# without options as duplicate address detection sends it, or with its source link-layer
# address option), for rs: SRCIP6 DSTIP6 SLLA (a router solicitation with its source
# link-layer address option),
# for ra: SRCIP6 DSTIP6 REACHABLE (a router advertisement: router lifetime 1800 s, the
# number REACHABLE as its reachable time, which tells one from another, and a prefix
# information option announcing 2001:db8:bad::/64 for address autoconfiguration, hop limit 255),
# for mq: SRCIP6 DSTIP6 RESPONSE [ah] (an MLDv2 general query behind a hop-by-hop header
# with the router alert option, and then an authentication header when ah is given, hop
# limit 1, as a querier sends it; the number RESPONSE, below 32768, as its maximum response
# code, which tells one from another), for mrd: SRCIP6 DSTIP6 INTERVAL (a multicast
# router advertisement, ICMPv6 151, the same way, INTERVAL below 65536 its query interval),
# for igmpq: SRCIP DSTIP RESPONSE (an IGMPv3 general query with the router alert
# option, TTL 1, RESPONSE below 256 its maximum response code), for pim: SRCIP DSTIP
# HOLDTIME (a PIMv2 hello, TTL 1, HOLDTIME below 65536 in its holdtime option), for srh:
# SRCIP6 DSTIP6 FINAL PAYLOAD [spent-first] (a UDP datagram to DSTIP6 behind a segment routing
# header whose last segment is FINAL, one segment left; with spent-first, that header comes
# after another with no segment left, which a host skips to follow the second).
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
