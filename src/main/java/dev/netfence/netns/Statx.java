package dev.netfence.netns;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A file's device and inode, or its link count, through glibc's {@code statx(2)} wrapper (glibc 2.28, Linux 4.11),
 * direct-mapped through JNA into this thread's buffer: the identity check every apply makes
 * several times (the pin's before/after and host-namespace checks, each namespace thread's
 * check after {@code setns}). {@code Files.readAttributes(path, "unix:dev,ino")} cost ≈ 13 µs
 * of CPU per call in a warm C1 JVM (the attribute-name parsing, a map, a full attributes
 * object) against the kernel's ≈ 4 µs; a profile of applies in a loop put it at 4 % of all
 * samples. The device is encoded as glibc's {@code makedev} encodes {@code st_dev}, which is
 * what the JDK reports, so both ways give equal {@link NamespaceId}s; at link time one answer is
 * compared with the JDK's, and this way is not used when they differ. The link count is the
 * container capability read's "has this cgroup sub-cgroups?" on every apply (a directory's count
 * is 2 plus its sub-directories on kernfs), where {@code Files.getAttribute(path, "unix:nlink")}
 * cost 8.7 µs hot and far more before it was compiled, against 3 µs this way. Not linked (no JNA,
 * a libc without {@code statx}), or refused with {@code ENOSYS} or {@code EPERM} (a seccomp
 * profile that blocks {@code statx} but not {@code stat}): {@link #identity} and
 * {@link #linkCount} return null and callers use the JDK.
 */
final class Statx {
    private static final int AT_FDCWD = -100;
    /** What {@code stat(2)} passes too: a path on an automount point is not mounted by looking at it. */
    private static final int AT_NO_AUTOMOUNT = 0x800;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    private static final int AT_EMPTY_PATH = 0x1000;
    private static final byte[] EMPTY = {0};
    private static final int STATX_NLINK = 0x4;
    private static final int STATX_INO = 0x100;
    private static final int STATX_SIZE = 256;
    private static final long OFFSET_NLINK = 16;
    private static final long OFFSET_INO = 32;
    private static final long OFFSET_DEV_MAJOR = 136;
    private static final long OFFSET_DEV_MINOR = 140;
    private static final int EPERM = 1;
    private static final int ENOENT = 2;
    private static final int ESRCH = 3;
    private static final int EINTR = 4;
    private static final int EACCES = 13;
    private static final int ENOSYS = 38;

    private static final class Libc {
        static native int statx(int dirfd, byte[] path, int flags, int mask, Pointer buffer) throws LastErrorException;
    }

    private static final ThreadLocal<Memory> BUFFER = ThreadLocal.withInitial(() -> new Memory(STATX_SIZE));
    /** Set by {@link #link} (after {@link #BUFFER}, which its probe uses); cleared on {@code ENOSYS}. */
    private static volatile boolean linked = link();

    private Statx() {}

    /**
     * The identity of what {@code path} leads to (links followed), or null when this way is not
     * available (then ask the JDK); {@link NoSuchFileException}, {@link AccessDeniedException} or
     * another {@link IOException} as {@code stat} would fail.
     */
    static NamespaceId identity(Path path) throws IOException {
        Memory buffer = call(path, AT_NO_AUTOMOUNT, STATX_INO);
        if (buffer == null) {
            return null;
        }
        long major = buffer.getInt(OFFSET_DEV_MAJOR) & 0xffffffffL;
        long minor = buffer.getInt(OFFSET_DEV_MINOR) & 0xffffffffL;
        return new NamespaceId(makedev(major, minor), buffer.getLong(OFFSET_INO));
    }

    /**
     * The identity of the open descriptor {@code fd} ({@code statx(fd, "", AT_EMPTY_PATH)}), or
     * null when this way is not available or the call fails.
     */
    static NamespaceId identity(int fd) {
        if (!linked) {
            return null;
        }
        Memory buffer = BUFFER.get();
        while (true) {
            try {
                Libc.statx(fd, EMPTY, AT_EMPTY_PATH, STATX_INO, buffer);
                return new NamespaceId(makedev(buffer.getInt(OFFSET_DEV_MAJOR) & 0xffffffffL,
                        buffer.getInt(OFFSET_DEV_MINOR) & 0xffffffffL), buffer.getLong(OFFSET_INO));
            } catch (LastErrorException e) {
                if (e.getErrorCode() != EINTR) {
                    return null;
                }
            }
        }
    }

    /**
     * The link count of {@code path} itself (a final symbolic link not followed), or null when this
     * way is not available (then ask the JDK); failures as {@link #identity}'s.
     */
    static Integer linkCount(Path path) throws IOException {
        Memory buffer = call(path, AT_NO_AUTOMOUNT | AT_SYMLINK_NOFOLLOW, STATX_NLINK);
        return buffer == null ? null : buffer.getInt(OFFSET_NLINK);
    }

    /** This thread's buffer filled by {@code statx(path, flags, mask)}, or null when this way is not available. */
    private static Memory call(Path path, int flags, int mask) throws IOException {
        byte[] name = linked ? ProcFile.asciiPath(path) : null;
        if (name == null) {
            return null;
        }
        Memory buffer = BUFFER.get();
        while (true) {
            try {
                Libc.statx(AT_FDCWD, name, flags, mask, buffer);
                return buffer;
            } catch (LastErrorException e) {
                switch (e.getErrorCode()) {
                    case EINTR -> {
                        continue;
                    }
                    case ENOENT, ESRCH -> throw new NoSuchFileException(path.toString());
                    case EACCES -> throw new AccessDeniedException(path.toString());
                    case ENOSYS -> {
                        linked = false; // a kernel older than 4.11 behind a newer glibc
                        return null;
                    }
                    case EPERM -> {
                        return null; // seccomp, or what stat also refuses: the JDK's answer and exception
                    }
                    default -> throw new IOException(path + ": " + e.getMessage());
                }
            }
        }
    }

    /** glibc's {@code makedev}: the {@code dev_t} that {@code stat} reports for this major and minor. */
    static long makedev(long major, long minor) {
        return ((major & 0x00000fffL) << 8) | ((major & 0xfffff000L) << 32)
                | (minor & 0x000000ffL) | ((minor & 0xffffff00L) << 12);
    }

    /** Linked, and its answer for this thread's network namespace equals the JDK's. */
    private static boolean link() {
        try {
            Native.register(Libc.class, NativeLibrary.getInstance("c"));
            linked = true;
            Path probe = Path.of("/proc/thread-self/ns/net");
            NamespaceId answer = identity(probe);
            return answer != null && answer.equals(NamespaceId.viaJdk(probe));
        } catch (LinkageError | RuntimeException | IOException e) {
            return false;
        }
    }
}
