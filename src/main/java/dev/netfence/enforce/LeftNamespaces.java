package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.Quarantines.Quarantine;
import dev.netfence.netns.BindPaths;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.netns.ProcTasks;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and quarantines the network namespace a container left behind when the namespace of its
 * event's pid was refused NAMESPACE_MISMATCH: a workload that moved its pid 1 into a namespace of
 * its own (an {@code unshare} of user and network namespaces needs no capability where the
 * seccomp profile allows it) must leave the runtime's namespace, where its other processes and
 * connections may still be, fenced, not open; and a stale runtime's path must not get an empty
 * namespace quarantined in the container's place. With the runtime's path, through a process of
 * the container still in the namespace it leads to ({@link NamespacePinner#memberIn}), and the
 * pid's own namespace too where that one is not a decoy; without it, through another process of
 * the container ({@link NamespacePinner#memberElsewhere}). An event without a pid is searched from
 * the pid its runtime gives. The writes are {@link Quarantines}'; with {@code checkFirst} (a
 * resync's read-back) a quarantine is read back first and written only on a difference. Split out of
 * {@link Quarantines}, which writes; this class only finds where.
 */
final class LeftNamespaces {
    private static final Logger LOG = LoggerFactory.getLogger(LeftNamespaces.class);

    private final Quarantines quarantines;
    private final NamespacePinner pinner;
    private final Clock clock;
    private final EnforcerConfig config;

    LeftNamespaces(Quarantines quarantines, NamespacePinner pinner, Clock clock, EnforcerConfig config) {
        this.quarantines = quarantines;
        this.pinner = pinner;
        this.clock = clock;
        this.config = config;
    }

    /**
     * After the namespace of {@code pid} (null: the runtime's answer) was refused
     * NAMESPACE_MISMATCH: the namespace the container left behind, through the runtime's path
     * {@code netns} ({@link #leftAndOwn}) or, without it, another process of the container
     * ({@link #throughOtherMember}); null when none is found, the runtime cannot say, or the
     * quarantine cannot be written. Before, an event without a pid was not searched for at all: the
     * namespace such a container's pid 1 left stayed open.
     */
    Quarantine orNull(String containerId, String runtime, Path netns, Integer pid, ErrorCode code,
            boolean checkFirst) {
        Integer target = pid;
        if (target == null) {
            try {
                target = pinner.pidOf(containerId, runtime, clock.instant().plus(config.quarantineBudget()));
            } catch (EnforcementException e) {
                LOG.warn("container {}: its runtime gives no pid ({}); the namespace it left is not searched for",
                        containerId, e.getMessage());
                return null;
            }
            if (target == null || target <= 1) {
                return null;
            }
        }
        return NamespacePinner.isRuntimeBind(netns) ? leftAndOwn(containerId, runtime, netns, target, code, checkFirst)
                : throughOtherMember(containerId, runtime, target, code, checkFirst);
    }

    /**
     * With the runtime's path {@code netns}: the namespace it leads to quarantined through a process
     * of the container still in it (or the path itself where none is, see
     * {@link NamespacePinner#memberIn}), and the pid's own namespace too when the runtime made it
     * (a path of its own in the event path's directory, where no workload can add one; with the
     * cgroup check on, not made inside the container, an interface besides {@code lo}): then the
     * event's path is stale or another container's, and the container runs there; in a pod, its
     * failure quarantines the pod's namespace, as without the path (helper 187: left to another
     * member's policy, it was reported quarantined by the stale path's namespace). The one reported is the path's where a process of the container is in it
     * (a witness), else the pid's own, which the live-set entry then follows and reads back. Before, only the path's was: a stale path naming an empty namespace got that one
     * quarantined and reported, the container's own left open (helper 185 #1).
     */
    private Quarantine leftAndOwn(String containerId, String runtime, Path netns, int pid, ErrorCode code,
            boolean checkFirst) {
        Quarantine left = throughWitness(containerId, "its namespace " + netns,
                deadline -> pinner.memberIn(containerId, runtime, netns, pid, deadline), code, checkFirst);
        if (left != null && left.target() != null && left.target().pid() != pid) {
            return left; // through a process of the container there: the runtime's, and the container's
        }
        // only a namespace the runtime made (a path of its own beside the event's, which no workload can add), and only
        // where the pid is known to be the container's: else a decoy, or anyone's (helper 186 #3, #5)
        NamespaceId runtimes;
        try {
            runtimes = ProcTasks.namespaceOf(config.procRoot(), pid);
        } catch (IOException gone) {
            return left;
        }
        if (!config.cgroupCheck() || BindPaths.of(runtimes, netns.getParent()).isEmpty()) {
            return left;
        }
        Quarantine own;
        try {
            own = quarantines.apply(containerId, budget -> withInterface(
                    pinner.pin(pid, containerId, runtime, null, budget.at(), true), runtimes),
                    new AtomicInteger(), checkFirst, code, false);
        } catch (EnforcementException refused) {
            return left; // made inside the container, lo alone, or moved meanwhile
        }
        LOG.warn("container {}: pid {} is not in {} but in a namespace not made inside the container (inode {}),"
                + " quarantined too", containerId, pid, netns, own.target() == null ? "?" : own.target().netnsInode());
        return own;
    }

    /**
     * Without the runtime's path, after the pid's own namespace was refused (made inside the
     * container, or with {@code lo} alone): the namespace of another process of the container that
     * pins ({@link NamespacePinner#memberElsewhere}).
     */
    private Quarantine throughOtherMember(String containerId, String runtime, int pid, ErrorCode code,
            boolean checkFirst) {
        return throughWitness(containerId, "the namespace of pid " + pid,
                deadline -> pinner.memberElsewhere(containerId, runtime, pid, deadline), code, checkFirst);
    }

    /**
     * The quarantine written through the namespace {@code find} pins through a witness (the first
     * attempt through the one found first, which may exit meanwhile; a retry looks again); null
     * when none is found or it cannot be written.
     */
    private Quarantine throughWitness(String containerId, String instead,
            Function<Instant, Optional<PinnedNamespace>> find, ErrorCode code, boolean checkFirst) {
        AtomicReference<PinnedNamespace> first = new AtomicReference<>(
                find.apply(clock.instant().plus(config.quarantineBudget())).orElse(null));
        if (first.get() == null) {
            return null;
        }
        LOG.warn("container {}: not {}; quarantining the namespace of its process {} (inode {})", containerId, instead,
                first.get().pid(), first.get().inode());
        try {
            return quarantines.apply(containerId, budget -> {
                PinnedNamespace held = first.getAndSet(null);
                return held != null ? held : find.apply(budget.at()).orElseThrow(() -> new EnforcementException(
                        ErrorCode.CONTAINER_NOT_FOUND, "no process of container " + containerId + " to quarantine through"));
            }, new AtomicInteger(), checkFirst, code, false);
        } catch (EnforcementException e) {
            LOG.error("could not quarantine container {}: {} {}", containerId, e.code().code(), e.getMessage());
            return null;
        } finally {
            PinnedNamespace unused = first.getAndSet(null);
            if (unused != null) {
                unused.close();
            }
        }
    }

    /**
     * {@code ns} when it is {@code expected} and known to have an interface besides {@code lo}; else
     * closed, and NAMESPACE_MISMATCH.
     */
    private static PinnedNamespace withInterface(PinnedNamespace ns, NamespaceId expected) {
        if (!Boolean.FALSE.equals(ns.onlyLoopback()) || !ns.id().equals(expected)) {
            ns.close();
            throw new EnforcementException(ErrorCode.NAMESPACE_MISMATCH, "the namespace of pid " + ns.pid()
                    + " is not the runtime's one looked at, or has no network interface but lo");
        }
        return ns;
    }
}
