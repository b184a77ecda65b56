# A workload that plays with CAP_NET_ADMIN so that a look at one process's /proc/PID/status, or at
# some of its sets, misses it. Usage: capability-workload.py MODE, where MODE is
#   hide:   this process drops it from its effective, bounding and inheritable sets and keeps it
#           permitted, to raise it again with one capset;
#   thread: a second thread keeps it; the main thread drops it from every set;
#   child:  a child forked first keeps it; this process then drops it from every set;
#   plain:  this process keeps it and drops nothing (the event names another process);
#   packet: this process opens an AF_PACKET socket on the namespace's first interface but lo while
#           it holds CAP_NET_RAW, then drops every capability from every set, and keeps the socket:
#           the kernel checks the capability only when such a socket is made, and its frames skip
#           the OUTPUT chain;
#   inflight: the same, but the socket is parked in flight (SCM_RIGHTS on a unix socket pair it
#           owns) and its descriptor closed: no descriptor of the process links to it until it
#           takes it back to send.
#   xdp:    an AF_XDP socket made while it holds CAP_NET_RAW and parked in flight the same way;
#           after dropping every capability it takes it back, gives it a umem, rings and the
#           interface's queue 0 (copy mode) and sends a frame: none of that needs a capability.
# It prints "ready" and waits for a line (the test may move it into a cgroup meanwhile), sets up,
# prints "armed" and waits for another line; then the keeper (raising it back into its effective
# set in hide mode) uses the capability: SIOCSIFFLAGS on lo with lo's own flags (the kernel checks
# CAP_NET_ADMIN before anything else; nothing changes), and prints "used" or "refused: ERRNO".
import ctypes, fcntl, mmap, os, socket, struct, sys, threading, time

libc = ctypes.CDLL(None, use_errno=True)
PR_CAPBSET_DROP, CAP_NET_ADMIN, VERSION_3 = 24, 12, 0x20080522
bit = 1 << CAP_NET_ADMIN


class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def check(rc, what):
    if rc != 0:
        sys.exit(what + " failed: errno " + str(ctypes.get_errno()))


def drop(keep_permitted=False):
    """Drops CAP_NET_ADMIN from the calling thread's sets (the ambient set follows the permitted one)."""
    header, data = Header(VERSION_3, 0), (Data * 2)()
    check(libc.capget(ctypes.byref(header), data), "capget")
    if not data[0].permitted & bit:
        sys.exit("CAP_NET_ADMIN is not permitted to start with")
    check(libc.prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0), "PR_CAPBSET_DROP")
    data[0].effective &= ~bit
    if not keep_permitted:
        data[0].permitted &= ~bit
    data[0].inheritable &= ~bit
    check(libc.capset(ctypes.byref(header), data), "capset (drop)")


def raise_effective():
    header, data = Header(VERSION_3, 0), (Data * 2)()
    check(libc.capget(ctypes.byref(header), data), "capget")
    data[0].effective |= bit
    check(libc.capset(ctypes.byref(header), data), "capset (raise)")


def use():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    SIOCGIFFLAGS, SIOCSIFFLAGS = 0x8913, 0x8914
    ifreq = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH14x", b"lo", 0))
    try:
        fcntl.ioctl(s, SIOCSIFFLAGS, ifreq)
        print("used", flush=True)
    except OSError as e:
        print("refused: " + str(e.errno), flush=True)


def drop_all():
    """Drops every capability from every set of this (single-threaded) process."""
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the kernel's last capability: ignored
    check(libc.prctl(47, 4, 0, 0, 0), "PR_CAP_AMBIENT_CLEAR_ALL")
    header, data = Header(VERSION_3, 0), (Data * 2)()
    check(libc.capset(ctypes.byref(header), data), "capset (drop all)")


def packet_socket():
    name = first_interface()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((name, 0))
    return s


def send_frame(s):
    mac = s.getsockname()[4]
    try:
        s.send(b"\xff" * 6 + mac + b"\x88\xb5" + b"netfence-kept-packet-socket".ljust(46, b"."))
        print("used", flush=True)
    except OSError as e:
        print("refused: " + str(e.errno), flush=True)


def first_interface():
    return next(n for n in sorted(os.listdir("/sys/class/net")) if n != "lo")


def xdp_sockopt(fd, opt, value):
    buf = ctypes.create_string_buffer(value, len(value))
    if libc.setsockopt(fd, 283, opt, buf, len(value)) != 0:  # SOL_XDP
        raise OSError(ctypes.get_errno(), "setsockopt %d" % opt)


