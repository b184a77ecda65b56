package dev.netfence.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Counts this JVM's open descriptors that lead to a network namespace ({@code /proc/self/fd}
 * entries whose link reads {@code net:[inode]}), so a test can show that pinning gives back
 * every descriptor it took.
 */
public final class NetnsDescriptors {
    private NetnsDescriptors() {}

    public static int open() {
        int count = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path entry : entries) {
                try {
                    if (Files.readSymbolicLink(entry).toString().startsWith("net:[")) {
                        count++;
                    }
                } catch (NoSuchFileException closedMeanwhile) {
                    // e.g. the directory stream's own descriptor
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return count;
    }
}
