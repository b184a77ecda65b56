package dev.netfence.netns;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * A namespace file held open by this process, and the path through which other programs reach
 * that very descriptor: {@code /proc/<netfence's pid>/fd/<N>}. An open descriptor keeps its
 * namespace alive (as a bind mount does), and the kernel resolves that path to the held
 * namespace whatever happens to the process it was found through, so {@code nsenter --net=PATH}
 * cannot be redirected by a pid that exits and is reused. The JDK does not expose descriptor
 * numbers, so {@link #open} finds it in {@code /proc/self/fd}: the one entry that leads to the
 * expected namespace (device and inode, by {@code stat} through the link) and did not exist
 * before the open. The descriptor table belongs to the whole process, so every open and every
 * close of a namespace handle happens under one process-wide lock: while we look, no other
 * handle can appear or go away, and a number freed by a close cannot be reused for a handle that
 * is being looked for. Nothing else in netfence opens namespace files. If the search does not
 * yield exactly one descriptor, the handle is not used.
 */
final class NamespaceHandle implements AutoCloseable {
    /** The process's descriptor table is one, whatever the number of pinners: so is this lock. */
    private static final Object FD_TABLE = new Object();

    private final FileChannel channel;
    private final Path path;
    private boolean closed;

    private NamespaceHandle(FileChannel channel, Path path) {
        this.channel = channel;
        this.path = path;
    }

    /**
     * Opens {@code nsFile} and returns the handle if it leads to {@code expected}; empty when it
     * leads to another namespace (the process was replaced between the caller's {@code stat} and
     * the open). {@code NoSuchFileException} when the file is gone; {@link IllegalStateException}
     * when the descriptor cannot be told apart from another one (which would mean something else
     * in this process opens namespace files).
     *
     * @param procRoot normally {@code /proc}
     */
    static Optional<NamespaceHandle> open(Path procRoot, Path nsFile, NamespaceId expected) throws IOException {
        synchronized (FD_TABLE) {
            Path fdDirectory = procRoot.resolve("self/fd");
            // our pid as this /proc numbers it, which is the pid namespace nsenter resolves the path in
            String self = Files.readSymbolicLink(procRoot.resolve("self")).toString();
            Set<String> before = descriptorsOf(fdDirectory, expected);
            FileChannel channel = FileChannel.open(nsFile, StandardOpenOption.READ);
            try {
                Set<String> fresh = descriptorsOf(fdDirectory, expected);
                fresh.removeAll(before);
                if (fresh.isEmpty()) {
                    channel.close();
                    return Optional.empty();
                }
                if (fresh.size() > 1) {
                    throw new IllegalStateException("descriptors " + fresh + " all appeared for " + expected
                            + " while opening " + nsFile + "; cannot tell which one is ours");
                }
                Path path = procRoot.resolve(self).resolve("fd").resolve(fresh.iterator().next());
                return Optional.of(new NamespaceHandle(channel, path));
            } catch (IOException | RuntimeException e) {
                closeQuietly(channel, e);
                throw e;
            }
        }
    }

    /** The path that leads to the held namespace, for {@code nsenter --net=}; valid until closed. */
    Path path() {
        return path;
    }

    /** Releases the descriptor (and with it, possibly, the namespace); idempotent. */
    @Override
    public void close() throws IOException {
        synchronized (FD_TABLE) {
            if (!closed) {
                closed = true;
                channel.close();
            }
        }
    }

    /** The names (numbers) of the entries of {@code fdDirectory} that lead to {@code namespace}. */
    private static Set<String> descriptorsOf(Path fdDirectory, NamespaceId namespace) throws IOException {
        Set<String> found = new HashSet<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(fdDirectory)) {
            for (Path entry : entries) {
                try {
                    if (NamespaceId.of(entry).equals(namespace)) {
                        found.add(entry.getFileName().toString());
                    }
                } catch (NoSuchFileException closedMeanwhile) {
                    // not a namespace handle (those are only closed under the lock), e.g. the stream's own descriptor
                }
            }
        }
        return found;
    }

    private static void closeQuietly(FileChannel channel, Exception cause) {
        try {
            channel.close();
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }
}
