package dev.netfence.netns;

import dev.netfence.core.EnforcementException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pins a container's network namespace that no process of the container is in any more: its
 * workload moved every process into a namespace of its own (a decoy) and left, at most, the
 * connections it had opened there, which still carry traffic. With the runtime's path of the
 * namespace in the event, the path is pinned itself (a bind mount the runtime made, such as
 * {@code /run/netns/NAME}: the event names it as the container's, and the event's pid was checked
 * to be the container's), unless a process of another container is in it: then nothing says the
 * namespace was ever this container's (a producer that sent another container's path, a stale
 * entry of its map), and it is pinned only when a socket of the container is there, as a
 * {@code /proc/PID/ns/net} path, whose pid may be another process's by now, always is. Without the path, through a
 * socket a process of the container holds in a namespace the caller accepts
 * ({@link SocketNamespaces}). The pin is recorded under the event's pid (the container's process,
 * which lives as long as the container does), not under a socket's holder, so that the quarantine
 * it carries is kept while the container runs. Split out of {@link ProcNamespacePinner}, which
 * decides when to look.
 */
final class EmptiedNamespaces {
    private static final Logger LOG = LoggerFactory.getLogger(EmptiedNamespaces.class);

    /** The pinner's guards this class uses. */
    interface Guards {
        /** The namespace {@code file} leads to, held, which must be {@code expected}; EnforcementException otherwise. */
        NamespaceHandle hold(Path file, NamespaceId expected, int pid);

        /** Whether {@code id} is netfence's own namespace or the host's. */
        boolean hostOrOwn(NamespaceId id);

        void release(NamespaceHandle handle);
    }

    private final Path procRoot;
    private final Guards guards;
    private final java.time.Clock scanClock;

    EmptiedNamespaces(Path procRoot, Guards guards, java.time.Clock scanClock) {
        this.procRoot = procRoot;
        this.guards = guards;
        this.scanClock = scanClock;
    }

    /**
     * The namespace {@code netns} leads to ({@code wanted}), pinned for {@code containerId} under
     * {@code pid} (the event's, which must be the container's); empty when it cannot be.
     */
    Optional<PinnedNamespace> byPath(String containerId, int pid, Path netns, NamespaceId wanted) {
        if (netns.startsWith("/proc") || !ContainerProcesses.onlyOf(procRoot, containerId, wanted, scanClock)) {
            return bySocket(containerId, pid, held -> held.id().equals(wanted));
        }
        try {
            if (!CgroupMembership.names(ProcFile.read(ProcTasks.view(procRoot, pid).resolve("cgroup")), containerId)) {
                return Optional.empty();
            }
        } catch (IOException | RuntimeException gone) {
            return Optional.empty();
        }
        if (guards.hostOrOwn(wanted)) {
            return Optional.empty();
        }
        try {
            NamespaceHandle handle = guards.hold(netns, wanted, pid);
            LOG.warn("container {}: no process of it in {} (inode {}); pinned by the path", containerId, netns,
                    wanted.inode());
            return Optional.of(new PinnedNamespace(pid, handle.path(), wanted, () -> guards.release(handle), () -> true,
                    null, null));
        } catch (EnforcementException e) {
            LOG.warn("{} of container {} could not be pinned: {}", netns, containerId, e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * The first namespace, neither the host's nor netfence's own, that {@code accept} takes, of a
     * socket held by a process of {@code containerId}, pinned under {@code pid}; empty when none
     * is. No process of the container is in it, so the pin has no process to confirm: it holds the
     * namespace, which is what is written.
     */
    Optional<PinnedNamespace> bySocket(String containerId, int pid, Predicate<SocketNamespaces.Held> accept) {
        SocketNamespaces.Search search;
        try {
            java.util.List<Integer> processes = ContainerProcesses.all(procRoot, containerId, null);
            search = SocketNamespaces.first(procRoot, processes, h -> !guards.hostOrOwn(h.id()) && accept.test(h),
                    System.nanoTime() + ContainerProcesses.BUDGET.toNanos());
        } catch (java.util.concurrent.TimeoutException | RuntimeException e) {
            LOG.warn("the sockets of container {} could not be looked at: {}", containerId, e.toString());
            return Optional.empty();
        }
        if (!search.complete()) {
            LOG.warn("container {}: the search of its sockets for the namespace it left ran out of time or sockets"
                    + " ({} at most) before the end", containerId, SocketNamespaces.MAX_SOCKETS);
        }
        SocketNamespaces.Held held = search.held();
        if (held == null) {
            return Optional.empty();
        }
        try {
            NamespaceHandle handle = guards.hold(Path.of("/proc/self/fd/" + held.descriptor()), held.id(), pid);
            LOG.warn("container {}: no process of it in network namespace inode {}, but its process {} holds a socket"
                    + " there", containerId, held.id().inode(), held.holder());
            return Optional.of(new PinnedNamespace(pid, handle.path(), held.id(), () -> guards.release(handle),
                    () -> true, null, null));
        } catch (EnforcementException e) {
            LOG.warn("the namespace of a socket of container {} could not be pinned: {}", containerId, e.getMessage());
            return Optional.empty();
        } finally {
            SocketNamespaces.release(held);
        }
    }
}
