package dev.netfence.netns;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

/**
 * A container network namespace held in place for the length of one apply. {@link #path()} is
 * a file that refers to the namespace itself (not to a pid), so {@code nsenter --net=PATH}
 * enters the namespace that was checked even if the container exits and its pid is reused
 * meanwhile; {@link #id()} is that namespace's identity, valid as long as the pin is held.
 * Closing releases the hold.
 */
public final class PinnedNamespace implements AutoCloseable {
    /** A descriptor number as {@code /proc/self/fd} names it; compiled once (this runs several times per apply). */
    private static final Pattern FD_NUMBER = Pattern.compile("[0-9]{1,9}");

    /** Releases whatever keeps the namespace pinned; runs at most once. */
    @FunctionalInterface
    public interface Release {
        void release();
    }

    private final int pid;
    private final Path path;
    private final NamespaceId id;
    private final Release release;
    private final BooleanSupplier occupied;
    private final java.util.List<CgroupMembership.Match> containerCgroups;
    private final Boolean onlyLoopback;
    private boolean closed;

    /** A pin whose process is assumed to stay (fakes, tests). */
    public PinnedNamespace(int pid, Path path, NamespaceId id, Release release) {
        this(pid, path, id, release, () -> true);
    }

    /**
     * @param occupied answers whether {@code pid} is still a process inside this namespace; asked
     *     after the rules are written, so an exit during the apply is not reported as applied
     */
    public PinnedNamespace(int pid, Path path, NamespaceId id, Release release, BooleanSupplier occupied) {
        this(pid, path, id, release, occupied, null);
    }

    /**
     * @param containerCgroups the container's cgroups as the cgroup check found them in
     *     {@code /proc/PID/cgroup} ({@link CgroupMembership#containersIn}, not empty), or null when
     *     no check read it
     */
    public PinnedNamespace(int pid, Path path, NamespaceId id, Release release, BooleanSupplier occupied,
            java.util.List<CgroupMembership.Match> containerCgroups) {
        this(pid, path, id, release, occupied, containerCgroups, null);
    }

    /**
     * @param onlyLoopback whether the namespace had no interface but {@code lo} when the pin read
     *     its pid's {@code net/dev} before confirming the pid in it ({@link Interfaces}), or null
     *     when the pin did not read it
     */
    public PinnedNamespace(int pid, Path path, NamespaceId id, Release release, BooleanSupplier occupied,
            java.util.List<CgroupMembership.Match> containerCgroups, Boolean onlyLoopback) {
        this.onlyLoopback = onlyLoopback;
        this.pid = pid;
        this.path = Objects.requireNonNull(path, "path");
        this.id = Objects.requireNonNull(id, "id");
        this.release = Objects.requireNonNull(release, "release");
        this.occupied = Objects.requireNonNull(occupied, "occupied");
        this.containerCgroups = containerCgroups == null ? null : java.util.List.copyOf(containerCgroups);
    }

    /** The container's cgroups as the cgroup check found them in the pid's {@code /proc/PID/cgroup}; null when not checked. */
    public java.util.List<CgroupMembership.Match> containerCgroups() {
        return containerCgroups;
    }

    /**
     * Whether the namespace had no interface but {@code lo}, as the pin read it while the pid was
     * confirmed in it; null when the pin did not read it (then read it and confirm the pid).
     */
    public Boolean onlyLoopback() {
        return onlyLoopback;
    }

    /**
     * Whether the process the namespace was found through still lives in it. The pin keeps a
     * namespace alive after its last process exits, so writing into it succeeds either way; this
     * is how the enforcer tells a container that exited mid-apply from one that got its rules.
     */
    public boolean occupied() {
        return occupied.getAsBoolean();
    }

    /** The pid the namespace was found through; use it only for /proc reads, never to enter. */
    public int pid() {
        return pid;
    }

    /** The file to pass as {@code nsenter --net=}. */
    public Path path() {
        return path;
    }

    /**
     * The descriptor number by which this process holds the namespace, when {@link #path()} is
     * {@code /proc/<this process>/fd/<N>} (the real pinner's pins); -1 otherwise (a bind mount,
     * a fake), in which case a caller that needs a descriptor opens the path itself.
     */
    public int descriptor() {
        return descriptorOf(path);
    }

    /**
     * The descriptor number {@code path} names when it is {@code /proc/<this process>/fd/<N>};
     * -1 otherwise. Code that needs a descriptor of a pinned namespace uses this one rather than
     * opening the path again: a second descriptor of the namespace, even briefly, makes a
     * concurrent pin of it refuse (the pinner cannot tell its own from the other).
     */
    public static int descriptorOf(Path path) {
        Path fd = path.getParent();
        Path pidDir = fd == null ? null : fd.getParent();
        if (pidDir == null || pidDir.getFileName() == null || !"fd".equals(String.valueOf(fd.getFileName()))
                || !Long.toString(ProcessHandle.current().pid()).equals(pidDir.getFileName().toString())) {
            return -1;
        }
        String name = String.valueOf(path.getFileName());
        return FD_NUMBER.matcher(name).matches() ? Integer.parseInt(name) : -1;
    }

    /** The namespace's identity (device and inode), as checked by the guards. */
    public NamespaceId id() {
        return id;
    }

    /** The namespace's inode number, as checked by the guards. */
    public long inode() {
        return id.inode();
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            release.release();
        }
    }

    @Override
    public String toString() {
        return "netns[pid=" + pid + ", inode=" + id.inode() + ", path=" + path + "]";
    }
}
