package dev.netfence.netns;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
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
 * cannot be redirected by a pid that exits and is reused. The descriptor is opened with libc's
 * {@code open(2)} ({@link NativeDescriptors}), which returns its number; the handle then checks,
 * through {@code /proc/self/fd/N}, that it leads to the expected namespace. Opening and closing
 * need no lock: the kernel never hands out a number that is in use, and a handle closes its number
 * exactly once.
 *
 * <p>Where JNA cannot load libc, the descriptor is opened by the JDK, which does not expose its
 * number, and found in {@code /proc/self/fd}: among the entries that are not already held handles,
 * the one whose link names the expected namespace ({@code net:[inode]}, then device and inode by
 * {@code stat} through the link). That search reads every entry of the descriptor table (a
 * {@code readlink} each, about 10 µs per open file of the JVM, under a process-wide lock so that
 * no handle appears or goes away while it looks: the lock that capped pinning, and with it the
 * whole apply path, near 200 pins per second with netfence's ~150 descriptors). If something
 * else opened the same namespace meanwhile, the search finds two candidates, and then no handle
 * is made rather than a guess.
 */
final class NamespaceHandle implements AutoCloseable {
    /** The process's descriptor table is one, whatever the number of pinners: so is this lock (search only). */
    private static final Object FD_TABLE = new Object();
    /** Descriptor numbers of the open handles found by search; guarded by {@link #FD_TABLE}. */
    private static final Set<String> HELD = new HashSet<>();

    private final NativeDescriptors.Libc libc;
    private final FileChannel channel;
    private final String number;
    private final Path path;
    private boolean closed;

    private NamespaceHandle(NativeDescriptors.Libc libc, FileChannel channel, String number, Path path) {
        this.libc = libc;
        this.channel = channel;
        this.number = number;
        this.path = path;
    }

    /**
     * Opens {@code nsFile} and returns the handle if it leads to {@code expected}; empty when it
     * leads to another namespace (the process was replaced between the caller's {@code stat} and
     * the open). {@code NoSuchFileException} when the file is gone, {@code AccessDeniedException}
     * when opening it is not permitted; {@link IllegalStateException} when a searched-for
     * descriptor cannot be told apart from another one.
     *
     * @param procRoot normally {@code /proc}
     * @param self this process's pid as {@code procRoot} numbers it (the pid namespace nsenter resolves the path in)
     */
    static Optional<NamespaceHandle> open(Path procRoot, String self, Path nsFile, NamespaceId expected)
            throws IOException {
        Optional<NativeDescriptors.Libc> libc = NativeDescriptors.libc();
        return libc.isPresent() ? openNative(libc.get(), procRoot, self, nsFile, expected)
                : openBySearch(procRoot, self, nsFile, expected);
    }

    /** {@link #open} with this process's pid read from {@code procRoot/self}. */
    static Optional<NamespaceHandle> open(Path procRoot, Path nsFile, NamespaceId expected) throws IOException {
        return open(procRoot, self(procRoot), nsFile, expected);
    }

    /** This process's pid as {@code procRoot} numbers it. */
    static String self(Path procRoot) throws IOException {
        return Files.readSymbolicLink(procRoot.resolve("self")).toString();
    }

    static Optional<NamespaceHandle> openNative(NativeDescriptors.Libc libc, Path procRoot, String self, Path nsFile,
            NamespaceId expected) throws IOException {
        int fd;
        try {
            fd = libc.open(nsFile.toString(), NativeDescriptors.O_RDONLY_CLOEXEC);
        } catch (LastErrorException e) {
            throw switch (e.getErrorCode()) {
                case 2, 3 -> new NoSuchFileException(nsFile.toString()); // ENOENT, ESRCH
                case 1, 13 -> new AccessDeniedException(nsFile.toString()); // EPERM, EACCES
                default -> new IOException("open " + nsFile + ": errno " + e.getErrorCode());
            };
        }
        String number = Integer.toString(fd);
        NamespaceHandle handle = new NamespaceHandle(libc, null, number,
                procRoot.resolve(self).resolve("fd").resolve(number));
        try {
            if (!NamespaceId.of(procRoot.resolve("self/fd").resolve(number)).equals(expected)) {
                handle.close();
                return Optional.empty();
            }
            return Optional.of(handle);
        } catch (IOException | RuntimeException e) {
            try {
                handle.close();
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
    }

    static Optional<NamespaceHandle> openBySearch(Path procRoot, String self, Path nsFile, NamespaceId expected)
            throws IOException {
        synchronized (FD_TABLE) {
            Path fdDirectory = procRoot.resolve("self/fd");
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
                return Optional.of(new NamespaceHandle(null, channel, number,
                        procRoot.resolve(self).resolve("fd").resolve(number)));
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
        if (libc != null) {
            synchronized (this) {
                if (!closed) {
                    closed = true;
                    try {
                        libc.close(Integer.parseInt(number));
                    } catch (LastErrorException e) {
                        throw new IOException("close " + path + ": errno " + e.getErrorCode(), e);
                    }
                }
            }
            return;
        }
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
