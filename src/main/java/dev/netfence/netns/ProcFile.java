package dev.netfence.netns;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Reads a small {@code /proc} file (a process's {@code status}, {@code stat}, {@code net/dev})
 * the cheap way for the checks every apply runs: libc's {@code open}, {@code read} and
 * {@code close} direct-mapped through JNA into this thread's native buffer, until the end or
 * {@code limit} bytes, decoded as ISO-8859-1 (one char per byte, never a decoding error). Each
 * read then costs about what the kernel spends rendering the file plus 1 µs: measured in a warm
 * C1 JVM against a real container pid, {@code status} 14 µs, {@code stat} 12, {@code net/dev} 15,
 * where one {@link RandomAccessFile} per read cost 30, 22 and 27 µs (its descriptor object,
 * cleaner registration and copies) and {@code Files.readString} 3-4 times that. It also never
 * fails on bytes that are not UTF-8, which a process's own name ({@code comm}, inside
 * {@code status} and {@code stat}) may hold: the workload chooses it. Callers parse only the
 * ASCII fields the kernel writes. A missing file throws {@link NoSuchFileException} (also for
 * {@code ESRCH}, a process that exited while its file was read), a refused one
 * {@link AccessDeniedException}. Where JNA's native part or libc cannot be loaded (JNA's jar
 * itself is a dependency netfence cannot run without), on a platform whose {@code size_t} is not
 * 64 bits, or for a path that is not ASCII, the same read goes through one {@link RandomAccessFile}.
 * {@link #write} is the same for a {@code /proc/sys} trigger the apply trip writes ({@code
 * route/flush}): one {@code open}, {@code write}, {@code close}, where a {@code FileOutputStream}
 * costs about three times the kernel's work in descriptor objects and cleaner registration.
 */
public final class ProcFile {
    /** Enough for any {@code status}, {@code stat} or {@code cgroup} file; a longer one is cut here. */
    public static final int LIMIT = 64 * 1024;
    /** Buffers up to this size are kept for the thread's next read. */
    private static final int KEPT = 16 * 1024;
    private static final int O_RDONLY_CLOEXEC = 0x80000;
    private static final int O_WRONLY_CLOEXEC = 0x80001;
    private static final int EPERM = 1;
    private static final int ENOENT = 2;
    private static final int ESRCH = 3;
    private static final int EINTR = 4;
    private static final int EACCES = 13;
    private static final ThreadLocal<byte[]> BUFFER = ThreadLocal.withInitial(() -> new byte[4096]);

    /** Direct-mapped ({@code Native.register}): JNA's interface mapping costs several times these calls. */
    private static final class Libc {
        static native int open(byte[] path, int flags) throws LastErrorException;

        static native long read(int fd, Pointer buffer, long count) throws LastErrorException;

        static native int close(int fd) throws LastErrorException;

        static native long write(int fd, byte[] buffer, long count) throws LastErrorException;
    }

    private static final boolean LINKED = link();
    private static final ThreadLocal<Memory> NATIVE = ThreadLocal.withInitial(() -> new Memory(4096));

    private ProcFile() {}

    /** The first {@code limit} bytes of {@code path} (all of it when shorter), one char per byte. */
    public static String read(Path path, int limit) throws IOException {
        byte[] name = LINKED ? asciiPath(path) : null;
        return name != null ? readNative(path, name, limit, false) : readJava(path, limit, false);
    }

    /**
     * What one {@code read(2)} of {@code path} returns, up to {@code limit} bytes: all of a
     * {@code /proc} file the kernel renders in one go and that fits (a process's {@code status}),
     * else a prefix. For callers whose answer a prefix can decide (saving the second {@code read}
     * that finds the end); they read the whole file when it cannot.
     */
    public static String readFirst(Path path, int limit) throws IOException {
        byte[] name = LINKED ? asciiPath(path) : null;
        return name != null ? readNative(path, name, limit, true) : readJava(path, limit, true);
    }

    /** {@code path} up to {@link #LIMIT} bytes. */
    public static String read(Path path) throws IOException {
        return read(path, LIMIT);
    }

