package dev.netfence.netns;

import dev.netfence.core.SteadyClock;
import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeoutException;

/**
 * Finds a process of a container in a network namespace by scanning {@code /proc}: one whose
 * namespace is the one given and whose cgroup names the container's whole id the way a runtime
 * writes it ({@link CgroupMembership#names}). Used where the pid netfence recorded or was given
 * is not in the container's namespace any more (the workload moved it into a namespace of its own)
 * but processes it left behind are, so that the namespace is still treated as the container's.
 * One stat per process, and a cgroup read per process in that namespace: paid only on that path,
 * and bounded in time (a node of many processes). A process whose main thread exited while other
 * threads run is read through one of them ({@link ProcTasks}), as the pinner reads it.
 */
public final class ContainerProcesses {
    private ContainerProcesses() {}

    /** How long a scan may take before it gives up ({@link TimeoutException}). */
    public static final Duration BUDGET = Duration.ofMillis(500);

    /**
     * A process (pid > 1) in {@code netns} whose cgroup names {@code containerId}; empty when none
     * is or {@code /proc} cannot be listed.
     *
     * @throws TimeoutException when the scan took longer than {@link #BUDGET}: the answer is not known
     */
    public static Optional<Integer> in(Path procRoot, String containerId, NamespaceId netns) throws TimeoutException {
        return in(procRoot, containerId, netns, SteadyClock.system());
    }

    /** As {@link #in(Path, String, NamespaceId)}, its budget measured on {@code clock}. */
    public static Optional<Integer> in(Path procRoot, String containerId, NamespaceId netns, Clock clock)
            throws TimeoutException {
        return scan(procRoot, containerId, pid -> inNamespace(procRoot, pid, netns), 1, clock).stream().findFirst();
    }

    /**
     * One process (pid > 1) of {@code containerId} for each network namespace other than {@code not}
     * that its processes in the pid namespace {@code pidNs} (any, when null) are in, in {@code /proc}
     * order; empty when none is or {@code /proc} cannot be listed. A caller taking processes of any
     * pid namespace judges who made each network namespace against the event pid's pid namespace,
     * not the process's own (one the workload made, {@code unshare -Urpnf}, is owned by the user
     * namespace that owns the network namespace it made too).
     *
     * @throws TimeoutException when the scan took longer than {@link #BUDGET}
     */
    public static java.util.List<Integer> elsewhere(Path procRoot, String containerId, NamespaceId not, NamespaceId pidNs)
            throws TimeoutException {
        java.util.Set<NamespaceId> seen = new java.util.HashSet<>();
        seen.add(not);
        return scan(procRoot, containerId, pid -> {
            try {
                NamespaceId net = ProcTasks.namespaceOf(procRoot, pid);
                return !seen.contains(net) && (pidNs == null
                        || NamespaceId.of(ProcTasks.view(procRoot, pid).resolve("ns/pid")).equals(pidNs)) && seen.add(net);
            } catch (IOException e) {
                return false;
            }
        }, Integer.MAX_VALUE, SteadyClock.system());
    }

    /**
     * Every process (pid > 1) of {@code containerId} in the pid namespace {@code pidNs} (any, when
     * null), in {@code /proc} order: whose sockets may be all that is left in the container's
     * network namespace ({@link SocketNamespaces}).
     *
     * @throws TimeoutException when the scan took longer than {@link #BUDGET}
     */
    public static java.util.List<Integer> all(Path procRoot, String containerId, NamespaceId pidNs)
            throws TimeoutException {
        return scan(procRoot, containerId, pid -> {
            try {
                return pidNs == null || NamespaceId.of(ProcTasks.view(procRoot, pid).resolve("ns/pid")).equals(pidNs);
            } catch (IOException e) {
                return false;
            }
        }, Integer.MAX_VALUE, SteadyClock.system());
    }

    /**
     * The first process of {@code containerId} (lowest pid first, as {@code /proc} lists them) that
     * {@code where} takes, asked before the process's cgroup is read (so a cheap test spares the
     * cgroup reads of the processes it refuses); empty when none is.
     *
     * @throws TimeoutException when the scan took longer than {@link #BUDGET}
     */
    public static Optional<Integer> first(Path procRoot, String containerId, java.util.function.IntPredicate where)
            throws TimeoutException {
        return scan(procRoot, containerId, where, 1, SteadyClock.system()).stream().findFirst();
    }

