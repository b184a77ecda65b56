package dev.netfence.netns;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.core.SteadyClock;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pins a container's network namespace through /proc, with the guards that keep netfence off
 * namespaces it must not touch. The namespace is pinned by opening {@code /proc/PID/ns/net} and
 * holding the descriptor for the whole apply ({@link NamespaceHandle}); every later command
 * enters {@code /proc/<netfence's pid>/fd/<N>}, which the kernel resolves to the held namespace,
 * so a container that exits and a pid that is reused mid-apply cannot redirect the rules into
 * another namespace. Pinning by descriptor rather than by bind mount starts no process and leaves
 * nothing behind if netfence dies: the kernel closes the descriptor. We pin rather than re-check
 * the inode afterwards because a re-check only detects the redirection after rules were already
 * written somewhere else. Guards, checked on the pinned namespace: pid &gt; 1; the descriptor
 * leads to the namespace {@code /proc/PID/ns/net} showed before the open; not netfence's own
 * namespace nor the host's (pid 1's, when readable) by inode; when a containerId is known and the
 * cgroup check is on, {@code /proc/PID/cgroup} must name it the way a runtime does
 * ({@link CgroupMembership}: a whole id of at least 12 characters in a runtime's path
 * component); and the pid must still be in the pinned namespace after the checks, so pid, cgroup
 * and namespace belong together. Asked to ({@link #pin(Integer, String, String, Path, Instant,
 * boolean)}), it also reads the pid's {@code net/dev} within those checks ({@link Interfaces}:
 * whether the namespace has only {@code lo}), so that one confirmation covers that read too.
 */
public final class ProcNamespacePinner implements NamespacePinner {
    private static final Logger LOG = LoggerFactory.getLogger(ProcNamespacePinner.class);

    private final ContainerPidLookup lookup;
    private final Path procRoot;
    private final boolean cgroupCheck;
    /** What the scans for a witness ({@link #memberIn}, {@link #memberElsewhere}) measure their budget on. */
    private final Clock scanClock;
    /** This process's pid as {@code procRoot} numbers it, read once (it cannot change). */
    private volatile String self;
    /**
     * netfence's own network namespace and pid 1's (the host's; empty when it cannot be read),
     * looked up at the first pin: both live as long as netfence does (its main thread never leaves
     * its namespace, and init does not change its own), so their identities cannot be reused, and
     * every pin had paid two more stats for them (one a refused {@code stat} of
     * {@code /proc/1/ns/net} where pid 1 is not ptrace-readable, an exception per apply).
     */
    private volatile NamespaceId own;
    private volatile Optional<NamespaceId> host;
    private final EmptiedNamespaces emptied;

    /**
     * @param procRoot normally {@code /proc}
     * @param cgroupCheck whether a known containerId must appear in {@code /proc/PID/cgroup}
     */
    public ProcNamespacePinner(ContainerPidLookup lookup, Path procRoot, boolean cgroupCheck) {
        this(lookup, procRoot, cgroupCheck, SteadyClock.system());
    }

    /** As above, the witness scans' budgets measured on {@code scanClock}. */
    ProcNamespacePinner(ContainerPidLookup lookup, Path procRoot, boolean cgroupCheck, Clock scanClock) {
        this.scanClock = Objects.requireNonNull(scanClock, "scanClock");
        this.lookup = Objects.requireNonNull(lookup, "lookup");
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
        this.cgroupCheck = cgroupCheck;
        this.emptied = new EmptiedNamespaces(procRoot, new EmptiedNamespaces.Guards() {
            @Override
            public NamespaceHandle hold(Path file, NamespaceId expected, int pid) {
                return ProcNamespacePinner.this.hold(file, expected, pid);
            }

            @Override
            public boolean hostOrOwn(NamespaceId id) {
                return ProcNamespacePinner.this.hostOrOwn(id);
            }

            @Override
            public void release(NamespaceHandle handle) {
                ProcNamespacePinner.release(handle);
            }
        }, scanClock);
    }

    @Override
    public PinnedNamespace pin(Integer pid, String containerId, String runtime, Instant deadline) {
        return pin(pid, containerId, runtime, deadline, false, true);
    }

    /**
     * With {@code interfaces}, the pid's {@code net/dev} is read after the cgroup check and before
     * the pid is confirmed in the pinned namespace, so that one confirmation serves both (a
     * separate read and stat afterwards cost an apply ≈ 10 µs more).
     */
    @Override
    public PinnedNamespace pin(Integer pid, String containerId, String runtime, Path netns, Instant deadline,
            boolean interfaces) {
        // with the runtime's path, being in that namespace is the proof: its owner is not looked at (a runtime that
        // makes it in the container's user namespace while the pid namespace is the host's, --pid=host); a
        // /proc/PID/ns/net path proves nothing the pid does not (NamespacePinner.isRuntimeBind)
        return NamespacePinner.requireIn(pin(pid, containerId, runtime, deadline, interfaces,
                !NamespacePinner.isRuntimeBind(netns)), netns);
    }