    private static String readNative(Path path, byte[] name, int limit, boolean once) throws IOException {
        int fd = -1;
        while (fd < 0) {
            try {
                fd = Libc.open(name, O_RDONLY_CLOEXEC);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != EINTR) {
                    throw failure(path, e);
                }
            }
        }
        try {
            Memory chunk = NATIVE.get();
            byte[] buffer = BUFFER.get();
            int length = 0;
            while (length < limit) {
                if (length == buffer.length) {
                    buffer = grown(buffer, limit);
                }
                long n;
                try {
                    n = Libc.read(fd, chunk, Math.min(chunk.size(), Math.min(buffer.length, limit) - length));
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == EINTR) {
                        continue;
                    }
                    throw failure(path, e);
                }
                if (n <= 0) {
                    break;
                }
                chunk.read(0, buffer, length, (int) n);
                length += (int) n;
                if (once) {
                    break;
                }
            }
            return new String(buffer, 0, length, StandardCharsets.ISO_8859_1);
        } finally {
            try {
                Libc.close(fd);
            } catch (LastErrorException ignored) {
                // a read-only descriptor of a /proc file: nothing was written that a failed close could lose
            }
        }
    }

    /**
     * Writes {@code content} (ASCII, at most a few bytes: a {@code /proc/sys} value) to
     * {@code path} in one {@code write(2)} at its start (not truncating: a {@code /proc/sys} file
     * has no length to cut); the same errors
     * as {@link #read}, and an {@link IOException} when the kernel took fewer bytes than given.
     */
    public static void write(Path path, String content) throws IOException {
        byte[] bytes = content.getBytes(StandardCharsets.US_ASCII);
        byte[] name = LINKED ? asciiPath(path) : null;
        if (name == null) {
            try (OutputStream out = Files.newOutputStream(path, StandardOpenOption.WRITE)) {
                out.write(bytes);
            }
            return;
        }
        int fd = -1;
        while (fd < 0) {
            try {
                fd = Libc.open(name, O_WRONLY_CLOEXEC);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != EINTR) {
                    throw failure(path, e);
                }
            }
        }
        try {
            long n = -1;
            while (n < 0) {
                try {
                    n = Libc.write(fd, bytes, bytes.length);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != EINTR) {
                        throw failure(path, e);
                    }
                }
            }
            if (n != bytes.length) {
                throw new IOException(path + ": wrote " + n + " of " + bytes.length + " bytes");
            }
        } finally {
            try {
                Libc.close(fd);
            } catch (LastErrorException ignored) {
                // a /proc/sys trigger acts in write(2); its close has nothing left to report
            }
        }
    }

    private static String readJava(Path path, int limit, boolean once) throws IOException {
        RandomAccessFile file;
        try {
            file = new RandomAccessFile(path.toString(), "r");
        } catch (FileNotFoundException e) {
            return readThroughFiles(path, limit);
        }
        try (file) {
            byte[] buffer = BUFFER.get();
            int length = 0;
            while (length < limit) {
                if (length == buffer.length) {
                    buffer = grown(buffer, limit);
                }
                int n = file.read(buffer, length, Math.min(buffer.length, limit) - length);
                if (n < 0) {
                    break;
                }
                length += n;
                if (once) {
                    break;
                }
            }
            return new String(buffer, 0, length, StandardCharsets.ISO_8859_1);
        }
    }

    /** A copy twice as long (at most {@code limit}), kept for the thread's next read while small. */
    private static byte[] grown(byte[] buffer, int limit) {
        byte[] larger = Arrays.copyOf(buffer, Math.min(limit, buffer.length * 2));
        if (larger.length <= KEPT) {
            BUFFER.set(larger);
        }
        return larger;
    }

    /** The path as a NUL-terminated byte string when it is all ASCII (every /proc path is), else null. */
    static byte[] asciiPath(Path path) {
        String s = path.toString();
        byte[] name = new byte[s.length() + 1];
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0 || c > 0x7f) {
                return null;
            }
            name[i] = (byte) c;
        }
        return name;
    }

    private static IOException failure(Path path, LastErrorException e) {
        return switch (e.getErrorCode()) {
            case ENOENT, ESRCH -> new NoSuchFileException(path.toString());
            case EACCES, EPERM -> new AccessDeniedException(path.toString());
            default -> new IOException(path + ": " + e.getMessage());
        };
    }

    /** The same read through {@link Files}, whose exceptions say why a file cannot be opened. */
    private static String readThroughFiles(Path path, int limit) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            byte[] bytes = in.readNBytes(limit);
            return new String(bytes, StandardCharsets.ISO_8859_1);
        }
    }

    private static boolean link() {
        try {
            if (Native.SIZE_T_SIZE != 8) {
                return false; // read's count and result are mapped as 64-bit longs
            }
            Native.register(Libc.class, NativeLibrary.getInstance("c"));
            return true;
        } catch (LinkageError | RuntimeException e) {
            return false;
        }
    }
}
