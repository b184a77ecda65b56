# A workload that hides CAP_NET_ADMIN from a check of its effective and bounding sets only: it drops
# the capability from both (and from its inheritable set) without exec'ing, keeps it permitted,
# prints "hidden" and waits. On a line on stdin it raises the capability back into its effective
# set with one capset and uses it: SIOCSIFFLAGS on lo with lo's own flags (the kernel checks
# CAP_NET_ADMIN before anything else; nothing changes). It prints "used" or "refused: ERRNO".
import ctypes, fcntl, socket, struct, sys

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


header, data = Header(VERSION_3, 0), (Data * 2)()
check(libc.capget(ctypes.byref(header), data), "capget")
if not data[0].permitted & bit:
    sys.exit("CAP_NET_ADMIN is not permitted to start with")
check(libc.prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0), "PR_CAPBSET_DROP")
data[0].effective &= ~bit
data[0].inheritable &= ~bit
check(libc.capset(ctypes.byref(header), data), "capset (drop)")
print("hidden", flush=True)

sys.stdin.readline()
data[0].effective |= bit
check(libc.capset(ctypes.byref(header), data), "capset (raise)")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
SIOCGIFFLAGS, SIOCSIFFLAGS = 0x8913, 0x8914
ifreq = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH14x", b"lo", 0))
try:
    fcntl.ioctl(s, SIOCSIFFLAGS, ifreq)
    print("used", flush=True)
except OSError as e:
    print("refused: " + str(e.errno), flush=True)
