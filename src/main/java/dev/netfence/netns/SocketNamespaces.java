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
 * it, but the connections still carry traffic through it; the sockets show where it is. Each
 * socket (a descriptor in {@code /proc/PID/fd} reading {@code socket:[INODE]}, each inode once) is
 * copied out of its process ({@code pidfd_getfd(2)}, Linux 5.6, which needs ptrace access: root
 * has it), the copy checked to be that very socket (its own {@code /proc/self/fd} link: a file the
 * workload swapped in meanwhile, a FUSE file whose ioctl would wait on the workload, is never
 * asked), asked for its namespace ({@code ioctl SIOCGSKNS}, Linux 4.9: a new descriptor of the
 * namespace), and closed on a thread of its own (the copy is the socket's last reference if the
 * workload closed its own meanwhile, and a lingering socket's close waits; with more than
 * {@link #MAX_PENDING_CLOSES} copies waiting, searches stop, cut short). A process whose leader
 * exited is read through a live thread ({@link ProcTasks}; its pidfd needs Linux 6.9, and before it
 * the search is cut short). Bounded by the caller's deadline and
 * {@link #MAX_SOCKETS}, which a search that ran out of either reports ({@link Search#complete()}).
 * Not seen: a socket in flight (sent over a unix socket and held by no descriptor), one in an
 * io_uring's fixed files, one only a thread with a descriptor table of its own holds. Only on the
 * decoy path, after the processes were looked at. Empty where JNA, the calls or {@code /proc} of
 * this pid namespace are not there.
 */
public final class SocketNamespaces {
    /** The system call numbers are the same on x86_64 and aarch64 (the shared table from 424 on). */
    private static final long SYS_PIDFD_OPEN = 434;
    private static final long SYS_PIDFD_GETFD = 438;
    /** {@code PIDFD_THREAD} (Linux 6.9): a pidfd of a thread, for a process whose leader exited. */
    private static final long PIDFD_THREAD = 0x80;
    private static final long SIOCGSKNS = 0x894C;
    /** Distinct sockets looked at per search, whatever the number of processes. */
    static final int MAX_SOCKETS = 4096;
    private static final boolean LINKED = link();
    private static final java.util.concurrent.Executor CLOSER = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "netfence-socket-copy-closer");
        t.setDaemon(true);
        return t;
    });
    /** Copies waiting for the closer: past {@link #MAX_PENDING_CLOSES} (a close that waits), searches stop. */
    private static final java.util.concurrent.atomic.AtomicInteger PENDING_CLOSES = new java.util.concurrent.atomic.AtomicInteger();
    static final int MAX_PENDING_CLOSES = 64;
    private static final int EINVAL = 22;
    private static final int ENOSYS = 38;

    /**
     * A namespace this process holds by {@link #descriptor()} ({@code /proc/self/fd/N}), found
     * through a socket of process {@link #holder()}.
     */
    public record Held(int holder, int descriptor, NamespaceId id) {}

    /** The namespace found (null when none), and whether every socket was looked at. */
    public record Search(Held held, boolean complete) {}

    private static final class Calls {
        static native long syscall(long number, long a, long b, long c, long d) throws LastErrorException;

        static native int ioctl(int fd, long request) throws LastErrorException;

        static native int close(int fd) throws LastErrorException;
    }

    private SocketNamespaces() {}

    /**
     * The first namespace, in the order of {@code pids} and their descriptors, of a socket one of
     * them holds that {@code wanted} accepts (asked while its descriptor is open, once per
     * namespace), held open; none when none is, or this cannot be done here (then complete). The
     * caller closes the descriptor ({@link #release}). {@code procRoot} must be this pid
     * namespace's {@code /proc}, as pidfds are opened by pid.
     */
    public static Search first(Path procRoot, List<Integer> pids, Predicate<Held> wanted, long untilNanos) {
        if (!LINKED || !Path.of("/proc").equals(procRoot)) {
            return new Search(null, true);
        }
        Set<NamespaceId> seen = new HashSet<>();
        Set<String> sockets = new HashSet<>();
        boolean complete = true;
        for (int pid : pids) {
            Path view = ProcTasks.view(procRoot, pid);
            List<Found> found = new ArrayList<>();
            if (!sockets(view.resolve("fd"), sockets, found, untilNanos)) {
                return new Search(null, false);
            }
            if (found.isEmpty()) {
                continue;
            }
            int pidfd;
            try {
                String name = view.getFileName().toString();
                pidfd = (int) Calls.syscall(SYS_PIDFD_OPEN, Integer.parseInt(name),
                        view.getParent().equals(procRoot) ? 0 : PIDFD_THREAD, 0, 0);
            } catch (LastErrorException e) {
                // gone; or (EINVAL) a thread's pidfd on a kernel before 6.9, or no pidfds at all: not looked at
                complete &= e.getErrorCode() != EINVAL && e.getErrorCode() != ENOSYS;
                continue;
            }
            try {
                for (Found socket : found) {
                    if (System.nanoTime() - untilNanos > 0 || PENDING_CLOSES.get() > MAX_PENDING_CLOSES) {
                        return new Search(null, false);
                    }
                    Held held = namespaceOf(pidfd, pid, socket, seen, wanted);
                    if (held != null) {
                        return new Search(held, true);
                    }
                }
            } finally {
                closeQuietly(pidfd);
            }
        }
        return new Search(null, complete);
    }

    /** Closes the descriptor of a namespace {@link #first} returned. */
    public static void release(Held held) {
        closeQuietly(held.descriptor());
    }

    /** A socket descriptor of a process and its link ({@code socket:[INODE]}). */
    private record Found(int fd, String link) {}

    /** The namespace of {@code socket} of the process {@code pidfd} is, held, if new and wanted; else null. */
    private static Held namespaceOf(int pidfd, int pid, Found socket, Set<NamespaceId> seen, Predicate<Held> wanted) {
        int copy;
        try {
            copy = (int) Calls.syscall(SYS_PIDFD_GETFD, pidfd, socket.fd(), 0, 0);
        } catch (LastErrorException closedMeanwhile) { // (ENOSYS before Linux 5.6: every socket unseen, as if none)
            return null;
        }
        int ns;
        try {
            if (!socket.link().equals(Files.readSymbolicLink(Path.of("/proc/self/fd/" + copy)).toString())) {
                return null; // swapped for another file since it was listed
            }
            ns = Calls.ioctl(copy, SIOCGSKNS);
        } catch (LastErrorException | IOException notThatSocket) {
            return null;
        } finally {
            PENDING_CLOSES.incrementAndGet();
            CLOSER.execute(() -> {
                try {
                    closeQuietly(copy);
                } finally {
                    PENDING_CLOSES.decrementAndGet();
                }
            });
        }
        boolean kept = false;
        try {
            NamespaceId id = Statx.identity(ns);
            if (id == null) {
                id = NamespaceId.of(Path.of("/proc/self/fd/" + ns));
            }
            Held held = new Held(pid, ns, id);
            kept = seen.add(id) && wanted.test(held);
            return kept ? held : null;
        } catch (IOException | RuntimeException e) {
            return null;
        } finally {
            if (!kept) {
                closeQuietly(ns);
            }
        }
    }

    /**
     * Adds the socket descriptors in {@code fdDirectory} whose socket is not in {@code links} yet to
     * {@code found} (and their links to {@code links}); false when the deadline passed or
     * {@link #MAX_SOCKETS} distinct sockets were listed before the end. A process gone is no socket.
     */
    static boolean sockets(Path fdDirectory, Set<String> links, List<Found> found, long untilNanos) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(fdDirectory)) {
            for (Path fd : fds) {
                if (System.nanoTime() - untilNanos > 0) {
                    return false;
                }
                String name = fd.getFileName().toString();
                if (name.isEmpty() || name.length() > 9 || !name.chars().allMatch(c -> c >= '0' && c <= '9')) {
                    continue;
                }
                String link;
                try {
                    link = Files.readSymbolicLink(fd).toString();
                } catch (IOException closed) {
                    continue; // closed meanwhile
                }
                if (link.startsWith("socket:[") && links.add(link)) {
                    if (links.size() > MAX_SOCKETS) {
                        return false;
                    }
                    found.add(new Found(Integer.parseInt(name), link));
                }
            }
        } catch (IOException | DirectoryIteratorException gone) {
            return true;
        }
        return true;
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
