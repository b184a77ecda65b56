package dev.netfence.nft;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Finds the netlink socket a libnftables context opened, so that {@link NftContext} can free the
 * context at once and leave only its socket, copied to a number of 1024 or more, to be closed
 * later ({@link DeferredCloses}): a context parked whole held a number below 1024, which
 * libnftables' {@code select(2)} needs, and so few could wait. libnftables has no call that
 * returns the socket. Since 0.9 the context's first member is libmnl's socket, whose first member
 * is the descriptor and whose second the {@code sockaddr_nl} it was bound to; that layout is
 * relied on only once it has been checked on a real context against this process and the kernel
 * (the pointer lies in a readable mapping of {@code /proc/self/maps}; the descriptor is a
 * non-blocking {@code AF_NETLINK} socket of protocol {@code NETLINK_NETFILTER}, as libnftables
 * opens it; libmnl's copy of its address is zero, as libnftables leaves it unbound, or the
 * address the socket is bound to). Until then, and for good once the check fails, {@link #of} answers -1 and the context
 * is parked whole, as before. Thread-safe.
 */
final class ContextSockets {
    private static final int UNCHECKED = 0;
    private static final int TRUSTED = 1;
    private static final int REFUSED = 2;
    private static final int SOL_SOCKET = 1;
    private static final int SO_PROTOCOL = 38;
    private static final int SO_DOMAIN = 39;
    private static final int F_GETFL = 3;
    private static final int O_NONBLOCK = 0x800;

    private final NativeCalls.Libc libc;
    private final Path maps;
    private volatile int state = UNCHECKED;

    ContextSockets(NativeCalls.Libc libc) {
        this(libc, Path.of("/proc/self/maps"));
    }

    ContextSockets(NativeCalls.Libc libc, Path maps) {
        this.libc = libc;
        this.maps = maps;
    }

    /**
     * Whether the layout holds for this process's libnftables, checked (see the class comment) on
     * a context made and freed here, in the calling thread's namespace (its socket sends nothing),
     * and its socket could be copied to a number above 1023 (the open-files limit allows it).
     */
    boolean trusted(dev.netfence.netns.LibNftables lib) {
        Pointer ctx = lib.nft_ctx_new(0);
        if (ctx == null) {
            return false;
        }
        try {
            int copy = dev.netfence.netns.NativeDescriptors.copyHigh(of(ctx));
            dev.netfence.netns.NativeDescriptors.closeQuietly(copy);
            return copy >= 0; // and a number above 1023 can be had
        } finally {
            try {
                lib.nft_ctx_free(ctx);
            } catch (dev.netfence.netns.LibNftables.Busy e) {
                // left unfreed; nothing else runs libnftables at start
            }
        }
    }

    /** The descriptor of {@code ctx}'s netlink socket, or -1 when it is not known (see the class comment). */
    int of(Pointer ctx) {
        int s = state;
        if (s == REFUSED || ctx == null) {
            return -1;
        }
        if (s == UNCHECKED) {
            boolean ok = check(ctx);
            state = ok ? TRUSTED : REFUSED;
            if (!ok) {
                return -1;
            }
        }
        Pointer socket = ctx.getPointer(0);
        return socket == null ? -1 : socket.getInt(0);
    }

    /** Whether the layout holds for {@code ctx}: readable pointer, netfilter netlink socket, same port id. */
    private boolean check(Pointer ctx) {
        Pointer socket = ctx.getPointer(0);
        if (socket == null || !readable(Pointer.nativeValue(socket), 16)) {
            return false;
        }
        int fd = socket.getInt(0);
        short family = socket.getShort(4);
        int portId = socket.getInt(8);
        if (fd < 0 || (family != 0 && family != NativeCalls.AF_NETLINK) || (family == 0 && portId != 0)) {
            return false;
        }
        try {
            if (option(fd, SO_DOMAIN) != NativeCalls.AF_NETLINK || option(fd, SO_PROTOCOL) != NativeCalls.NETLINK_NETFILTER
                    || (libc.fcntl(fd, F_GETFL, 0) & O_NONBLOCK) == 0) {
                return false;
            }
            if (family == 0) {
                return true; // libnftables does not bind: libmnl's copy of the address stays zero
            }
            byte[] address = new byte[12];
            int[] length = {address.length};
            libc.getsockname(fd, address, length);
            java.nio.ByteBuffer bound = java.nio.ByteBuffer.wrap(address).order(java.nio.ByteOrder.nativeOrder());
            return length[0] >= 8 && bound.getShort(0) == NativeCalls.AF_NETLINK && bound.getInt(4) == portId;
        } catch (LastErrorException e) {
            return false;
        }
    }

    private int option(int fd, int name) {
        int[] value = {-1};
        int[] length = {4};
        libc.getsockopt(fd, SOL_SOCKET, name, value, length);
        return value[0];
    }

    /** Whether {@code [address, address + size)} lies in one readable mapping of this process. */
    private boolean readable(long address, long size) {
        List<String> lines;
        try {
            lines = Files.readAllLines(maps);
        } catch (IOException | RuntimeException e) {
            return false;
        }
        for (String line : lines) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash < 0 || space < dash || line.length() < space + 2) {
                continue;
            }
            try {
                long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                if (Long.compareUnsigned(address + size, address) < 0) {
                    return false; // wraps around: no mapping holds it
                }
                if (Long.compareUnsigned(start, address) <= 0 && Long.compareUnsigned(address + size, end) <= 0) {
                    return line.charAt(space + 1) == 'r';
                }
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return false;
    }
}
