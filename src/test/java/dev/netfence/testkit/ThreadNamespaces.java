package dev.netfence.testkit;

import dev.netfence.netns.NamespaceId;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * The network namespaces the threads of this JVM are in, from {@code /proc/self/task/*}/ns/net:
 * after namespace trips, every thread should be in the JVM's own.
 */
public final class ThreadNamespaces {
    private ThreadNamespaces() {
    }

    /** The network namespace of every thread of this JVM now (a thread that ends meanwhile is left out). */
    public static Set<NamespaceId> now() throws IOException {
        Set<NamespaceId> seen = new HashSet<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    seen.add(NamespaceId.of(task.resolve("ns/net")));
                } catch (NoSuchFileException exited) {
                    // a thread that ended meanwhile
                }
            }
        }
        return seen;
    }
}
