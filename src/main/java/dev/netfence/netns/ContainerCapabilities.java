package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
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
import java.util.function.LongSupplier;
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
 * container later ({@code podman exec}). Without a container id, or where that cgroup is not
 * visible to netfence (not mounted in its mount namespace, or outside its cgroup namespace), the
 * threads of the pid itself ({@code /proc/PID/task}) are read instead, with one warning.
 * <p>
 * The pid's status is read first, then the threads are listed, and the listing is repeated until
 * one adds no thread not already read: a thread that forked a child and then dropped the
 * capability before its own status was read had that child in the cgroup already, so the next
 * listing names it, and a child forked after a thread's status was read holds no capability the
 * read did not see (a fork copies the capability sets, and a set can only shrink, except in a new
 * user namespace, whose capabilities do not reach the container's network namespace). So a
 * container of one single-threaded process costs one listing. A thread in a user namespace of
 * its own shows full sets and is counted anyway, although its capabilities do not reach the
 * container's namespace: conservative, and the runtimes' default seccomp profiles refuse a
 * container the {@code unshare(CLONE_NEWUSER)} that makes one. Listings that keep finding new threads for
 * {@link #BUDGET_NANOS} (a chain of processes each forking the next and dropping the capability,
 * racing the reads) fail the read: the capabilities cannot be vouched for. A thread that moves
 * between the container's cgroups while they are walked can be missed by one walk; moving needs
 * a cgroup tree the workload can write, which runtimes mount read-only unless asked otherwise.
 * A sub-tree walk is needed only where a cgroup directory has sub-directories (its link count,
 * one stat). The whole read, every thread's status and the raw sockets ({@link RawSockets}), fails past
 * {@link ReadBudget#READ_BUDGET_NANOS} of its thread's CPU time (5 s of wall time): a container of thousands of threads each given a long {@code Groups:}
 * line costs the kernel that long to render, and would otherwise hold the namespace's write turn
 * and a correction thread for seconds on every read. Reads only {@code /proc} and the cgroup file
 * system.
 */
public final class ContainerCapabilities {
    private static final Logger LOG = LoggerFactory.getLogger(ContainerCapabilities.class);
    /** How long listings may keep finding new threads before the read fails, see the class comment. */
    static final long BUDGET_NANOS = 200_000_000L;
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
    private final LongSupplier nanoTime;
    private final LongSupplier cpuTime;
    private volatile CgroupMounts mounts;
    private volatile NamespaceId hostUsers;
    private final java.util.Map<CgroupMembership.Match, List<Path>> directories = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean warned;

    /** @param procRoot normally {@code /proc}; the cgroup mounts are read from its {@code self/mountinfo} once */
    public ContainerCapabilities(Path procRoot) {
        this(procRoot, System::nanoTime, ReadBudget::threadCpuNanos);
    }

    /** With {@code nanoTime} for every clock (tests). */
    ContainerCapabilities(Path procRoot, LongSupplier nanoTime) {
        this(procRoot, nanoTime, nanoTime);
    }

    private ContainerCapabilities(Path procRoot, LongSupplier nanoTime, LongSupplier cpuTime) {
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.cpuTime = Objects.requireNonNull(cpuTime, "cpuTime");
    }

    /**
     * The risky capabilities any thread of the container holds, in report order. {@code pid}'s own
     * status is always read: {@link NoSuchFileException} when it is gone (also when the container's
     * cgroup went away with it); other threads that exit meanwhile are skipped. {@link IOException}
     * when the container's threads cannot be listed or kept changing.
     */
    public List<String> risksOf(int pid, String containerId) throws IOException {
        return risksOf(pid, containerId, null);
    }

    /**
     * As {@link #risksOf(int, String)}, with the container's cgroups when the caller has just found
     * them in the pid's {@code /proc/PID/cgroup} ({@link PinnedNamespace#containerCgroups()}); null
     * reads the file.
     */
    public List<String> risksOf(int pid, String containerId, List<CgroupMembership.Match> known) throws IOException {
        return read(pid, containerId, known).risks();
    }

    /**
     * What {@link #risksOf(int, String, List)} reads, and whether a thread holding CAP_NET_ADMIN
     * is in the user namespace that owns the host's network namespace (the one of pid 1 under
     * {@code procRoot}): a rootful container given NET_ADMIN. Such a thread can make, change and
     * delete the host namespace's interfaces (rtnetlink takes a target namespace id, checked
     * against CAP_NET_ADMIN over that namespace's user namespace), so no rule on the host side
     * holds it; NET_ADMIN in a user namespace of the container's own does not reach the host's.
     */
    public Read read(int pid, String containerId, List<CgroupMembership.Match> known) throws IOException {
        Path procPid = procRoot.resolve(Integer.toString(pid));
        String what = containerId == null ? "pid " + pid : containerId;
        ReadBudget budget = new ReadBudget(cpuTime, nanoTime, what);
        long held = overHost(Integer.toString(pid), heldIn(procPid.resolve("status")));
        ContainerCgroup cgroup = containerId == null ? null : cgroupOf(known != null ? known
                : CgroupMembership.containersIn(ProcFile.read(ProcTasks.view(procRoot, pid).resolve("cgroup")),
                        containerId), containerId);
        Listing listing = cgroup == null ? () -> threadsOf(procPid) : new Listing() {
            /** The link count {@link #cgroupOf} just read serves the first listing; later ones read it again. */
            private int links = cgroup.links();

            @Override
            public List<String> threads() throws IOException {
                int known = links;
                links = -1;
                return listed(cgroup, known, procPid, pid, containerId);
            }
        };
        Set<String> read = new HashSet<>();
        read.add(Integer.toString(pid));
        held |= heldByAll(listing, read, what, budget);
        if ((held & NET_RAW) == 0 && RawSockets.heldBy(procRoot, pid, containerId, read, budget)) {
            LOG.info("{} (pid {}) holds, or may hold, a packet, XDP or raw socket of its network namespace: counted as"
                    + " CAP_NET_RAW, which made it, though no thread holds the capability now", what, pid);
            held |= NET_RAW;
        }
        return new Read(Capabilities.risksInMask(held), (held & OVER_HOST) != 0);
    }

    /** The risks read ({@link Capabilities#risksInMask}'s names) and whether NET_ADMIN reaches the host's namespace ({@link #read}). */
    public record Read(List<String> risks, boolean netAdminOverHost) {
        public Read {
            risks = List.copyOf(risks);
        }
    }

    /** Bit 13: CAP_NET_RAW. */
    private static final long NET_RAW = 1L << 13;
    /** Bit 12: CAP_NET_ADMIN. */
    private static final long NET_ADMIN = 1L << 12;
    /** Not a capability (none has a number near it): NET_ADMIN held in the host's user namespace, see {@link #read}. */
    static final long OVER_HOST = 1L << 62;

    /**
     * {@code held}, the capabilities thread {@code tid} holds, with {@link #OVER_HOST} added when
     * they include NET_ADMIN and the thread's user namespace is the host's; also when that cannot
     * be read for a thread still there (it could be the host's).
     */
    private long overHost(String tid, long held) throws IOException {
        if ((held & NET_ADMIN) == 0) {
            return held;
        }
        NamespaceId users;
        try {
            users = NamespaceId.of(procRoot.resolve(tid).resolve("ns/user"));
        } catch (NoSuchFileException exited) {
            return held; // what it held is counted; it reaches nothing any more
        } catch (IOException e) {
            return held | OVER_HOST;
        }
        try {
            return users.equals(hostUsers()) ? held | OVER_HOST : held;
        } catch (IOException e) {
            return held | OVER_HOST;
        }
    }

    /** The user namespace of pid 1 under {@code procRoot}, which owns the host's network namespace; read once. */
    private NamespaceId hostUsers() throws IOException {
        NamespaceId known = hostUsers;
        if (known == null) {
            known = NamespaceId.of(procRoot.resolve("1").resolve("ns/user"));
            hostUsers = known;
        }
        return known;
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

    /**
     * Every capability any thread {@code listing} names holds that is not in {@code read}, listing
     * again until a listing names no thread not yet read; IOException after {@link #BUDGET_NANOS}
     * of listings that each found one, or when {@code budget} runs out.
     */
    long heldByAll(Listing listing, Set<String> read, String what, ReadBudget budget) throws IOException {
        long held = 0;
        long start = 0;
        for (int round = 1; ; round++) {
            boolean fresh = false;
            for (String tid : listing.threads()) {
                if (read.add(tid)) {
                    fresh = true;
                    held |= heldBy(tid);
                    budget.check(read.size());
                }
            }
            if (!fresh) {
                return held;
            }
            if (round == 1) {
                // the budget is for threads that keep coming: a container of many threads, all read in the first
                // listing however long that took, is not one whose threads "kept changing"
                start = nanoTime.getAsLong();
            } else if (nanoTime.getAsLong() - start > BUDGET_NANOS) {
                throw new IOException("the threads of " + what + " kept changing: " + round + " listings in "
                        + BUDGET_NANOS / 1_000_000 + " ms each found a thread not read before, so its capabilities"
                        + " cannot be vouched for");
            }
        }
    }

    /** The capabilities thread {@code tid} holds; none when it exited meanwhile. */
    private long heldBy(String tid) throws IOException {
        try {
            return overHost(tid, heldIn(procRoot.resolve(tid).resolve("status")));
        } catch (NoSuchFileException exited) {
            return 0;
        }
    }

    /**
     * Every capability in the sets of the {@code status} file {@code status}: from its first read
     * where that holds the four sets on whole lines (the kernel renders the file in one go), else
     * from the file read up to {@link ProcFile#LIMIT} bytes, which must hold them on whole lines too.
     * IOException when it does not: a status longer than the limit (its {@code Groups:} line, which
     * the workload sets with {@code setgroups}, comes before the sets) would otherwise be cut inside
     * a set's value, and the digits kept read as a set without the risky bits.
     */
    private static long heldIn(Path status) throws IOException {
        java.util.OptionalLong first = Capabilities.heldInWholeLines(ProcFile.readFirst(status, ProcFile.LIMIT));
        if (first.isPresent()) {
            return first.getAsLong();
        }
        String whole = ProcFile.read(status);
        java.util.OptionalLong held = Capabilities.heldInWholeLines(whole);
        if (held.isEmpty()) {
            throw new IOException(status + " does not hold the capability sets on whole lines within its first "
                    + whole.length() + " bytes (a Groups line of thousands of groups?), so its capabilities cannot"
                    + " be vouched for");
        }
        return held.getAsLong();
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
