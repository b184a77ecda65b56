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
#           after dropping every capability it takes it back and sends a frame through it
#           (xdp_frames.py: a umem, rings, the interface's queue 0 in copy mode; none of that
#           needs a capability).
# It prints "ready" and waits for a line (the test may move it into a cgroup meanwhile), sets up,
# prints "armed" and waits for another line; then the keeper (raising it back into its effective
# set in hide mode) uses the capability: SIOCSIFFLAGS on lo with lo's own flags (the kernel checks
# CAP_NET_ADMIN before anything else; nothing changes), and prints "used" or "refused: ERRNO".
import ctypes, fcntl, os, socket, struct, sys, threading
import xdp_frames  # beside this script

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


def park(kept):
    """Parks socket kept in flight (SCM_RIGHTS on a unix socket pair, its descriptor closed), drops every
    capability, prints "armed", waits for a line, and takes it back: its descriptor."""
    parked, taker = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    socket.send_fds(parked, [b"p"], [kept.fileno()])
    kept.close()
    drop_all()
    print("armed", flush=True)
    sys.stdin.readline()
    _, fds, _, _ = socket.recv_fds(taker, 1, 1)
    return fds[0]


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
elif mode in ("inflight", "xdp"):
    fd = park(packet_socket() if mode == "inflight" else socket.socket(44, socket.SOCK_RAW, 0))  # 44: AF_XDP
    if mode == "inflight":
        send_frame(socket.socket(fileno=fd))
    else:
        name = first_interface()
        mac = bytes.fromhex(open("/sys/class/net/%s/address" % name).read().strip().replace(":", ""))
        print(xdp_frames.send(fd, name, [b"\xff" * 6 + mac + b"\x88\xb5"
                                     + b"netfence-kept-xdp-socket".ljust(46, b".")]), flush=True)
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
