package dev.netfence.netns;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import java.util.Optional;

/**
 * libc's {@code open(2)} and {@code close(2)} through JNA, so a namespace file can be held by a
 * descriptor whose number the kernel hands back directly: the JDK's channels hide it, and finding
 * it afterwards means reading every entry of {@code /proc/self/fd} (see {@link NamespaceHandle}).
 * {@link #libc()} is empty when JNA or libc cannot be loaded (e.g. no executable temporary
 * directory for JNA's native part); callers then fall back to that search.
 */
public final class NativeDescriptors {
    /** {@code O_RDONLY | O_CLOEXEC}: a read-only descriptor that no started process inherits. */
    public static final int O_RDONLY_CLOEXEC = 0x80000;

    /** The two calls; the nft backend's libc binding extends it. errno comes back as {@link LastErrorException}. */
    public interface Libc extends Library {
        int open(String path, int flags) throws LastErrorException;

        int close(int fd) throws LastErrorException;

        int fcntl(int fd, int cmd, int arg) throws LastErrorException;

        /** {@code ioctl(2)} with no argument: returns what the request returns (a new descriptor for the {@code NS_GET_*} ones). */
        int ioctl(int fd, long request) throws LastErrorException;
    }

    /** {@code FD_SETSIZE}: descriptors below it are the only ones {@code select(2)} can wait on. */
    public static final int SELECT_LIMIT = 1024;
    private static final int F_DUPFD_CLOEXEC = 1030;

    private static final Optional<Libc> LIBC = load();

    private NativeDescriptors() {}

    /**
     * Moves a descriptor netfence keeps for long (a kept socket, a pidfd) to a number at or above
     * {@link #SELECT_LIMIT}: the kernel hands out the lowest free number, so kept descriptors
     * below it would push the short-lived ones of libraries that wait with {@code select(2)}
     * (libnftables' netlink socket) past 1023, where glibc aborts the process. Returns the new
     * number, the old one closed; -1 when it cannot be moved (no JNA, or the open-files limit is
     * too low), the old one left open for the caller to close.
     */
    public static int keptHigh(int fd) {
        if (LIBC.isEmpty()) {
            return -1;
        }
        int moved;
        try {
            moved = LIBC.get().fcntl(fd, F_DUPFD_CLOEXEC, SELECT_LIMIT);
        } catch (LastErrorException e) {
            return -1;
        }
        try {
            LIBC.get().close(fd);
        } catch (LastErrorException ignored) {
            // the copy is what is kept; a failed close of the original leaks one low number at worst
        }
        return moved;
    }

    /**
     * A second descriptor of what {@code fd} refers to, at a number of {@link #SELECT_LIMIT} or
     * more (see {@link #keptHigh}); {@code fd} stays open. -1 when it cannot be made.
     */
    public static int copyHigh(int fd) {
        if (LIBC.isEmpty() || fd < 0) {
            return -1;
        }
        try {
            return LIBC.get().fcntl(fd, F_DUPFD_CLOEXEC, SELECT_LIMIT);
        } catch (LastErrorException e) {
            return -1;
        }
    }

    /** Closes a descriptor this process opened; a failure is ignored (nothing relies on it). */
    public static void closeQuietly(int fd) {
        if (LIBC.isPresent() && fd >= 0) {
            try {
                LIBC.get().close(fd);
            } catch (LastErrorException ignored) {
                // nothing to do
            }
        }
    }

    /** libc, or empty when it cannot be loaded through JNA. */
    public static Optional<Libc> libc() {
        return LIBC;
    }

    private static Optional<Libc> load() {
        try {
            Native.register(Calls.class, NativeLibrary.getInstance("c"));
            return Optional.of(new Direct());
        } catch (LinkageError | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * The calls direct-mapped ({@code Native.register}): every pin opens and closes a
     * descriptor, and JNA's interface mapping (a {@link java.lang.reflect.Proxy} that looks the
     * call up by reflection and converts each argument) cost several times the system call.
     */
    private static final class Calls {
        static native int open(String path, int flags) throws LastErrorException;

        static native int close(int fd) throws LastErrorException;

        static native int fcntl(int fd, int cmd, int arg) throws LastErrorException;

        static native int ioctl(int fd, long request) throws LastErrorException;
    }

    /** {@link Libc} over {@link Calls}. */
    private static final class Direct implements Libc {
        @Override
        public int open(String path, int flags) {
            return Calls.open(path, flags);
        }

        @Override
        public int close(int fd) {
            return Calls.close(fd);
        }

        @Override
        public int fcntl(int fd, int cmd, int arg) {
            return Calls.fcntl(fd, cmd, arg);
        }

        @Override
        public int ioctl(int fd, long request) {
            return Calls.ioctl(fd, request);
        }
    }
}
