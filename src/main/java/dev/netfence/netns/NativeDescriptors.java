package dev.netfence.netns;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
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
    }

    private static final Optional<Libc> LIBC = load();

    private NativeDescriptors() {}

    /** libc, or empty when it cannot be loaded through JNA. */
    public static Optional<Libc> libc() {
        return LIBC;
    }

    private static Optional<Libc> load() {
        try {
            return Optional.of(Native.load("c", Libc.class));
        } catch (LinkageError | RuntimeException e) {
            return Optional.empty();
        }
    }
}
