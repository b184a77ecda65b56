package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
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
 * thread of one process. So the threads read are every thread of the container, as
 * {@link ContainerThreads} lists them: its cgroup's and sub-cgroups', which also hold processes
 * the runtime started into the container later ({@code podman exec}), or the pid's own where the
 * cgroup is not known.
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
 * racing the reads) fail the read: the capabilities cannot be vouched for. The whole read, every thread's status and the raw sockets ({@link RawSockets}), fails past
 * {@link ReadBudget#READ_BUDGET_NANOS} of its thread's CPU time (5 s of wall time): a container of thousands of threads each given a long {@code Groups:}
 * line costs the kernel that long to render, and would otherwise hold the namespace's write turn
 * and a correction thread for seconds on every read. Reads only {@code /proc} and the cgroup file
 * system.
 */
public final class ContainerCapabilities {
    private static final Logger LOG = LoggerFactory.getLogger(ContainerCapabilities.class);
    /** How long listings may keep finding new threads before the read fails, see the class comment. */
    static final long BUDGET_NANOS = 200_000_000L;

    private final Path procRoot;
    private final LongSupplier nanoTime;
    private final LongSupplier cpuTime;
    private final ContainerThreads threads;
    private volatile NamespaceId hostUsers;

    /** @param procRoot normally {@code /proc} */
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
        this.threads = new ContainerThreads(procRoot);
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
        ContainerThreads.Listing listing = threads.listing(pid, containerId, known);
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

    /**
     * The user namespace of pid 1 under {@code procRoot}, which owns the host's network namespace;
     * where pid 1's namespaces cannot be read (a sandbox's init that denies it, as on the machines
     * these tests run on), the owner of netfence's own network namespace ({@code self/ns/net} under
     * {@code procRoot}: the host's, where its host guard works). Read once; IOException when
     * neither can be read, which counts a thread holding CAP_NET_ADMIN as the host's.
     */
    private NamespaceId hostUsers() throws IOException {
        NamespaceId known = hostUsers;
        if (known == null) {
            try {
                known = NamespaceId.of(procRoot.resolve("1").resolve("ns/user"));
            } catch (IOException pid1) {
                known = UserNamespaceAncestry.ownerOf(procRoot.resolve("self/ns/net")).orElseThrow(() -> pid1);
            }
            hostUsers = known;
        }
        return known;
    }

    /**
     * Every capability any thread {@code listing} names holds that is not in {@code read}, listing
     * again until a listing names no thread not yet read; IOException after {@link #BUDGET_NANOS}
     * of listings that each found one, or when {@code budget} runs out.
     */
    long heldByAll(ContainerThreads.Listing listing, Set<String> read, String what, ReadBudget budget) throws IOException {
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

}
