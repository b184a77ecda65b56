package dev.netfence.nft;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import dev.netfence.netns.LibNftables;
import dev.netfence.netns.NativeDescriptors;

/**
 * The native functions the in-process backend calls, through JNA: libc's {@code setns}, {@code
 * open}, {@code close} and the netlink socket calls, and libnftables' context API. Loading
 * libnftables fails with an {@link UnsatisfiedLinkError} (or a {@link LinkageError}) when the
 * library is not installed; {@link #load()} lets that escape so the backend choice can fall back.
 * {@link #loadLibc()} loads libc alone, for trips that need no libnftables.
 */
public final class NativeCalls {
    static final int CLONE_NEWNET = 0x40000000;
    static final int O_RDONLY = 0;
    static final int O_CLOEXEC = 0x80000;
    static final int AF_NETLINK = 16;
    static final int SOCK_RAW = 3;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int NETLINK_NETFILTER = 12;
    static final int NETLINK_ROUTE = 0;
    static final int MSG_DONTWAIT = 0x40;
    /** {@code NFT_CTX_OUTPUT_JSON} of libnftables' output flags. */
    static final int NFT_CTX_OUTPUT_JSON = LibNftables.NFT_CTX_OUTPUT_JSON;

    /** libc, errno reported as {@link LastErrorException}. */
    interface Libc extends NativeDescriptors.Libc {
        int setns(int fd, int nstype) throws LastErrorException;

        int unshare(int flags) throws LastErrorException;

        int socket(int domain, int type, int protocol) throws LastErrorException;

        int send(int fd, byte[] buffer, long length, int flags) throws LastErrorException;

        int recv(int fd, byte[] buffer, long length, int flags) throws LastErrorException;

        int getsockopt(int fd, int level, int name, int[] value, int[] length) throws LastErrorException;

        int getsockname(int fd, byte[] address, int[] length) throws LastErrorException;
    }

    /**
     * The socket calls of the connection-tracking flush ({@link ConntrackFlush}), the one native
     * work issue 12 adds to every apply, direct-mapped ({@code Native.register}): JNA's interface
     * mapping (a proxy, reflection and argument conversion per call) cost ≈ 60-110 µs of CPU for
     * the flush's four calls where the kernel's part is ≈ 10-30 µs; direct mapping ≈ 35-70 µs.
     * Registered when {@link NativeCalls} is loaded, so a libc JNA cannot bind fails there.
     */
    static final class Netlink {
        static {
            Native.register(Netlink.class, NativeLibrary.getInstance("c"));
        }

        private Netlink() {}

        static native int socket(int domain, int type, int protocol) throws LastErrorException;

        static native int send(int fd, byte[] buffer, long length, int flags) throws LastErrorException;

        static native int recv(int fd, byte[] buffer, long length, int flags) throws LastErrorException;

        static native int close(int fd) throws LastErrorException;

        static native int connect(int fd, byte[] address, int length) throws LastErrorException;

        /** {@code struct sockaddr_nl} of the kernel: family AF_NETLINK, pad, port id 0, no groups. */
        private static final byte[] KERNEL = java.nio.ByteBuffer.allocate(12).order(java.nio.ByteOrder.nativeOrder())
                .putShort((short) AF_NETLINK).putShort((short) 0).putInt(0).putInt(0).array();

        /**
         * A {@code NETLINK_NETFILTER} socket in the calling thread's namespace, connected to the
         * kernel: the kernel then refuses to queue on it anything not sent by the kernel itself
         * (a connected netlink socket only takes messages from its peer), so a workload holding
         * CAP_NET_ADMIN in that namespace cannot forge a reply (a generation, an acknowledgement)
         * by sending to the socket's port id.
         */
        static int kernelSocket() throws LastErrorException {
            return connected(NETLINK_NETFILTER);
        }

        /**
         * A {@code NETLINK_ROUTE} socket in the calling thread's namespace, connected to the kernel
         * like {@link #kernelSocket}: the rtnetlink dumps and deletions of {@link Ipv6LearntFlush}.
         */
        static int routeSocket() throws LastErrorException {
            return connected(NETLINK_ROUTE);
        }

        private static int connected(int protocol) throws LastErrorException {
            int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
            try {
                connect(fd, KERNEL, KERNEL.length);
            } catch (LastErrorException e) {
                close(fd);
                throw e;
            }
            return fd;
        }

        /**
         * Connects netlink socket {@code fd} to the kernel (port id 0), so that it takes no message
         * another socket sends it (see {@link #kernelSocket}); what the socket sends is unchanged.
         */
        static void connectToKernel(int fd) throws LastErrorException {
            connect(fd, KERNEL, KERNEL.length);
        }

        /** Registers the functions (the class's initialisation) if not yet done; LinkageError when it cannot. */
        static void link() {
            // initialising the class is the work
        }
    }

    final Libc libc;
    final LibNftables nftables;

    NativeCalls(Libc libc, LibNftables nftables) { // tests give a libc of their own
        this.libc = libc;
        this.nftables = nftables;
    }

    /** Loads libc and libnftables ({@link LibNftables#load}, the binding shared with the host guard); throws {@link LinkageError} when either is missing. */
    public static NativeCalls load() {
        Libc libc = Native.load("c", Libc.class);
        Netlink.link();
        LibNftables nftables = LibNftables.load();
        return new NativeCalls(libc, nftables);
    }

    /**
     * Loads libc only, for namespace trips that need no libnftables (the connection-tracking
     * flush of the process-based backends); {@code nftables} is null. Throws {@link LinkageError}
     * when JNA or libc cannot be loaded.
     */
    static NativeCalls loadLibc() {
        Libc libc = Native.load("c", Libc.class);
        Netlink.link();
        return new NativeCalls(libc, null);
    }
}
