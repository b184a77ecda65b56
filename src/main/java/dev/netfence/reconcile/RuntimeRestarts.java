package dev.netfence.reconcile;

import static dev.netfence.reconcile.ResultReads.applied;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.Enforcer;
import dev.netfence.event.Trigger;
import dev.netfence.policy.NetworkPolicy;
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
 * the recorded namespace, which only the runtime removes. The namespace it runs in now is one the
 * runtime made, found the same way: a namespace with a bind path in the directory that held the old
 * one's; a workload that lets the runtime restart it can also make a namespace of its own (a new
 * user namespace owns it, and it can give it an interface) with a process of the container in it,
 * the one the entry may follow, and must not get the policy written there while its runtime's
 * namespace stays open. Its own class so that the corrections keep to deciding what to look at.
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
     * task's policy is applied, as at a start, in the namespace of the container's process that has
     * a bind path in the same directory (with that path, so the enforcer checks the process is in
     * it), and the entry follows it there; true when that was recorded. False (the caller takes the
     * container for a moved pid, as before, and this is tried again at each resync while so): no
     * runtime's path recorded or it still leads to the namespace (a pid the workload moved, which
     * can also let a process the entry followed exit: no reason to leave the namespace it left), no
     * process of the container in a namespace with a runtime's path (one the workload made, whose
     * process the entry may follow: the runtime's new namespace, when there is one, has none of its
     * processes yet, or the look ran out of time), a fence without a task, or an enforcement that
     * recorded nothing there. A task with no usable policy now (deleted, or invalid) gets the
     * quarantine there instead, as at a start (before, it was taken for a moved pid and the
     * runtime's new namespace stayed open, helper 182 #3); with {@code --on-failure leave}, or a
     * quarantine that could not be written, that failure is recorded there, not quarantined.
     * Before, every such container was taken for a moved pid for good (NAMESPACE_MISMATCH, "its
     * rules and host guard are kept", in a namespace that was gone) and its new namespace never
     * got its policy.
     */
    boolean restarted(LiveContainer c, Trigger trigger) {
        if (c.taskId() == null || !runtimePathGone(c)) {
            return false;
        }
        Optional<StoredPolicy> stored = policies.lookup(c.taskId());
        NetworkPolicy policy = stored.isPresent() && stored.get() instanceof StoredPolicy.Valid valid ? valid.policy()
                : null;
        Path dir = Path.of(c.netnsPath()).getParent();
        Optional<java.util.Map.Entry<Integer, String>> bound = moves.inBoundNamespace(c, () -> dev.netfence.netns.BindPaths.in(dir));
        if (bound.isEmpty()) {
            LOG.warn("container {}: the runtime's path {} of its namespace inode {} is gone, and no process of it runs in"
                    + " a namespace with a path in {} (its process {} is in one its runtime did not make): not taken for"
                    + " a restart; looked at again at the next resync", c.containerId(), c.netnsPath(), c.netns().inode(),
                    dir, c.pid());
            return false;
        }
        int pid = bound.get().getKey();
        String path = bound.get().getValue(); // where the runtime keeps the new namespace's: a later restart is told too
        LOG.warn("container {}: the runtime's path {} of its namespace inode {} is gone and its process {} runs in the"
                + " namespace of {}: taken for a restart by its runtime; its task's policy is applied there as at a start"
                + " (quarantined without one)",
                c.containerId(), c.netnsPath(), c.netns().inode(), pid, path);
        // no usable policy (deleted, or invalid now): quarantined there, as at a start
        EnforcementResult result = policy != null ? enforcer.enforce(new EnforcementRequest(c.containerId(), c.runtime(),
                pid, Path.of(path), policy, steady.instant().plus(deadline), c.taskId(), c.resolved()))
                : stored.isEmpty() ? enforcer.failClosed(c.containerId(), c.runtime(), pid, Path.of(path),
                ErrorCode.POLICY_NOT_FOUND, "the policy of task " + c.taskId() + " was deleted")
                : enforcer.failClosed(c.containerId(), c.runtime(), pid, Path.of(path), ErrorCode.INVALID_POLICY,
                "the policy of task " + c.taskId() + " is invalid: "
                + String.join("; ", ((StoredPolicy.Invalid) stored.get()).reasons()));
        dev.netfence.core.EnforcementTarget target = result.target();
        // a failure with no usable policy that wrote nothing (on-failure leave, or a quarantine that could not be
        // written) but found the runtime's namespace: recorded there, failed and not quarantined, which is what is true
        // there, and tried again at each resync as any such container (helper 185 #6: it was taken for a moved pid,
        // its outcome saying the rules were kept in a namespace that was gone, and looked at as a restart every resync)
        boolean leftUnwritten = policy == null && target != null;
        if (!applied(result) && !result.quarantined() && !leftUnwritten) {
            return false;
        }
        // the namespace written: the apply's, or, for a quarantine through the path (the pid was not in it, a
        // socket of the container was), the path's
        dev.netfence.netns.NamespaceId now = target != null
                ? new dev.netfence.netns.NamespaceId(target.netnsDevice(), target.netnsInode()) : namespaceAt(path);
        if (now == null) {
            return false;
        }
        // the kernel may have given the new namespace the old one's number: then what the apply just set up for it
        // is not the old namespace's to let go
        boolean reused = now.equals(c.netns());
        // the runtime's path of the namespace written (a quarantine may have gone to the one the pid is in, helper 186 #4)
        String recordedPath = now.equals(namespaceAt(path)) ? path
                : dev.netfence.netns.BindPaths.of(now, dir).orElse(null);
        LiveContainer there = new LiveContainer(c.containerId(), c.taskId(), c.nodeId(), c.runtime(), pid,
                now, recordedPath, c.policyDigest(), c.errorCode(), c.quarantined(), c.backend(), c.resolved(),
                c.lastVerified(), c.startedAt(), c.reported());
        moves.back(c.containerId());
        // a quarantine of the runtime's namespace, its pid elsewhere: recorded there as any quarantine (no digest)
        records.record(there, result, applied(result) ? digests.of(c.taskId(), policy) : null, trigger, true);
        if (!reused) {
            enforcer.released(c.netns());
            enforcer.left(c.containerId(), c.netns());
        }
        onRelease.accept(c); // a pod's other members write the host side again, as after any member leaves
        return true;
    }

    /** The namespace {@code path} leads to, or null when that cannot be read. */
    private static dev.netfence.netns.NamespaceId namespaceAt(String path) {
        try {
            return dev.netfence.netns.NamespaceId.of(Path.of(path));
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /** Whether {@code c} recorded a runtime's bind path of its namespace that no longer leads there. */
    static boolean runtimePathGone(LiveContainer c) {
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