    @Override
    public Integer pidOf(String containerId, String runtime, Instant deadline) {
        return lookup.pidOf(containerId, runtime, deadline);
    }

    /**
     * A process of {@code containerId} in the namespace {@code netns} leads to
     * ({@link ContainerProcesses}), which then pins as the container's with that path. Only on a
     * NAMESPACE_MISMATCH with the runtime's path, so the scan (a stat per process) is paid where
     * the event's pid left the container's namespace.
     */
    @Override
    public Optional<PinnedNamespace> memberIn(String containerId, String runtime, Path netns, int pid,
            Instant deadline) {
        if (!cgroupCheck || containerId == null || netns == null) {
            return Optional.empty();
        }
        NamespaceId wanted;
        try {
            wanted = NamespaceId.of(netns);
        } catch (IOException e) {
            return Optional.empty();
        }
        Optional<Integer> member;
        try {
            member = ContainerProcesses.in(procRoot, containerId, wanted, scanClock);
        } catch (java.util.concurrent.TimeoutException e) {
            // not known whether one is there (a node of very many processes, or a workload's zombies): the namespace
            // is the runtime's all the same, so the path itself, never nothing (that left it open, no quarantine)
            LOG.warn("no process of container {} found in {}: {}; quarantining it by the path", containerId, netns,
                    e.getMessage());
            return emptied.byPath(containerId, pid, netns, wanted);
        }
        if (member.isEmpty()) { // no process of it left there: the path itself
            return emptied.byPath(containerId, pid, netns, wanted);
        }
        try { // the whole pin's checks: the cgroup as the runtime writes it, the path
            return Optional.of(pin(member.get(), containerId, runtime, netns, deadline, false));
        } catch (EnforcementException gone) {
            // the witness found exited or left meanwhile (a workload can arrange that): the path itself, as above
            LOG.warn("process {} of container {} in {} could not be pinned: {}; quarantining it by the path",
                    member.get(), containerId, netns, gone.getMessage());
        }
        return emptied.byPath(containerId, pid, netns, wanted);
    }

