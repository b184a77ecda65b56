package dev.netfence.reconcile;

import dev.netfence.netns.CgroupMembership;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.ProcFile;
import dev.netfence.netns.ProcTasks;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a live container's recorded pid is: still in its recorded namespace ({@link #present}), or
 * out of it; and then, a container that is gone from one whose workload moved that pid: the pid is still a process of the container when its
 * {@code /proc/PID/cgroup} names the container's whole id in a runtime's path component
 * ({@link CgroupMembership#containersIn}; e.g. {@code unshare -n} with CAP_SYS_ADMIN); a pid
 * that is gone, or reused by another container's or the host's process, is not. A pid whose
 * thread-group leader exited while its other threads run is read through one of them
 * ({@link ProcTasks}): it is still there. Remembers which
 * containers' pids are away, so a move is reported once. Thread-safe.
 */
final class MovedPids {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MovedPids.class);
    private final Path procRoot;
    private final Set<String> away = ConcurrentHashMap.newKeySet();

    MovedPids(Path procRoot) {
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
    }

    /** Whether {@code c}'s recorded pid is still in its recorded namespace (an unreadable one counts as there: the enforcer's own guards decide). */
    boolean present(LiveContainer c) {
        try {
            return ProcTasks.namespaceOf(procRoot, c.pid()).equals(c.netns());
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** The namespace {@code pid} is in, or null when that cannot be read. */
    NamespaceId namespaceOf(int pid) {
        try {
            return ProcTasks.namespaceOf(procRoot, pid);
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether {@code pid} is in namespace {@code netns} (false when that cannot be read). */
    boolean in(int pid, NamespaceId netns) {
        try {
            return ProcTasks.namespaceOf(procRoot, pid).equals(netns);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Whether {@code c}'s recorded pid is still a process of the container: false when it is gone
     * or its cgroup names no such container; true, too, when the pid is there but its cgroup cannot
     * be read (any error but ENOENT/ESRCH; e.g. a kernel that refuses to render a cgroup path past
     * 4,095 characters, which a workload given a writable cgroup tree can make): nothing says it
     * is gone, so it is not released, which would remove its host guard and end its corrections.
     */
    boolean stillInContainer(LiveContainer c) {
        if (!CgroupMembership.acceptableId(c.containerId())) {
            return false;
        }
        try {
            String cgroup = ProcFile.read(ProcTasks.view(procRoot, c.pid()).resolve("cgroup"));
            return !CgroupMembership.containersIn(cgroup, c.containerId()).isEmpty();
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            LOG.warn("container {}: the cgroup of its process {} cannot be read ({}); kept as the container's",
                    c.containerId(), c.pid(), e.getMessage());
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * A process of {@code c}'s container in its recorded namespace, for an entry whose recorded
     * process is alive elsewhere (moved out); empty when none is, or when the look ran out of time
     * (then it is taken for moved, as before, and looked at again at the next resync).
     */
    java.util.Optional<Integer> stayedIn(LiveContainer c) {
        try {
            java.util.Optional<Integer> other = dev.netfence.netns.ContainerProcesses.in(procRoot, c.containerId(),
                    c.netns());
            other.ifPresent(pid -> LOG.warn("container {}: process {} left network namespace inode {}; its entry follows"
                    + " process {}, still there", c.containerId(), c.pid(), c.netns().inode(), pid));
            return other;
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.warn("container {}: process {} left network namespace inode {}, and the look for another one there ran"
                    + " out of time ({})", c.containerId(), c.pid(), c.netns().inode(), e.getMessage());
            return java.util.Optional.empty();
        }
    }

    /**
     * Another process of {@code c}'s container in its recorded namespace
     * ({@link dev.netfence.netns.ContainerProcesses}), for an entry whose recorded process went; with
     * none left there, any process of the container (released only once it has none); empty when
     * none is; TimeoutException when the look ran out of time (nothing says the container is gone).
     */
    java.util.Optional<Integer> another(LiveContainer c) throws java.util.concurrent.TimeoutException {
        try {
            java.util.Optional<Integer> other = dev.netfence.netns.ContainerProcesses.in(procRoot, c.containerId(), c.netns());
            other.ifPresent(pid -> LOG.info("container {}: process {} has gone; its entry follows process {} in the"
                    + " same namespace", c.containerId(), c.pid(), pid));
            if (other.isEmpty()) {
                // none left in the namespace, but the container runs elsewhere (it moved every process out and let the
                // witness go, its connections perhaps still there): what is in force stays, the entry follows one of
                // its processes
                other = dev.netfence.netns.ContainerProcesses.all(procRoot, c.containerId(), null).stream().findFirst();
                other.ifPresent(pid -> LOG.warn("container {}: process {} has gone and no process of it is left in"
                        + " network namespace inode {}; its rules stay, the entry follows its process {}",
                        c.containerId(), c.pid(), c.netns().inode(), pid));
            }
            return other;
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.warn("container {}: process {} has gone, and the look for another one ran out of time ({}); kept,"
                    + " looked for again at the next resync", c.containerId(), c.pid(), e.getMessage());
            throw e;
        }
    }

    /**
     * A process of {@code c}'s container in a namespace that {@code paths} (a runtime's bind paths by
     * namespace, see {@link dev.netfence.netns.BindPaths}) names, with that path: the first one
     * {@code /proc} lists, found with one stat per process (its cgroup read only where its namespace
     * is one of those). Where none is, a process of the container that holds a socket of such a
     * namespace, with that namespace's path: a workload whose processes all left the runtime's new
     * namespace keeps it open through a socket, and the enforcer, given the path and a pid outside
     * it, fences that namespace through the socket or quarantines it by the path. Empty when neither
     * is, also when a look ran out of time (tried again at the next resync). Asked once the runtime's
     * path of the recorded namespace is gone, so a namespace found with the recorded one's number is
     * a new one that reuses it (the kernel reuses a freed namespace's inode number). Only a runtime
     * makes such a path (it is in the host's mount namespace): a namespace the workload made for
     * itself, with a process of the container in it, has none.
     */
    java.util.Optional<java.util.Map.Entry<Integer, String>> inBoundNamespace(LiveContainer c,
            java.util.function.Supplier<java.util.Map<NamespaceId, String>> paths) {
        java.util.Map<NamespaceId, String> bound = paths.get();
        if (bound.isEmpty()) {
            return java.util.Optional.empty();
        }
        try {
            java.util.Optional<Integer> in = dev.netfence.netns.ContainerProcesses.first(procRoot, c.containerId(),
                    pid -> bound.containsKey(namespaceOf(pid)));
            if (in.isPresent()) {
                String path = bound.get(namespaceOf(in.get()));
                if (path != null) { // else it left meanwhile: the next resync looks again
                    return java.util.Optional.of(java.util.Map.entry(in.get(), path));
                }
                return java.util.Optional.empty();
            }
            java.util.List<Integer> processes = dev.netfence.netns.ContainerProcesses.all(procRoot, c.containerId(), null);
            dev.netfence.netns.SocketNamespaces.Held held = dev.netfence.netns.SocketNamespaces.first(procRoot, processes,
                    h -> bound.containsKey(h.id()), System.nanoTime()
                            + dev.netfence.netns.ContainerProcesses.BUDGET.toNanos()).held();
            if (held == null) {
                return java.util.Optional.empty();
            }
            dev.netfence.netns.SocketNamespaces.release(held);
            LOG.warn("container {}: no process of it in a namespace its runtime made, but its process {} holds a socket of"
                    + " the one of {}", c.containerId(), held.holder(), bound.get(held.id()));
            return java.util.Optional.of(java.util.Map.entry(held.holder(), bound.get(held.id())));
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.warn("container {}: the look for its processes ran out of time ({}); looked for again at the next resync",
                    c.containerId(), e.getMessage());
            return java.util.Optional.empty();
        }
    }

    /** Records that the container's pid is away; true only the first time of a move. */
    boolean away(String containerId) {
        return away.add(containerId);
    }

    /** The container's pid is back, or the container went: a later move is a new one. */
    void back(String containerId) {
        away.remove(containerId);
    }
}
