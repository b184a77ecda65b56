package dev.netfence.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A cgroup a kernel test creates to place a process the way a container runtime would (e.g.
 * {@code libpod-<id>}), in the unified hierarchy on cgroup v2 or the {@code pids} hierarchy on
 * v1. {@link #close()} moves whatever is still inside back to the root and removes the directory.
 */
public final class TestCgroup implements AutoCloseable {
    private final Path root;
    private final Path dir;

    private TestCgroup(Path root, Path dir) {
        this.root = root;
        this.dir = dir;
    }

    /** Creates the cgroup {@code name} (one path component) directly under the hierarchy's root. */
    public static TestCgroup create(String name) throws IOException {
        Path v2 = Path.of("/sys/fs/cgroup");
        Path root = Files.exists(v2.resolve("cgroup.controllers")) ? v2 : v2.resolve("pids");
        Path dir = root.resolve(name);
        Files.createDirectory(dir);
        return new TestCgroup(root, dir);
    }

    /** Moves {@code pid} into this cgroup. */
    public void add(long pid) throws IOException {
        Files.writeString(dir.resolve("cgroup.procs"), Long.toString(pid));
    }

    /**
     * Moves what is still inside back to the root and removes the directory, retrying for up to
     * 2 s while the kernel still counts a process that is exiting (rmdir's EBUSY).
     */
    @Override
    public void close() throws IOException {
        for (int attempt = 0; ; attempt++) {
            for (String pid : Files.readAllLines(dir.resolve("cgroup.procs"))) {
                if (!pid.isBlank()) {
                    try {
                        Files.writeString(root.resolve("cgroup.procs"), pid.strip());
                    } catch (IOException exitedMeanwhile) {
                        // gone already
                    }
                }
            }
            try {
                Files.delete(dir);
                return;
            } catch (java.nio.file.FileSystemException busy) {
                if (attempt >= 40) {
                    throw busy;
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw busy;
                }
            }
        }
    }
}