    /**
     * Without the runtime's path: another process of the container {@code pid} belongs to (its
     * cgroup names the container) whose namespace pins (so was not made inside the container, and
     * has an interface besides {@code lo}), pinned; empty when {@code pid} is not the container's
     * or none is found. Only after {@code pid}'s own namespace was refused (a decoy).
     */
    @Override
    public Optional<PinnedNamespace> memberElsewhere(String containerId, String runtime, int pid, Instant deadline) {
        if (!cgroupCheck || !CgroupMembership.acceptableId(containerId)) {
            return Optional.empty();
        }
        List<Integer> candidates;
        Path view = ProcTasks.view(procRoot, pid);
        NamespaceId refused;
        NamespaceId pidNs;
        try {
            if (!CgroupMembership.names(ProcFile.read(view.resolve("cgroup")), containerId)) {
                return Optional.empty(); // a pid that is not the container's quarantines nothing of it
            }
            refused = ProcTasks.namespaceOf(procRoot, pid);
            pidNs = NamespaceId.of(view.resolve("ns/pid"));
        } catch (IOException e) {
            LOG.warn("no other process of container {} found: {}", containerId, e.getMessage());
            return Optional.empty();
        }
        try {
            candidates = ContainerProcesses.elsewhere(procRoot, containerId, refused, null);
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.warn("no other process of container {} found: {}", containerId, e.getMessage());
            candidates = List.of();
        }
        // whose namespace each candidate is in is judged against the event pid's pid namespace, not the candidate's
        // own: a process in a pid namespace the workload made (clone with a user and pid namespace, no capability)
        // may still be in the runtime's network namespace, and a decoy made beside such a pid namespace is not
        Path pidFile = view.resolve("ns/pid");
        for (int candidate : candidates) {
            try {
                PinnedNamespace ns = pin(candidate, containerId, runtime, deadline, true, true, pidFile);
                if (!Boolean.TRUE.equals(ns.onlyLoopback())) {
                    return Optional.of(ns);
                }
                ns.close();
            } catch (EnforcementException another) {
                // another decoy, or gone: the next
            }
        }
        // none: a namespace the runtime made, with no process in it, where the container's processes hold sockets
        // (they all moved out after opening connections there), else the pid's own namespace, refused for its owner,
        // quarantined all the same (fail closed): a decoy
        // gets a quarantine it does not need, a runtime's namespace the ownership rule misjudged is not left open
        Optional<PinnedNamespace> bySocket = emptied.bySocket(containerId, pid, held -> !held.id().equals(refused)
                && UserNamespaceAncestry.runtimeMade(Path.of("/proc/self/fd/" + held.descriptor()), pidFile)
                        .equals(Optional.of(true))
                && ContainerProcesses.onlyOf(procRoot, containerId, held.id(), scanClock));
        if (bySocket.isPresent()) {
            return bySocket;
        }
        if (UserNamespaceAncestry.runtimeMade(view).equals(Optional.of(false))) {
            try {
                return Optional.of(pin(pid, containerId, runtime, deadline, false, false));
            } catch (EnforcementException gone) {
                LOG.warn("the namespace of pid {} of container {} could not be pinned: {}", pid, containerId,
                        gone.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Whether {@code id} is netfence's own namespace or the host's. */
    private boolean hostOrOwn(NamespaceId id) {
        try {
            refuseHostNamespaces(id, -1);
            return false;
        } catch (EnforcementException host) {
            return true;
        }
    }

    private PinnedNamespace pin(Integer pid, String containerId, String runtime, Instant deadline, boolean interfaces,
            boolean ancestry) {
        return pin(pid, containerId, runtime, deadline, interfaces, ancestry, null);
    }

    /** {@code pidNsFile}: the pid namespace the ownership is judged against (null: the pinned pid's own). */
    private PinnedNamespace pin(Integer pid, String containerId, String runtime, Instant deadline, boolean interfaces,
            boolean ancestry, Path pidNsFile) {
        int target = pid != null ? pid : lookup.pidOf(containerId, runtime, deadline);
        if (target <= 1) {
            throw new EnforcementException(ErrorCode.HOST_NAMESPACE_REFUSED,
                    "pid " + target + " refused: only a container process (pid > 1) can be targeted");
        }
        Path procPid = procRoot.resolve(Integer.toString(target));
        Path nsLink = procPid.resolve("ns/net");
        Optional<NamespaceId> leader = idOf(nsLink, target);
        if (leader.isEmpty()) { // the leader exited while other threads run (ProcTasks): read through one of them
            Optional<Path> thread = ProcTasks.liveThread(procRoot, target);
            if (thread.isPresent()) {
                procPid = thread.get();
                nsLink = procPid.resolve("ns/net");
                leader = idOf(nsLink, target);
            }
        }
        NamespaceId pinned = leader.orElseThrow(() -> gone(target));
        Path confirm = nsLink;
        NamespaceHandle handle = hold(nsLink, pinned, target);
        try {
            refuseHostNamespaces(pinned, target);
            List<CgroupMembership.Match> cgroups = cgroupCheck && containerId != null
                    ? checkCgroup(procPid, target, containerId) : null;
            if (ancestry && UserNamespaceAncestry.runtimeMade(procPid.resolve("ns/net"),
                    pidNsFile != null ? pidNsFile : procPid.resolve("ns/pid")).equals(Optional.of(false))) {
                throw new EnforcementException(ErrorCode.NAMESPACE_MISMATCH, "the network namespace of pid " + target
                        + " (inode " + pinned.inode() + ") was made inside the container: the user namespace that owns"
                        + " it is neither the pid namespace's owner nor an ancestor of it (a decoy)");
            }
            Boolean onlyLoopback = interfaces ? onlyLoopback(procPid, target) : null;
            NamespaceId after = idOf(confirm, target).orElseThrow(() -> gone(target));
            if (!after.equals(pinned)) {
                throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND,
                        "pid " + target + " left the pinned namespace during the checks (exited and reused?)");
            }
            return new PinnedNamespace(target, handle.path(), pinned, () -> release(handle),
                    () -> idOf(confirm, target).map(pinned::equals).orElse(false), cgroups, onlyLoopback);
        } catch (RuntimeException e) {
            release(handle);
            throw e;
        }
    }

    /** Opens and holds the namespace {@code nsLink} leads to, which must be {@code expected}. */
    private NamespaceHandle hold(Path nsLink, NamespaceId expected, int target) {
        try {
            return NamespaceHandle.open(procRoot, self(), nsLink, expected).orElseThrow(() -> new EnforcementException(
                    ErrorCode.CONTAINER_NOT_FOUND,
                    "pid " + target + " changed network namespace while being pinned (exited and reused?)"));
        } catch (NoSuchFileException e) {
            throw gone(target);
        } catch (AccessDeniedException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "not permitted to open " + nsLink, e);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "cannot pin " + nsLink + ": " + e, e);
        } catch (IllegalStateException e) {
            throw new EnforcementException(ErrorCode.INTERNAL, "cannot pin " + nsLink + ": " + e.getMessage(), e);
        }
    }

    private String self() throws IOException {
        String known = self;
        if (known == null) {
            known = NamespaceHandle.self(procRoot);
            self = known;
        }
        return known;
    }

    private static void release(NamespaceHandle handle) {
        try {
            handle.close();
        } catch (IOException e) {
            LOG.warn("closing the namespace descriptor {} failed: {}", handle.path(), e.getMessage());
        }
    }

    private void refuseHostNamespaces(NamespaceId pinned, int target) {
        NamespaceId own = this.own;
        if (own == null) {
            own = idOf(procRoot.resolve("self/ns/net"), -1).orElseThrow(() -> new EnforcementException(
                    ErrorCode.INTERNAL, "cannot read netfence's own network namespace"));
            this.own = own;
        }
        if (pinned.equals(own)) {
            throw new EnforcementException(ErrorCode.HOST_NAMESPACE_REFUSED,
                    "pid " + target + " shares netfence's own network namespace (inode " + pinned.inode() + ")");
        }
        Optional<NamespaceId> host = this.host;
        if (host == null) {
            host = idOf(procRoot.resolve("1/ns/net"), 1);
            this.host = host;
        }
        if (host.isPresent() && pinned.equals(host.get())) {
            throw new EnforcementException(ErrorCode.HOST_NAMESPACE_REFUSED,
                    "pid " + target + " is in the host's network namespace (inode " + pinned.inode() + ")");
        }
    }

    /** The container's cgroups the pid's cgroup file names; NAMESPACE_MISMATCH when it names none. */
    private List<CgroupMembership.Match> checkCgroup(Path procPid, int target, String containerId) {
        if (!CgroupMembership.acceptableId(containerId)) {
            throw new EnforcementException(ErrorCode.NAMESPACE_MISMATCH, "container id " + containerId + " is shorter than "
                    + CgroupMembership.MIN_ID_LENGTH + " characters; the cgroup check needs the id the runtime writes");
        }
        String cgroup;
        try {
            // one char per byte: a cgroup name that is not UTF-8 cannot fail the read, and ids are ASCII
            cgroup = ProcFile.read(procPid.resolve("cgroup"));
        } catch (NoSuchFileException e) {
            throw gone(target);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.NAMESPACE_MISMATCH,
                    "cannot read the cgroup of pid " + target + ": " + e.getMessage(), e);
        }
        if (cgroup.length() >= ProcFile.LIMIT) {
            // a cut could end inside a path and leave a prefix that reads as a whole id component
            throw new EnforcementException(ErrorCode.NAMESPACE_MISMATCH,
                    "the cgroup file of pid " + target + " is longer than " + ProcFile.LIMIT + " bytes");
        }
        List<CgroupMembership.Match> matches = CgroupMembership.containersIn(cgroup, containerId);
        if (matches.isEmpty()) {
            throw new EnforcementException(ErrorCode.NAMESPACE_MISMATCH,
                    "pid " + target + " does not belong to container " + containerId + " (cgroup: "
                            + printable(cgroup.strip().replace('\n', ' ')) + ")");
        }
        return matches;
    }

    /** Whether the pid's namespace has only {@code lo} ({@link Interfaces}); CONTAINER_NOT_FOUND when the pid is gone. */
    private static boolean onlyLoopback(Path procPid, int target) {
        try {
            return Interfaces.onlyLoopback(procPid);
        } catch (IOException e) {
            throw gone(target);
        }
    }

    /** The namespace's identity, empty when the path is gone (or, for pid 1, unreadable). */
    private static Optional<NamespaceId> idOf(Path path, int pid) {
        try {
            return Optional.of(NamespaceId.of(path));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (AccessDeniedException e) {
            if (pid == 1) {
                LOG.debug("cannot read the host's namespace {}; relying on the own-namespace check", path);
                return Optional.empty();
            }
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "not permitted to read " + path, e);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "cannot read " + path + ": " + e, e);
        }
    }

    /** {@code text} with every byte outside printable ASCII (and the backslash) as {@code \xNN}: cgroup names reach logs and outcomes. */
    static String printable(String text) {
        return dev.netfence.core.Printable.escape(text); // read one char per byte (ProcFile): never above 0xff
    }

    private static EnforcementException gone(int pid) {
        return new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND, "process " + pid + " does not exist");
    }
}
