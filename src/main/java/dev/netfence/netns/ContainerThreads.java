package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lists the threads of a container for {@link ContainerCapabilities}: every thread of the
 * container's cgroup and its sub-cgroups ({@code cgroup.threads} on v2, {@code tasks} on v1), the
 * cgroup being the directory of the path component that names the container id in the pid's
 * {@code /proc/PID/cgroup} ({@link CgroupMembership#containersIn}), which also holds processes the
 * runtime started into the container later ({@code podman exec}). Without a container id, or where
 * that cgroup is not visible to netfence (not mounted in its mount namespace, or outside its cgroup
 * namespace), the threads of the pid itself ({@code /proc/PID/task}) are listed instead, with one
 * warning. A sub-tree walk is needed only where a cgroup directory has sub-directories (its link
 * count, one stat); a thread that moves between the container's cgroups while they are walked can
 * be missed by one walk (moving needs a cgroup tree the workload can write, which runtimes mount
 * read-only unless asked otherwise). Where each cgroup hierarchy is mounted is read once from
 * {@code self/mountinfo}; each container cgroup's directories are remembered.
 */
final class ContainerThreads {
    private static final Logger LOG = LoggerFactory.getLogger(ContainerThreads.class);
    /** Sub-cgroups of one container walked at most; more fails the read (the workload made them). */
    static final int MAX_CGROUPS = 1024;
    /** A thread list longer than this (≈ 500,000 threads) fails the read rather than be cut. */
    static final int MAX_LIST = 4 << 20;
    /** Container cgroups whose directories are remembered at most (all forgotten past it). */
    static final int REMEMBERED = 4096;

    /** Lists a container's thread ids; a listing may name threads that exited since. */
    @FunctionalInterface
    interface Listing {
        List<String> threads() throws IOException;
    }

    private final Path procRoot;
    private final Map<CgroupMembership.Match, List<Path>> directories = new ConcurrentHashMap<>();
    private volatile CgroupMounts mounts;
    private volatile boolean warned;

    /** @param procRoot normally {@code /proc}; the cgroup mounts are read from its {@code self/mountinfo} once */
    ContainerThreads(Path procRoot) {
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
    }

    /**
     * The listing of container {@code containerId}'s threads ({@code pid}'s when null), its cgroups
     * being {@code known} when the caller has just found them in the pid's {@code /proc/PID/cgroup}
     * (null reads the file). Each listing after the first reads the cgroup directory's link count
     * again; a listing throws NoSuchFileException when the pid went, with its cgroup.
     */
    Listing listing(int pid, String containerId, List<CgroupMembership.Match> known) throws IOException {
        Path procPid = procRoot.resolve(Integer.toString(pid));
        ContainerCgroup cgroup = containerId == null ? null : cgroupOf(known != null ? known
                : CgroupMembership.containersIn(ProcFile.read(ProcTasks.view(procRoot, pid).resolve("cgroup")),
                        containerId), containerId);
        if (cgroup == null) {
            return () -> threadsOf(procPid);
        }
        return new Listing() {
            /** The link count {@link #cgroupOf} just read serves the first listing; later ones read it again. */
            private int links = cgroup.links();

            @Override
            public List<String> threads() throws IOException {
                int first = links;
                links = -1;
                return listed(cgroup, first, procPid, pid, containerId);
            }
        };
    }

    /** {@code cgroup}'s threads ({@code links}: its link count when just read, else -1); NoSuchFileException when the pid went with it. */
    private static List<String> listed(ContainerCgroup cgroup, int links, Path procPid, int pid, String containerId)
            throws IOException {
        try {
            return cgroup.threads(links);
        } catch (NoSuchFileException e) {
            if (!Files.exists(procPid)) {
                throw new NoSuchFileException(procPid.toString()); // the container went, and its cgroup with it
            }
            throw new IOException("the cgroup " + cgroup.dir() + " of container " + containerId
                    + " disappeared while pid " + pid + " lives", e);
        }
    }

    /** The container's cgroup (one hierarchy: v2 first, else the first v1 one found), or null. */
    private ContainerCgroup cgroupOf(List<CgroupMembership.Match> matches, String containerId) throws IOException {
        for (int pass = 0; pass < 2; pass++) { // the v2 line first, then v1 ones in file order
            for (CgroupMembership.Match m : matches) {
                if (m.controllers().isEmpty() == (pass == 0)) {
                    for (Path dir : directories(m)) {
                        int links = linksIfPresent(dir);
                        if (links >= 0) {
                            return new ContainerCgroup(dir, m.controllers().isEmpty() ? "cgroup.threads" : "tasks", links);
                        }
                    }
                }
            }
        }
        if (!matches.isEmpty() && !warned) {
            warned = true;
            LOG.warn("the cgroup of container {} is not visible to netfence (not mounted in its mount namespace, or"
                    + " outside its cgroup namespace: run it with the host's cgroup namespace and cgroup file system);"
                    + " capabilities are read from the threads of each event's pid only, this warning is not repeated",
                    containerId);
        }
        return null;
    }

    /** The link count of the cgroup directory {@code dir} (from the kernel's own cgroup file: a directory when present), -1 when absent. */
    private static int linksIfPresent(Path dir) throws IOException {
        try {
            return linkCount(dir);
        } catch (NoSuchFileException e) {
            return -1;
        }
    }

    /** Where {@code m} is in netfence's mounts; remembered (up to {@link #REMEMBERED} cgroups), as the mounts are. */
    private List<Path> directories(CgroupMembership.Match m) throws IOException {
        List<Path> known = directories.get(m);
        if (known == null) {
            if (directories.size() >= REMEMBERED) {
                directories.clear();
            }
            known = mounts().directories(m.controllers(), m.path());
            directories.put(m, known);
        }
        return known;
    }

    /** The link count of {@code path} (not following a final link): statx through JNA where linked, else the JDK's. */
    private static int linkCount(Path path) throws IOException {
        Integer links = Statx.linkCount(path);
        return links != null ? links : ((Number) Files.getAttribute(path, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue();
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
        } catch (DirectoryIteratorException e) {
            throw e.getCause();
        }
        return tids;
    }

    /**
     * A container's cgroup directory, the name of the file that lists its threads there, and the
     * directory's link count as found when it was looked for.
     */
    private record ContainerCgroup(Path dir, String list, int links) {
        /**
         * The thread ids in this cgroup and every cgroup below it; NoSuchFileException when this one
         * is gone. {@code dirLinks}: {@link #dir}'s link count when just read (statx'ing it again
         * cost an apply ≈ 5 µs), else -1.
         */
        List<String> threads(int dirLinks) throws IOException {
            List<String> tids = new ArrayList<>(4);
            List<Path> pending = new ArrayList<>(List.of(dir));
            for (int walked = 0; !pending.isEmpty(); walked++) {
                if (walked >= MAX_CGROUPS) {
                    throw new IOException("more than " + MAX_CGROUPS + " cgroups under " + dir);
                }
                Path at = pending.remove(pending.size() - 1);
                try {
                    read(at, walked == 0 ? dirLinks : -1, tids, pending);
                } catch (IOException | DirectoryIteratorException e) {
                    if (!at.equals(dir) && !Files.exists(at, LinkOption.NOFOLLOW_LINKS)) {
                        continue; // a sub-cgroup removed since it was listed: the kernel removes only empty ones
                    }
                    throw e instanceof DirectoryIteratorException d ? d.getCause() : (IOException) e;
                }
            }
            return tids;
        }

        /** Whether a thread list line is a thread id netfence can read: digits, not 0 (a thread its pid namespace cannot see). */
        private static boolean readable(String tid) {
            for (int i = 0; i < tid.length(); i++) {
                if (tid.charAt(i) < '0' || tid.charAt(i) > '9') {
                    return false;
                }
            }
            return !tid.equals("0");
        }

        /** Adds the threads of cgroup {@code at} to {@code tids} and its sub-cgroups to {@code pending}; {@code known}: its link count, or -1. */
        private void read(Path at, int known, List<String> tids, List<Path> pending) throws IOException {
            // a directory's link count is 2 plus its sub-directories (kernfs, like ext4 and tmpfs;
            // 1 means the file system does not count them, as btrfs: walked, as find(1) does)
            int links = known >= 0 ? known : linkCount(at);
            String text = ProcFile.read(at.resolve(list), MAX_LIST);
            if (text.length() >= MAX_LIST) {
                throw new IOException("the thread list of " + at + " is longer than " + MAX_LIST + " bytes");
            }
            for (int from = 0, end; from < text.length(); from = end + 1) {
                end = text.indexOf('\n', from);
                end = end < 0 ? text.length() : end;
                if (end > from) {
                    String tid = text.substring(from, end);
                    if (!readable(tid)) {
                        throw new IOException("the thread list of " + at + " names a thread netfence cannot read: " + tid);
                    }
                    tids.add(tid);
                }
            }
            if (links != 2) {
                try (DirectoryStream<Path> entries = Files.newDirectoryStream(at)) {
                    for (Path entry : entries) {
                        if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                            pending.add(entry);
                        }
                    }
                }
            }
        }
    }
}