def send_xdp_frame(fd):
    """Gives AF_XDP socket fd a umem, fill, completion and TX rings and queue 0 of the first interface but lo in
    copy mode, sends one frame and waits for its completion."""
    name, n = first_interface(), 64
    umem = mmap.mmap(-1, 16 * 4096)
    try:
        xdp_sockopt(fd, 4, struct.pack("QQIIII", ctypes.addressof(ctypes.c_char.from_buffer(umem)), len(umem),
                                       2048, 0, 0, 0))  # XDP_UMEM_REG
        for opt in (5, 6, 3):  # XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_TX_RING
            xdp_sockopt(fd, opt, struct.pack("i", n))
    except OSError as e:
        print("refused: " + str(e.errno), flush=True)
        return
    out, size = ctypes.create_string_buffer(128), ctypes.c_uint32(128)
    check(libc.getsockopt(fd, 283, 1, out, ctypes.byref(size)), "XDP_MMAP_OFFSETS")
    off = struct.unpack("16Q", out.raw)  # rx, tx, fill, completion rings: producer, consumer, desc, flags each
    tx = mmap.mmap(fd, off[6] + n * 16, offset=0x80000000)
    completions = mmap.mmap(fd, off[14] + n * 8, offset=0x180000000)
    address = struct.pack("HHIII", 44, 2, socket.if_nametoindex(name), 0, 0)  # AF_XDP, XDP_COPY, queue 0
    if libc.bind(fd, address, len(address)) != 0:
        print("refused: " + str(ctypes.get_errno()), flush=True)
        return
    mac = bytes.fromhex(open("/sys/class/net/%s/address" % name).read().strip().replace(":", ""))
    frame = b"\xff" * 6 + mac + b"\x88\xb5" + b"netfence-kept-xdp-socket".ljust(46, b".")
    umem[0:len(frame)] = frame
    produced = struct.unpack_from("I", tx, off[4])[0]
    struct.pack_into("QII", tx, off[6] + (produced % n) * 16, 0, len(frame), 0)
    struct.pack_into("I", tx, off[4], produced + 1)
    if libc.sendto(fd, None, 0, socket.MSG_DONTWAIT, None, 0) < 0:
        print("refused: " + str(ctypes.get_errno()), flush=True)
        return
    for _ in range(200):
        if struct.unpack_from("I", completions, off[12])[0] > 0:
            print("used", flush=True)
            return
        time.sleep(0.01)
    print("refused: no completion", flush=True)


mode = sys.argv[1]
print("ready", flush=True)
sys.stdin.readline()
if mode == "thread":
    go = threading.Event()
    keeper = threading.Thread(target=lambda: (go.wait(), use()))
    keeper.start()
    drop()
    print("armed", flush=True)
    sys.stdin.readline()
    go.set()
    keeper.join()
elif mode == "child":
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(w)
        if os.read(r, 1):  # end of file: the parent is gone, and so is the test
            use()
        os._exit(0)
    os.close(r)
    drop()
    print("armed", flush=True)
    sys.stdin.readline()
    os.write(w, b"g")
    os.wait()
elif mode == "packet":
    kept = packet_socket()
    drop_all()
    print("armed", flush=True)
    sys.stdin.readline()
    send_frame(kept)
elif mode == "inflight":
    kept = packet_socket()
    parked, taker = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    socket.send_fds(parked, [b"p"], [kept.fileno()])
    kept.close()
    drop_all()
    print("armed", flush=True)
    sys.stdin.readline()
    _, fds, _, _ = socket.recv_fds(taker, 1, 1)
    send_frame(socket.socket(fileno=fds[0]))
elif mode == "xdp":
    kept = socket.socket(44, socket.SOCK_RAW, 0)  # AF_XDP
    parked, taker = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    socket.send_fds(parked, [b"x"], [kept.fileno()])
    kept.close()
    drop_all()
    print("armed", flush=True)
    sys.stdin.readline()
    _, fds, _, _ = socket.recv_fds(taker, 1, 1)
    send_xdp_frame(fds[0])
elif mode == "hide":
    drop(keep_permitted=True)
    print("armed", flush=True)
    sys.stdin.readline()
    raise_effective()
    use()
else:
    print("armed", flush=True)
    sys.stdin.readline()
    use()
sys.stdin.readline()
