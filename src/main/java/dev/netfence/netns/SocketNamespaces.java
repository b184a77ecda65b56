package dev.netfence.netns;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The network namespaces of the sockets some processes hold: what is left of a container's
 * namespace when its workload opened connections there and then moved every process into a
 * namespace of its own (a decoy). No process is in that namespace any more, so none can witness
 * it, but the connections still carry traffic through it; the sockets are the proof that it is
 * the container's. Each socket descriptor ({@code /proc/PID/fd/N} reading {@code socket:[...]})
 * is copied out of its process ({@code pidfd_getfd(2)}, Linux 5.6, which needs ptrace access:
 * root has it), the copy asked for its namespace ({@code ioctl SIOCGSKNS}, Linux 4.9: a new
 * descriptor of the namespace) and closed at once. Only on the decoy path, after the processes
 * were looked at; bounded by the caller's deadline and {@link #MAX_SOCKETS}. Empty where JNA, the
 * calls or {@code /proc} of this pid namespace are not there.
 */
public final class SocketNamespaces {
    /** The system call numbers are the same on x86_64 and aarch64 (the shared table from 424 on). */
    private static final long SYS_PIDFD_OPEN = 434;
    private static final long SYS_PIDFD_GETFD = 438;
    private static final long SIOCGSKNS = 0x894C;
    /** Socket descriptors looked at per search, whatever the number of processes. */
    static final int MAX_SOCKETS = 4096;
    private static final boolean LINKED = link();

    /**
     * A namespace this process holds by {@link #descriptor()} ({@code /proc/self/fd/N}), found
     * through a socket of process {@link #holder()}.
     */
    public record Held(int holder, int descriptor, NamespaceId id) {}

    private static final class Calls {
        static native long syscall(long number, long a, long b, long c, long d) throws LastErrorException;

        static native int ioctl(int fd, long request) throws LastErrorException;

        static native int close(int fd) throws LastErrorException;
    }

    private SocketNamespaces() {}

    /**
     * The first namespace, in the order of {@code pids} and their descriptors, of a socket one of
     * them holds that {@code wanted} accepts (asked while its descriptor is open, once per
     * namespace), held open; null when none is (or the time ran out,
     * or this cannot be done here). The caller closes the descriptor ({@link #release}).
     * {@code procRoot} must be this pid namespace's {@code /proc}, as pidfds are opened by pid.
     */
    public static Held first(Path procRoot, List<Integer> pids, Predicate<Held> wanted, long untilNanos) {
        if (!LINKED || !Path.of("/proc").equals(procRoot)) {
            return null;
        }
        Set<NamespaceId> seen = new HashSet<>();
        int looked = 0;
        for (int pid : pids) {
            List<Integer> sockets = sockets(procRoot, pid);
            if (sockets.isEmpty()) {
                continue;
            }
            int pidfd;
            try {
                pidfd = (int) Calls.syscall(SYS_PIDFD_OPEN, pid, 0, 0, 0);
            } catch (LastErrorException gone) {
                continue;
            }
            try {
                for (int fd : sockets) {
                    if (++looked > MAX_SOCKETS || System.nanoTime() - untilNanos > 0) {
                        return null;
                    }
                    Held held = namespaceOf(pidfd, pid, fd, seen, wanted);
                    if (held != null) {
                        return held;
                    }
                }
            } finally {
                closeQuietly(pidfd);
            }
        }
        return null;
    }

    /** Closes the descriptor of a namespace {@link #first} returned. */
    public static void release(Held held) {
        closeQuietly(held.descriptor());
    }

    /** The namespace of socket {@code fd} of the process {@code pidfd} is, held, if new and wanted; else null. */
    private static Held namespaceOf(int pidfd, int pid, int fd, Set<NamespaceId> seen, Predicate<Held> wanted) {
        int copy;
        try {
            copy = (int) Calls.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0, 0);
        } catch (LastErrorException closedMeanwhile) {
            return null;
        }
        int ns;
        try {
            ns = Calls.ioctl(copy, SIOCGSKNS);
        } catch (LastErrorException notASocketAnyMore) {
            return null;
        } finally {
            closeQuietly(copy);
        }
        NamespaceId id = Statx.identity(ns);
        if (id == null) {
            try {
                id = NamespaceId.of(Path.of("/proc/self/fd/" + ns));
            } catch (IOException e) {
                closeQuietly(ns);
                return null;
            }
        }
        Held held = new Held(pid, ns, id);
        if (seen.add(id) && wanted.test(held)) {
            return held;
        }
        closeQuietly(ns);
        return null;
    }

    /** The numbers of the descriptors of {@code pid} that are sockets, in directory order; empty when gone. */
    static List<Integer> sockets(Path procRoot, int pid) {
        List<Integer> found = new ArrayList<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(procRoot.resolve(Integer.toString(pid)).resolve("fd"))) {
            for (Path fd : fds) {
                String name = fd.getFileName().toString();
                try {
                    if (name.chars().allMatch(c -> c >= '0' && c <= '9') && name.length() <= 9
                            && Files.readSymbolicLink(fd).toString().startsWith("socket:[")) {
                        found.add(Integer.parseInt(name));
                    }
                } catch (IOException closed) {
                    // closed meanwhile: not a socket any more
                }
            }
        } catch (IOException | DirectoryIteratorException gone) {
            return found;
        }
        return found;
    }

    private static void closeQuietly(int fd) {
        try {
            Calls.close(fd);
        } catch (LastErrorException ignored) {
            // nothing to do
        }
    }

    private static boolean link() {
        try {
            Native.register(Calls.class, NativeLibrary.getInstance("c"));
            return true;
        } catch (LinkageError | RuntimeException e) {
            return false;
        }
    }
}
