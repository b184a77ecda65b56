package dev.netfence.netns;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.util.Optional;

/**
 * One process, held by a pidfd ({@code pidfd_open(2)}, Linux 5.3): unlike a pid, a pidfd can never
 * come to mean another process, so {@link #alive()} ({@code pidfd_send_signal} with signal 0:
 * one system call, nothing sent) says whether the very process it was opened on still exists. A
 * caller that opens it before checking a pid's {@code /proc} files and finds it alive afterwards
 * knows every check read that process's files (a pid is not reused while its process exists).
 * Unavailable (empty) where JNA or the system calls are missing; callers then read {@code /proc}
 * as before. The pidfd is kept at
 * a descriptor number of 1024 or more ({@link NativeDescriptors#keptHigh}). Where the kernel has
 * pidfs (Linux 6.9: a pidfd's file system is {@code pidfs}, and each process its own inode,
 * numbered from a 64-bit counter that is never reset while the system runs), {@link #token()}
 * names the process for good: what a record of a process keeps in place of its start time (a
 * read of {@code /proc/PID/stat}, ≈ 40 µs of CPU in an apply against ≈ 2 µs for a
 * {@code statx} of the pidfd). Thread-safe; the descriptor is closed once.
 */
public final class ProcessIdentity implements AutoCloseable {
    /** The system call numbers are the same on x86_64 and aarch64 (both take the shared table from 424 on). */
    private static final long SYS_PIDFD_SEND_SIGNAL = 424;
    private static final long SYS_PIDFD_OPEN = 434;
    /** {@code PIDFD_THREAD} ({@code O_EXCL}, Linux 6.9, as pidfs): a pidfd of a thread, not only of a thread-group leader. */
    private static final long PIDFD_THREAD = 0x80;
    private static final int ENOENT = 2;
    private static final int ESRCH = 3;

    /**
     * Direct-mapped ({@code Native.register}): JNA's interface mapping costs several times the
     * system call, and a quiet resync makes one per container. {@code syscall} is given five
     * longs whatever the call (the kernel ignores arguments a call does not take).
     */
    private static final class Calls {
        static native long syscall(long number, long a, long b, long c, long d) throws LastErrorException;

        static native int close(int fd) throws LastErrorException;

        static native int fstatfs(int fd, Pointer buffer) throws LastErrorException;
    }

    /** {@code PID_FS_MAGIC}, the {@code f_type} of a pidfd's file system on kernels with pidfs. */
    private static final long PIDFS_MAGIC = 0x50494446L;
    /** Enough for {@code struct statfs} (120 bytes on x86_64 and aarch64; {@code f_type} is its first, 64-bit field). */
    private static final int STATFS_SIZE = 256;
    private static final boolean LINKED = link();
    /** Whether pidfds are pidfs inodes, one per process (see the class comment); probed once on this process's own pidfd. */
    private static final boolean PIDFS = LINKED && probePidfs();

    private final int pid;
    private final int pidfd;
    private boolean closed;

    private ProcessIdentity(int pid, int pidfd) {
        this.pid = pid;
        this.pidfd = pidfd;
    }

    /** A pidfd of {@code pid}; empty when the process does not exist or pidfds are unavailable. */
    public static Optional<ProcessIdentity> open(int pid) {
        if (!LINKED || pid <= 0) {
            return Optional.empty();
        }
        try {
            int fd = (int) Calls.syscall(SYS_PIDFD_OPEN, pid, 0, 0, 0);
            int high = NativeDescriptors.keptHigh(fd);
            if (high < 0) {
                Calls.close(fd);
                return Optional.empty();
            }
            return Optional.of(new ProcessIdentity(pid, high));
        } catch (LastErrorException | UnsatisfiedLinkError e) {
            return Optional.empty();
        }
    }

    /**
     * A name of the process it was opened on that no other process has while the system runs
     * ({@code pidfs:} and its pidfs inode number), or null where pidfds are not pidfs inodes or the
     * call fails: then {@code /proc/PID/stat}'s start time is what names it. Valid whether or not
     * the process still lives; ask {@link #alive()} for that.
     */
    public String token() {
        if (!PIDFS) {
            return null;
        }
        synchronized (this) {
            if (closed) {
                return null;
            }
            NamespaceId id = Statx.identity(pidfd);
            return id == null ? null : "pidfs:" + Long.toUnsignedString(id.inode());
        }
    }

    /**
     * {@link #token()} of the process or thread {@code pid} names now (a pidfd opened with
     * {@code PIDFD_THREAD}, so a thread id has a token too: its own; a thread-group leader's is its
     * process's), or null when there is no such process or thread, or tokens are unavailable
     * ({@link #tokens()}); IOException when it exists but its token cannot be read (out of
     * descriptors, say): the caller must not take that for gone.
     */
    public static String tokenOf(int pid) throws IOException {
        if (!PIDFS || pid <= 0) {
            return null;
        }
        int fd;
        try {
            fd = (int) Calls.syscall(SYS_PIDFD_OPEN, pid, PIDFD_THREAD, 0, 0);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == ESRCH || e.getErrorCode() == ENOENT) {
                return null;
            }
            throw new IOException("pidfd_open(" + pid + "): errno " + e.getErrorCode());
        }
        try {
            NamespaceId id = Statx.identity(fd);
            if (id == null) {
                throw new IOException("statx of the pidfd of " + pid + " failed");
            }
            return "pidfs:" + Long.toUnsignedString(id.inode());
        } finally {
            try {
                Calls.close(fd);
            } catch (LastErrorException ignored) {
                // our own short-lived pidfd: nothing to lose
            }
        }
    }

    /** Whether {@link #token()} can name processes on this kernel. */
    public static boolean tokens() {
        return PIDFS;
    }

    /** The pid it was opened on. */
    public int pid() {
        return pid;
    }

    /** Whether the process it was opened on still exists (a zombie not yet reaped counts). */
    public synchronized boolean alive() {
        if (closed) {
            return false;
        }
        try {
            return Calls.syscall(SYS_PIDFD_SEND_SIGNAL, pidfd, 0, 0, 0) == 0; // signal 0, no siginfo
        } catch (LastErrorException e) {
            return false;
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            try {
                Calls.close(pidfd);
            } catch (LastErrorException ignored) {
                // a failed close of our own pidfd changes nothing we rely on
            }
        }
    }

    private static boolean probePidfs() {
        try {
            // with PIDFD_THREAD, which tokenOf uses: a kernel without it refuses (EINVAL) and names processes by start time
            int fd = (int) Calls.syscall(SYS_PIDFD_OPEN, ProcessHandle.current().pid(), PIDFD_THREAD, 0, 0);
            try (Memory buffer = new Memory(STATFS_SIZE)) {
                buffer.clear();
                Calls.fstatfs(fd, buffer);
                return buffer.getLong(0) == PIDFS_MAGIC && Statx.identity(fd) != null;
            } finally {
                Calls.close(fd);
            }
        } catch (LastErrorException | UnsatisfiedLinkError e) {
            return false;
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
