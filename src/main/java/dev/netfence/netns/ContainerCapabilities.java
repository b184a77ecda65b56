package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The risky capabilities ({@link Capabilities}) held by any thread of a container, not only by the
 * process an event names. Capabilities belong to threads: a container's init that drops
 * CAP_NET_ADMIN from every set after starting a child, or on its main thread only, still has a
 * process or a thread that can flush its rules, and {@code /proc/PID/status} shows only the main
 * thread of one process. So the threads read are every thread of the container's cgroup and its
 * sub-cgroups ({@code cgroup.threads} on v2, {@code tasks} on v1), the cgroup being the directory
 * of the path component that names the container id in the pid's {@code /proc/PID/cgroup}
 * ({@link CgroupMembership#containersIn}), which also holds processes the runtime started into the
 * container later ({@code podman exec}). Without a container id, or where the pid's cgroup does
 * not name it or its directory is not mounted here, the threads of the pid itself
 * ({@code /proc/PID/task}) are read instead. The pid's status is read first, then the threads
 * are listed, and the listing is repeated until one adds no thread not already read (at most
 * {@link #ROUNDS} listings): a thread that forked a child and then dropped the capability before
 * its own status was read had that child in the cgroup already, so the next listing names it,
 * and a child forked after a thread's status was read holds no capability the read did not see
 * (a fork copies the capability sets, and a set can only shrink outside a new user namespace,
 * whose capabilities do not reach the container's namespace). So a container of one
 * single-threaded process costs one listing. A sub-tree walk is needed only where the cgroup
 * directory has sub-directories (its link count, one stat). Reads only {@code /proc} and the
 * cgroup file system.
 */
public final class ContainerCapabilities {
    private static final Logger LOG = LoggerFactory.getLogger(ContainerCapabilities.class);
    /** Listings of the container's threads at most, see the class comment. */
    static final int ROUNDS = 8;
    /** Sub-cgroups of one container walked at most; more fails the read (the workload made them). */
    static final int MAX_CGROUPS = 1024;
    /** A thread list longer than this (≈ 500,000 threads) fails the read rather than be cut. */
    static final int MAX_LIST = 4 << 20;

    private final Path procRoot;
    private volatile CgroupMounts mounts;
    private volatile boolean warned;

    /** @param procRoot normally {@code /proc}; the cgroup mounts are read from its {@code self/mountinfo} once */
    public ContainerCapabilities(Path procRoot) {
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
    }

    /**
     * The risky capabilities any thread of the container holds, in report order. {@code pid}'s own
     * status is always read: {@link NoSuchFileException} when it is gone; other threads that exit
     * meanwhile are skipped. {@link IOException} when the container's threads cannot be listed.
     */
    public List<String> risksOf(int pid, String containerId) throws IOException {
        return risksOf(pid, containerId, null);
    }

    /**
     * As {@link #risksOf(int, String)}, with the pid's {@code /proc/PID/cgroup} text when the
     * caller has just read it ({@link PinnedNamespace#cgroup()}); null reads it.
     */
    public List<String> risksOf(int pid, String containerId, String cgroupFile) throws IOException {
        Path procPid = procRoot.resolve(Integer.toString(pid));
        long held = Capabilities.heldIn(ProcFile.read(procPid.resolve("status")));
        ContainerCgroup cgroup = containerId == null ? null
                : cgroupOf(cgroupFile != null ? cgroupFile : ProcFile.read(procPid.resolve("cgroup")), containerId);
        Set<String> read = new HashSet<>();
        read.add(Integer.toString(pid));
        for (int round = 0; round < ROUNDS; round++) {
            List<String> tids;
            if (cgroup == null) {
                tids = threadsOf(procPid);
            } else {
                try {
                    tids = cgroup.threads();
                } catch (NoSuchFileException e) {
                    if (round > 0) {
                        throw e; // the container's cgroup went away: so did the container
                    }
                    notMounted(containerId);
                    cgroup = null;
                    tids = threadsOf(procPid);
                }
            }
            boolean fresh = false;
            for (String tid : tids) {
                if (read.add(tid)) {
                    fresh = true;
                    held |= heldBy(tid);
                }
            }
            if (!fresh) {
                break;
            }
        }
        return Capabilities.risksInMask(held);
    }

    /** The capabilities thread {@code tid} holds; none when it exited meanwhile. */
    private long heldBy(String tid) throws IOException {
        try {
            return Capabilities.heldIn(ProcFile.read(procRoot.resolve(tid).resolve("status")));
        } catch (NoSuchFileException exited) {
            return 0;
        }
    }

    /** The container's cgroup (one hierarchy: v2 first, else the first v1 one found), or null. */
    private ContainerCgroup cgroupOf(String cgroupFile, String containerId) throws IOException {
        List<CgroupMembership.Match> matches = CgroupMembership.containersIn(cgroupFile, containerId);
        List<CgroupMembership.Match> ordered = new ArrayList<>(matches.size());
        matches.stream().filter(m -> m.controllers().isEmpty()).forEach(ordered::add);
        matches.stream().filter(m -> !m.controllers().isEmpty()).forEach(ordered::add);
        for (CgroupMembership.Match m : ordered) {
            List<Path> dirs = mounts().directories(m.controllers(), m.path());
            if (!dirs.isEmpty()) {
                return new ContainerCgroup(dirs.get(0), m.controllers().isEmpty() ? "cgroup.threads" : "tasks");
            }
        }
        if (!matches.isEmpty()) {
            notMounted(containerId);
        }
        return null;
    }

    private void notMounted(String containerId) {
        if (!warned) {
            warned = true;
            LOG.warn("the cgroup of container {} is not mounted where netfence can read it; its capabilities are read from"
                    + " the threads of the event's pid only (mount the host's cgroup file system to read every process's)",
                    containerId);
        }
    }

    private CgroupMounts mounts() throws IOException {
        CgroupMounts known = mounts;
        if (known == null) {
            known = CgroupMounts.parse(ProcFile.read(procRoot.resolve("self/mountinfo"), MAX_LIST));
            mounts = known;
        }
        return known;
    }

    /** The thread ids of {@code /proc/PID/task}. */
    private static List<String> threadsOf(Path procPid) throws IOException {
        List<String> tids = new ArrayList<>(4);
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(procPid.resolve("task"))) {
            tasks.forEach(t -> tids.add(t.getFileName().toString()));
        }
        return tids;
    }

    /** A container's cgroup directory and the name of the file that lists its threads there. */
    private record ContainerCgroup(Path dir, String list) {
        /** The thread ids in this cgroup and every cgroup below it. */
        List<String> threads() throws IOException {
            List<String> tids = new ArrayList<>(4);
            List<Path> pending = new ArrayList<>(List.of(dir));
            for (int walked = 0; !pending.isEmpty(); walked++) {
                if (walked >= MAX_CGROUPS) {
                    throw new IOException("more than " + MAX_CGROUPS + " cgroups under " + dir);
                }
                Path at = pending.remove(pending.size() - 1);
                String text;
                int links;
                try {
                    // a directory's link count is 2 plus its sub-directories (kernfs, like ext4 and tmpfs)
                    links = ((Number) Files.getAttribute(at, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue();
                    text = ProcFile.read(at.resolve(list), MAX_LIST);
                } catch (NoSuchFileException e) {
                    if (at.equals(dir)) {
                        throw e;
                    }
                    continue; // a sub-cgroup removed since it was listed: it was empty
                }
                if (text.length() >= MAX_LIST) {
                    throw new IOException("the thread list of " + at + " is longer than " + MAX_LIST + " bytes");
                }
                for (String tid : text.split("\n")) {
                    if (!tid.isEmpty() && tid.chars().allMatch(c -> c >= '0' && c <= '9')) {
                        tids.add(tid);
                    }
                }
                if (links > 2) {
                    try (DirectoryStream<Path> entries = Files.newDirectoryStream(at)) {
                        for (Path entry : entries) {
                            if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                                pending.add(entry);
                            }
                        }
                    }
                }
            }
            return tids;
        }
    }
}
