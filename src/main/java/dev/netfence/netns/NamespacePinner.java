package dev.netfence.netns;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Finds a container's network namespace, refuses the ones netfence must never touch, and pins
 * the one it found. See {@link ProcNamespacePinner} for the real implementation.
 */
public interface NamespacePinner {

    /**
     * Pins the network namespace of {@code pid} (or, when null, of the container the runtime
     * reports for {@code containerId}). Failures are
     * {@link dev.netfence.core.EnforcementException}s: CONTAINER_NOT_FOUND,
     * HOST_NAMESPACE_REFUSED, NAMESPACE_MISMATCH, FIREWALL_UNAVAILABLE.
     */
    PinnedNamespace pin(Integer pid, String containerId, String runtime, Instant deadline);

    /**
     * Pins like {@link #pin(Integer, String, String, Instant)}; when {@code netns} (the runtime's
     * path of the container's namespace) is given, the pinned namespace must be the one that path
     * leads to, else NAMESPACE_MISMATCH: the pid is not in the container's namespace (e.g. the
     * workload moved it into a new one). The pin holds the namespace, so its identity cannot be
     * reused while the two are compared: equal identities mean the same namespace.
     */
    default PinnedNamespace pin(Integer pid, String containerId, String runtime, Path netns, Instant deadline) {
        return requireIn(pin(pid, containerId, runtime, deadline), netns);
    }

    /**
     * Pins like {@link #pin(Integer, String, String, Path, Instant)}; with {@code interfaces}, a
     * pinner may also read whether the namespace has an interface other than {@code lo} while it
     * checks the pid ({@link PinnedNamespace#onlyLoopback()}), so that the pid's namespace is
     * confirmed once for both. This default reads nothing (null): the caller reads it itself.
     */
    default PinnedNamespace pin(Integer pid, String containerId, String runtime, Path netns, Instant deadline,
            boolean interfaces) {
        return pin(pid, containerId, runtime, netns, deadline);
    }

    /**
     * The namespace {@code netns} leads to, pinned through a process in it that {@link #pin}
     * accepts as {@code containerId}'s (its cgroup names the container): the witness through which
     * the runtime's namespace of a container whose event pid is elsewhere (a workload that moved its
     * pid 1 into a namespace of its own, leaving processes behind) is quarantined; when no process of
     * the container is left there, the namespace itself, pinned under the event's {@code pid} (see
     * {@code EmptiedNamespaces}). Empty when none is, or when this pinner cannot prove a process is
     * the container's (the cgroup check off).
     */
    default java.util.Optional<PinnedNamespace> memberIn(String containerId, String runtime, Path netns, int pid,
            Instant deadline) {
        return java.util.Optional.empty();
    }

    /**
     * The pid the container runtime gives for {@code containerId} (what {@link #pin} targets when an
     * event carries none), for the search of the namespace such a pid left; null when this pinner
     * does not ask a runtime. EnforcementException when the runtime cannot say.
     */
    default Integer pidOf(String containerId, String runtime, Instant deadline) {
        return null;
    }

    /**
     * Without the runtime's path, after {@code pid}'s own namespace was refused: the namespace of
     * another process of the container that pins, pinned (see {@link #memberIn}). Empty when none
     * is, {@code pid} is not the container's, or this pinner cannot tell.
     */
    default java.util.Optional<PinnedNamespace> memberElsewhere(String containerId, String runtime, int pid,
            Instant deadline) {
        return java.util.Optional.empty();
    }

    /**
     * Whether {@code netns} is a path the runtime made for the container's namespace (a bind mount
     * such as {@code /run/netns/NAME}), which names the namespace whatever its processes do. A
     * {@code /proc/PID/ns/net} path is not: it leads wherever that process is now, and the
     * process may be the workload's own (the event's pid, which can move into a namespace it made
     * and take the path with it), so it proves nothing the pid does not; the checks for a
     * namespace the workload made (who made it, whether it has an interface besides lo) apply as
     * without a path, and the pid must still be in it. False for null.
     */
    static boolean isRuntimeBind(Path netns) {
        return netns != null && !netns.startsWith("/proc");
    }

    /**
     * {@code ns} when {@code netns} is null or leads to the namespace {@code ns} holds; otherwise
     * closes {@code ns} and throws NAMESPACE_MISMATCH.
     */
    static PinnedNamespace requireIn(PinnedNamespace ns, Path netns) {
        if (netns == null) {
            return ns;
        }
        try {
            NamespaceId wanted = NamespaceId.of(netns);
            if (!wanted.equals(ns.id())) {
                throw new EnforcementException(ErrorCode.NAMESPACE_MISMATCH, "pid " + ns.pid() + " is not in the namespace "
                        + netns + " (inode " + wanted.inode() + "): its own is inode " + ns.inode());
            }
            return ns;
        } catch (IOException e) {
            ns.close();
            throw new EnforcementException(ErrorCode.NAMESPACE_MISMATCH, "cannot read the namespace " + netns + ": " + e, e);
        } catch (RuntimeException e) {
            ns.close();
            throw e;
        }
    }
}