    /**
     * Whether no process of another container is in {@code netns}: a namespace that no other
     * container's process can vouch for. A process counts as another container's only when its
     * cgroup could be read and names one ({@link CgroupMembership#namesAnotherContainer}); one of
     * the host's (an operator's {@code nsenter}, netfence's own children) or one whose cgroup cannot
     * be read does not (a workload that makes its cgroup unreadable must not pass for someone
     * else). A scan that runs out of {@link #BUDGET}, measured on {@code clock}, answers true (the
     * caller fences rather than leaving the namespace open).
     */
    public static boolean onlyOf(Path procRoot, String containerId, NamespaceId netns, Clock clock) {
        Instant until = clock.instant().plus(BUDGET);
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(procRoot, p -> isPid(p.getFileName().toString()))) {
            for (Path proc : procs) {
                if (clock.instant().isAfter(until)) {
                    return true;
                }
                int pid = Integer.parseInt(proc.getFileName().toString());
                if (inNamespace(procRoot, pid, netns) && ofAnotherContainer(procRoot, pid, containerId)) {
                    return false;
                }
            }
        } catch (IOException | DirectoryIteratorException e) {
            return true;
        }
        return true;
    }

    /** Up to {@code max} processes of {@code containerId} that {@code where} accepts (tested first: a stat). */
    private static java.util.List<Integer> scan(Path procRoot, String containerId, java.util.function.IntPredicate where,
            int max, Clock clock) throws TimeoutException {
        java.util.List<Integer> found = new java.util.ArrayList<>();
        if (!CgroupMembership.acceptableId(containerId)) {
            return found;
        }
        Instant until = clock.instant().plus(BUDGET);
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(procRoot,
                p -> isPid(p.getFileName().toString()))) {
            for (Path proc : procs) {
                if (clock.instant().isAfter(until)) {
                    throw new TimeoutException("scanning " + procRoot + " for processes of container " + containerId
                            + " took over " + BUDGET.toMillis() + " ms");
                }
                int pid = Integer.parseInt(proc.getFileName().toString());
                if (pid > 1 && where.test(pid) && ofContainer(procRoot, pid, containerId)) {
                    found.add(pid);
                    if (found.size() == max) {
                        break;
                    }
                }
            }
        } catch (IOException | DirectoryIteratorException e) {
            return found;
        }
        return found;
    }

    /** Whether a process of {@code containerId} lives anywhere, a scan that ran out of time counting as one. */
    public static boolean runsOrUnknown(Path procRoot, String containerId) {
        return runsOrUnknown(procRoot, containerId, SteadyClock.system());
    }

    /** As {@link #runsOrUnknown(Path, String)}, the scan's budget measured on {@code clock}. */
    public static boolean runsOrUnknown(Path procRoot, String containerId, Clock clock) {
        try {
            return !scan(procRoot, containerId, pid -> true, 1, clock).isEmpty();
        } catch (TimeoutException e) {
            return true;
        }
    }

    private static boolean isPid(String name) {
        return !name.isEmpty() && name.length() <= 10 && name.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    private static boolean inNamespace(Path procRoot, int pid, NamespaceId netns) {
        try {
            return ProcTasks.namespaceOf(procRoot, pid).equals(netns);
        } catch (IOException e) {
            return false; // gone
        }
    }

    private static boolean ofAnotherContainer(Path procRoot, int pid, String containerId) {
        try {
            return CgroupMembership.namesAnotherContainer(ProcFile.read(ProcTasks.view(procRoot, pid).resolve("cgroup")),
                    containerId);
        } catch (IOException | RuntimeException e) {
            return false; // gone, or unreadable: not known to be anyone else's
        }
    }

    private static boolean ofContainer(Path procRoot, int pid, String containerId) {
        try {
            return CgroupMembership.names(ProcFile.read(ProcTasks.view(procRoot, pid).resolve("cgroup")), containerId);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
