package dev.netfence.netns;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A network namespace file held open by this process, and the path through which other programs
 * reach that very descriptor: {@code /proc/<netfence's pid>/fd/<N>}. An open descriptor keeps
 * its namespace alive (as a bind mount does), and the kernel resolves that path to the held
 * namespace whatever happens to the process it was found through, so {@code nsenter --net=PATH}
 * cannot be redirected by a pid that exits and is reused. The JDK does not expose descriptor
 * numbers, so {@link #open} finds it in {@code /proc/self/fd}: among the entries that are not
 * already held handles, the one whose link names the expected namespace ({@code net:[inode]},
 * then device and inode by {@code stat} through the link). The descriptor table belongs to the
 * whole process, so every open and every close of a handle, and the record of the numbers held,
 * change together under one process-wide lock: while we look, no handle can appear or go away,
 * and a number freed by a close is never mistaken for the new one. Nothing else in netfence opens
 * namespace files; if something did, the search could find two candidates, and then no handle is
 * made rather than a guess. One pass over the table costs a few microseconds per open file of
 * the JVM (a {@code readlink} each), far less than the {@code mount} and {@code umount} processes
 * a bind mount needs.
 */
final class NamespaceHandle implements AutoCloseable {
    /** The process's descriptor table is one, whatever the number of pinners: so is this lock. */
    private static final Object FD_TABLE = new Object();
    /** Descriptor numbers of the open handles; guarded by {@link #FD_TABLE}. */
    private static final Set<String> HELD = new HashSet<>();

    private final FileChannel channel;
    private final String number;
    private final Path path;
    private boolean closed;

    private NamespaceHandle(FileChannel channel, String number, Path path) {
        this.channel = channel;
        this.number = number;
        this.path = path;
    }

    /**
     * Opens {@code nsFile} and returns the handle if it leads to {@code expected}; empty when it
     * leads to another namespace (the process was replaced between the caller's {@code stat} and
     * the open). {@code NoSuchFileException} when the file is gone; {@link IllegalStateException}
     * when the descriptor cannot be told apart from another one.
     *
     * @param procRoot normally {@code /proc}
     */
    static Optional<NamespaceHandle> open(Path procRoot, Path nsFile, NamespaceId expected) throws IOException {
        synchronized (FD_TABLE) {
            Path fdDirectory = procRoot.resolve("self/fd");
            // our pid as this /proc numbers it, which is the pid namespace nsenter resolves the path in
            String self = Files.readSymbolicLink(procRoot.resolve("self")).toString();
            FileChannel channel = FileChannel.open(nsFile, StandardOpenOption.READ);
            try {
                List<String> fresh = unheldLinksTo(fdDirectory, "net:[" + expected.inode() + "]");
                if (fresh.size() > 1) {
                    throw new IllegalStateException("descriptors " + fresh + " all lead to " + expected
                            + " after opening " + nsFile + "; cannot tell which one is ours");
                }
                if (fresh.isEmpty() || !NamespaceId.of(fdDirectory.resolve(fresh.get(0))).equals(expected)) {
                    channel.close();
                    return Optional.empty();
                }
                String number = fresh.get(0);
                HELD.add(number);
                return Optional.of(new NamespaceHandle(channel, number, procRoot.resolve(self).resolve("fd").resolve(number)));
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

    /** The descriptor number this process holds the namespace by. */
    int descriptor() {
        return Integer.parseInt(number);
    }

    /** Releases the descriptor (and with it, possibly, the namespace); idempotent. */
    @Override
    public void close() throws IOException {
        synchronized (FD_TABLE) {
            if (!closed) {
                closed = true;
                HELD.remove(number);
                channel.close();
            }
        }
    }

    /** The names (numbers) of the entries of {@code fdDirectory} whose link reads {@code link}, held handles left out. */
    private static List<String> unheldLinksTo(Path fdDirectory, String link) throws IOException {
        List<String> found = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(fdDirectory)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                try {
                    if (!HELD.contains(name) && Files.readSymbolicLink(entry).toString().equals(link)) {
                        found.add(name);
                    }
                } catch (NoSuchFileException closedMeanwhile) {
                    // not a handle (those are only closed under the lock), e.g. the stream's own descriptor
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
