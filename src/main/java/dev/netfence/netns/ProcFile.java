package dev.netfence.netns;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads a small {@code /proc} file (a process's {@code status}, {@code stat}, {@code net/dev})
 * the cheap way for the checks every apply runs: one {@link RandomAccessFile} (no NIO channel,
 * no native bounce buffer), read into this thread's reusable byte array until the end or
 * {@code limit} bytes, decoded as ISO-8859-1 (one char per byte, never a decoding error).
 * {@code Files.readString} cost 3-4 times as much CPU per file here (≈ 65-155 µs against
 * ≈ 18-25 µs, measured between applies in the enforcement benchmark's JVM), most of it Java-side
 * (a profile also showed the page faults of fresh buffers), and it fails on bytes that are not
 * UTF-8, which a process's own name ({@code comm}, inside {@code status} and {@code stat}) may
 * hold: the workload chooses it. Callers parse only the ASCII fields the kernel writes. A file
 * that cannot be opened is opened again through {@link Files}, so a missing one throws
 * {@link java.nio.file.NoSuchFileException} and a refused one {@link java.nio.file.AccessDeniedException}
 * ({@code RandomAccessFile} reports both as {@link FileNotFoundException}).
 */
public final class ProcFile {
    /** Enough for any {@code status}, {@code stat} or {@code cgroup} file; a longer one is cut here. */
    public static final int LIMIT = 64 * 1024;
    /** Buffers up to this size are kept for the thread's next read. */
    private static final int KEPT = 16 * 1024;
    private static final ThreadLocal<byte[]> BUFFER = ThreadLocal.withInitial(() -> new byte[4096]);

    private ProcFile() {}

    /** The first {@code limit} bytes of {@code path} (all of it when shorter), one char per byte. */
    public static String read(Path path, int limit) throws IOException {
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
                    buffer = Arrays.copyOf(buffer, Math.min(limit, buffer.length * 2));
                    if (buffer.length <= KEPT) {
                        BUFFER.set(buffer);
                    }
                }
                int n = file.read(buffer, length, Math.min(buffer.length, limit) - length);
                if (n < 0) {
                    break;
                }
                length += n;
            }
            return new String(buffer, 0, length, StandardCharsets.ISO_8859_1);
        }
    }

    /** {@code path} up to {@link #LIMIT} bytes. */
    public static String read(Path path) throws IOException {
        return read(path, LIMIT);
    }

    /** The same read through {@link Files}, whose exceptions say why a file cannot be opened. */
    private static String readThroughFiles(Path path, int limit) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            byte[] bytes = in.readNBytes(limit);
            return new String(bytes, StandardCharsets.ISO_8859_1);
        }
    }
}
