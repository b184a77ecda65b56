package dev.netfence.reconcile;

import static dev.netfence.reconcile.ResultReads.applied;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.Enforcer;
import dev.netfence.event.Trigger;
import dev.netfence.policy.store.PolicyStore;
import dev.netfence.policy.store.StoredPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A live container its runtime restarted under the same id with no event saying so, found by a
 * resync ({@link Corrections}): its task's policy applied where it runs now, as at a start, and
 * its entry moved there. Told apart from a pid the workload moved by the runtime's bind path of
 * the recorded namespace, which only the runtime removes. Its own class so that the corrections
 * keep to deciding what to look at.
 */
final class RuntimeRestarts {
    private static final Logger LOG = LoggerFactory.getLogger(RuntimeRestarts.class);

    private final PolicyStore policies;
    private final Enforcer enforcer;
    private final CorrectionRecords records;
    private final MovedPids moves;
    private final TaskDigests digests;
    private final Clock steady;
    private final Duration deadline;
    private final Consumer<LiveContainer> onRelease;

    RuntimeRestarts(PolicyStore policies, Enforcer enforcer, CorrectionRecords records, MovedPids moves,
            TaskDigests digests, Clock steady, Duration deadline, Consumer<LiveContainer> onRelease) {
        this.policies = policies;
        this.enforcer = enforcer;
        this.records = records;
        this.moves = moves;
        this.digests = digests;
        this.steady = steady;
        this.deadline = deadline;
        this.onRelease = onRelease;
    }

    /**
     * {@code c}'s process is not in its recorded namespace, and the runtime's bind path of that
     * namespace, which the container's event named, no longer leads there: the runtime tore it
     * down, which it does when it stops or restarts the container (a restart policy,
     * {@code podman restart}: the same id, a new pid in a new namespace), and which no workload
     * can do (the bind mount is in the host's mount namespace). With no event saying so, the
     * task's policy is applied where the container's process is now, as at a start, with no path,
     * and the entry follows it there; true when that was recorded. False (the caller takes the
     * container for a moved pid, as before, and this is tried again at each resync while so): no
     * runtime's path recorded or it still leads to the namespace (a pid the workload moved, which
     * can also let a process the entry followed exit: no reason to leave the namespace it left), a
     * fence without a task, a policy not valid now, or an enforcement that recorded nothing there.
     * Before, every such container was taken for a moved pid for good (NAMESPACE_MISMATCH, "its
     * rules and host guard are kept", in a namespace that was gone) and its new namespace never
     * got its policy.
     */
    boolean restarted(LiveContainer c, Trigger trigger) {
        if (c.taskId() == null || !runtimePathGone(c)) {
            return false;
        }
        Optional<StoredPolicy> stored = policies.lookup(c.taskId());
        if (stored.isEmpty() || !(stored.get() instanceof StoredPolicy.Valid valid)) {
            return false;
        }
        LOG.warn("container {}: the runtime's path {} of its namespace inode {} is gone and its process {} runs in another"
                + " namespace: taken for a restart by its runtime; its task's policy is applied there as at a start",
                c.containerId(), c.netnsPath(), c.netns().inode(), c.pid());
        EnforcementResult result = enforcer.enforce(new EnforcementRequest(c.containerId(), c.runtime(), c.pid(), null,
                valid.policy(), steady.instant().plus(deadline), c.taskId(), c.resolved()));
        dev.netfence.core.EnforcementTarget target = result.target();
        if (target == null || !applied(result) && !result.quarantined()
                || target.netnsInode() == c.netns().inode() && target.netnsDevice() == c.netns().device()) {
            return false;
        }
        // the new namespace's bind path, where the runtime keeps the old one's, so that a later restart is told too
        String path = bindPathOf(new dev.netfence.netns.NamespaceId(target.netnsDevice(), target.netnsInode()),
                Path.of(c.netnsPath()).getParent());
        LiveContainer there = new LiveContainer(c.containerId(), c.taskId(), c.nodeId(), c.runtime(), c.pid(),
                c.netns(), path, c.policyDigest(), c.errorCode(), c.quarantined(), c.backend(), c.resolved(),
                c.lastVerified(), c.startedAt(), c.reported());
        moves.back(c.containerId());
        records.after(there, result, digests.of(c.taskId(), valid.policy()), trigger, true);
        enforcer.released(c.netns());
        enforcer.left(c.containerId(), c.netns());
        onRelease.accept(c); // a pod's other members write the host side again, as after any member leaves
        return true;
    }

    /** The entry of {@code dir} that leads to {@code ns} (the runtime's bind mount of it), or null. */
    static String bindPathOf(dev.netfence.netns.NamespaceId ns, Path dir) {
        if (dir == null) {
            return null;
        }
        try (java.nio.file.DirectoryStream<Path> entries = java.nio.file.Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                try {
                    if (dev.netfence.netns.NamespaceId.of(entry).equals(ns)) {
                        return entry.toString();
                    }
                } catch (java.io.IOException notOne) {
                    // gone meanwhile, or not a namespace: the next
                }
            }
        } catch (java.io.IOException | java.nio.file.DirectoryIteratorException e) {
            LOG.info("the runtime's namespace paths in {} could not be listed: {}", dir, e.toString());
        }
        return null;
    }

    /** Whether {@code c} recorded a runtime's bind path of its namespace that no longer leads there. */
    private static boolean runtimePathGone(LiveContainer c) {
        Path path = c.netnsPath() == null ? null : Path.of(c.netnsPath());
        if (!dev.netfence.netns.NamespacePinner.isRuntimeBind(path)) {
            return false;
        }
        try {
            return !dev.netfence.netns.NamespaceId.of(path).equals(c.netns());
        } catch (java.nio.file.NoSuchFileException gone) {
            return true;
        } catch (java.io.IOException unknown) {
            return false; // cannot tell: not taken for a restart
        }
    }
}
