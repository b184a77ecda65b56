package dev.netfence.nft;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.ChecksumOffload;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.netns.ProcFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * {@link ChecksumOffload} in-process: one trip of a namespace thread (the connection-tracking
 * flusher's, {@link NetlinkConntrackFlusher}) that lists the namespace's interfaces
 * ({@code /proc/thread-self/net/dev}) and, for each but {@code lo}, reads its transmit checksum
 * setting with the {@code ethtool} ioctl ({@code ETHTOOL_GTXCSUM}) and, where it is on, turns it
 * off ({@code ETHTOOL_STXCSUM}, which also clears the segmentation offloads that depend on it)
 * and reads it again. No process is started; an interface whose setting is already off costs one
 * ioctl. An ioctl the kernel refuses is FIREWALL_UNAVAILABLE; an interface gone or renamed since
 * it was listed (ENODEV) is reported stuck, not vouched for.
 */
public final class InNamespaceChecksumOffload implements ChecksumOffload {
    static final long SIOCETHTOOL = 0x8946;
    static final int ETHTOOL_GTXCSUM = 0x16;
    static final int ETHTOOL_STXCSUM = 0x17;
    private static final int AF_INET = 2;
    private static final int SOCK_DGRAM = 2;
    private static final int ENODEV = 19;
    private static final Path NET_DEV = Path.of("/proc/thread-self/net/dev");

    private final NamespaceThreads threads;

    private InNamespaceChecksumOffload(NamespaceThreads threads) {
        this.threads = Objects.requireNonNull(threads, "threads");
    }

    /** On the process's connection-tracking flusher's namespace threads; throws like {@link NetlinkConntrackFlusher#shared}. */
    public static InNamespaceChecksumOffload shared() throws IOException {
        Ioctl.link();
        return new InNamespaceChecksumOffload(NetlinkConntrackFlusher.shared().threads());
    }

    @Override
    public Switched turnOff(PinnedNamespace ns, Duration timeout) {
        Objects.requireNonNull(ns, "ns");
        Instant deadline = dev.netfence.core.SteadyClock.system().instant().plus(timeout); // the threads' timeline
        return threads.run(ns.descriptor(), ns.path(), ns.id(), deadline, n -> {
            try {
                return turnOffHere();
            } catch (IOException | LastErrorException e) {
                throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                        "turning off transmit checksum offload in " + ns + " failed: " + e.getMessage(), e);
            }
        });
    }

    /** In the calling thread's namespace; see the class comment. */
    static Switched turnOffHere() throws IOException {
        List<String> switched = new ArrayList<>();
        List<String> stuck = new ArrayList<>();
        int fd = NativeCalls.Netlink.socket(AF_INET, SOCK_DGRAM | NativeCalls.SOCK_CLOEXEC, 0); // libc's socket(2)
        try (Memory request = new Memory(40); Memory value = new Memory(8)) {
            for (String name : interfaces(ProcFile.read(NET_DEV))) {
                try {
                    if (txChecksum(fd, request, value, name, ETHTOOL_GTXCSUM, 0) == 0) {
                        continue;
                    }
                    txChecksum(fd, request, value, name, ETHTOOL_STXCSUM, 0);
                    (txChecksum(fd, request, value, name, ETHTOOL_GTXCSUM, 0) == 0 ? switched : stuck).add(name);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != ENODEV) {
                        throw new IOException("the ethtool ioctl on " + name + " failed: errno " + e.getErrorCode(), e);
                    }
                    stuck.add(name); // gone or renamed since it was listed: not vouched for (a workload can rename)
                }
            }
        } finally {
            NativeCalls.Netlink.close(fd);
        }
        return new Switched(switched, stuck);
    }

    /** One {@code ethtool_value} ioctl on interface {@code name}: the value the kernel put back. */
    private static int txChecksum(int fd, Memory request, Memory value, String name, int command, int data) {
        value.setInt(0, command);
        value.setInt(4, data);
        request.clear();
        byte[] bytes = name.getBytes(StandardCharsets.ISO_8859_1); // as ProcFile decoded the kernel's bytes
        request.write(0, bytes, 0, Math.min(bytes.length, 15));
        request.setPointer(16, value);
        Ioctl.ioctl(fd, SIOCETHTOOL, request);
        return value.getInt(4);
    }

    /** The interface names of a {@code net/dev} text, {@code lo} left out. */
    static List<String> interfaces(String netDev) {
        List<String> names = new ArrayList<>();
        String[] lines = netDev.split("\n");
        for (int i = 2; i < lines.length; i++) { // two header lines
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                String name = lines[i].substring(0, colon).strip();
                if (!name.isEmpty() && !name.equals("lo")) {
                    names.add(name);
                }
            }
        }
        return names;
    }

    /**
     * libc's {@code ioctl}, direct-mapped; the socket it is made on and its close are libc's
     * {@code socket} and {@code close} as {@link NativeCalls.Netlink} maps them.
     */
    static final class Ioctl {
        static {
            Native.register(Ioctl.class, NativeLibrary.getInstance("c"));
        }

        private Ioctl() {}

        static native int ioctl(int fd, long request, Pointer argument) throws LastErrorException;

        /** Registers the functions (the class's initialisation) if not yet done; LinkageError when it cannot. */
        static void link() {
            // initialising the class is the work
        }
    }
}
