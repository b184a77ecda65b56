# Prints READY once bound to IFACE, then one line per frame of KIND received (not sent) there:
# for arp every ARP frame, as OP SHA SPA THA TPA; for nd every ICMPv6 neighbour
# advertisement or solicitation, as NA (or NS) SRC TARGET, every IPv6 fragment, as FRAG6 SRC
# OFFSET TYPE (the ICMPv6 type in a first fragment, else -), every router advertisement, as RA
# SRC REACHABLE, and every MLD query behind an 8-byte hop-by-hop header, as MQ SRC RESPONSE;
# for ndll every neighbour advertisement or solicitation, as NA (or NS) SRC TARGET LLADDR
# (behind hop-by-hop, routing or destination options headers, NA/60 ... and so on, the headers'
# numbers in order),
# and router solicitation, as RS SRC LLADDR, LLADDR the first link-layer address option of the
# kind a receiver takes (target in an advertisement, source otherwise), or - for none;
# for udp every IPv4 UDP datagram, as UDP SRC DST DPORT PAYLOAD, and TCP segment, as TCP SRC DST DPORT PAYLOAD;
# for tcp6 every IPv6 TCP segment (a later fragment's bytes read as one), as TCP6 SRC DST DPORT PAYLOAD;
# for mcast what makes a snooping bridge take a port for a multicast router's and a
# neighbour advertisement: IGMP SRC TYPE CODE, PIM SRC HOLDTIME, and past any IPv6 extension
# headers (hop-by-hop, routing, destination options, authentication), MQ SRC RESPONSE, MRD SRC
# INTERVAL, NA SRC TARGET, and UDP6 SRC PAYLOAD for an IPv6 UDP datagram.
# Ends when stdin closes or SECONDS passed. argv: IFACE SECONDS KIND.
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
