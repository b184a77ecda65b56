# Sends whole Ethernet frames through an AF_XDP socket, as a workload that kept one after dropping
# CAP_NET_RAW could: in copy mode the frames leave by the driver's transmit directly, past every
# hook of the namespace (OUTPUT, POSTROUTING, its qdiscs). None of the steps here needs a
# capability; only making the socket did. send(fd, iface, frames) gives the socket fd a umem,
# fill, completion and TX rings and queue 0 of iface, sends the frames and waits for their
# completions: "used", or "refused: ERRNO" (or "refused: no completion").
import ctypes, mmap, socket, struct, time

libc = ctypes.CDLL(None, use_errno=True)
SOL_XDP, AF_XDP, RING = 283, 44, 64


def _sockopt(fd, opt, value):
    buf = ctypes.create_string_buffer(value, len(value))
    if libc.setsockopt(fd, SOL_XDP, opt, buf, len(value)) != 0:
        raise OSError(ctypes.get_errno(), "setsockopt %d" % opt)


def send(fd, iface, frames):
    umem = mmap.mmap(-1, 16 * 4096)
    try:
        _sockopt(fd, 4, struct.pack("QQIIII", ctypes.addressof(ctypes.c_char.from_buffer(umem)), len(umem),
                                    2048, 0, 0, 0))  # XDP_UMEM_REG: 32 chunks of 2 KiB
        for opt in (5, 6, 3):  # XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_TX_RING
            _sockopt(fd, opt, struct.pack("i", RING))
    except OSError as e:
        return "refused: " + str(e.errno)
    out, size = ctypes.create_string_buffer(128), ctypes.c_uint32(128)
    if libc.getsockopt(fd, SOL_XDP, 1, out, ctypes.byref(size)) != 0:  # XDP_MMAP_OFFSETS
        return "refused: " + str(ctypes.get_errno())
    off = struct.unpack("16Q", out.raw)  # rx, tx, fill, completion rings: producer, consumer, desc, flags each
    tx = mmap.mmap(fd, off[6] + RING * 16, offset=0x80000000)
    completions = mmap.mmap(fd, off[14] + RING * 8, offset=0x180000000)
    address = struct.pack("HHIII", AF_XDP, 2, socket.if_nametoindex(iface), 0, 0)  # XDP_COPY, queue 0
    if libc.bind(fd, address, len(address)) != 0:
        return "refused: " + str(ctypes.get_errno())
    produced = struct.unpack_from("I", tx, off[4])[0]
    for i, frame in enumerate(frames[:16]):
        umem[i * 2048:i * 2048 + len(frame)] = frame
        struct.pack_into("QII", tx, off[6] + ((produced + i) % RING) * 16, i * 2048, len(frame), 0)
    struct.pack_into("I", tx, off[4], produced + min(len(frames), 16))
    if libc.sendto(fd, None, 0, socket.MSG_DONTWAIT, None, 0) < 0:
        return "refused: " + str(ctypes.get_errno())
    for _ in range(200):
        if struct.unpack_from("I", completions, off[12])[0] >= min(len(frames), 16):
            return "used"
        time.sleep(0.01)
    return "refused: no completion"
