package dev.netfence.netns;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * A file's link count, for the container capability walk's "has this cgroup sub-cgroups?" (a
 * directory's count is 2 plus its sub-directories on kernfs): libc's {@code statx} with only
 * {@code STATX_NLINK} asked, direct-mapped through JNA, where {@code Files.getAttribute(path,
 * "unix:nlink")} builds an attribute map per call (measured 8.7 µs in a warm C1 JVM, and far more
 * before it is compiled, on every apply). Its own class, so a libc without {@code statx} (glibc
 * before 2.28) only loses this call, not {@link ProcFile}'s reads: there, and for a path that is
 * not ASCII, the same count comes from {@link Files}. {@code NoSuchFileException} when the path
 * is gone.
 */
final class LinkCount {
    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    private static final int STATX_NLINK = 0x4;
    private static final int ENOENT = 2;
    /** {@code struct statx} is 256 bytes; {@code stx_nlink} is the u32 at offset 16. */
    private static final int STATX_SIZE = 256;
    private static final int NLINK_OFFSET = 16;
    private static final ThreadLocal<Memory> BUFFER = ThreadLocal.withInitial(() -> new Memory(STATX_SIZE));

    private static final class Libc {
        static native int statx(int dirfd, byte[] path, int flags, int mask, Pointer buffer) throws LastErrorException;
    }

    private static final boolean LINKED = link();

    private LinkCount() {}

    /** The link count of {@code path}, not following a final symbolic link. */
    static int of(Path path) throws IOException {
        byte[] name = LINKED ? ProcFile.asciiPath(path) : null;
        if (name != null) {
            Memory buffer = BUFFER.get();
            try {
                Libc.statx(AT_FDCWD, name, AT_SYMLINK_NOFOLLOW, STATX_NLINK, buffer);
                return buffer.getInt(NLINK_OFFSET);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == ENOENT) {
                    throw new java.nio.file.NoSuchFileException(path.toString());
                }
                // anything else: let the JDK say what it is
            }
        }
        return ((Number) Files.getAttribute(path, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue();
    }

    private static boolean link() {
        try {
            Native.register(Libc.class, NativeLibrary.getInstance("c"));
            return true;
        } catch (LinkageError | RuntimeException e) {
            return false;
        }
    }
}
