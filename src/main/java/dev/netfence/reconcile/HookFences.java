package dev.netfence.reconcile;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.Enforcer;
import dev.netfence.netns.NamespaceId;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OCI hook's side of the reconciler ({@link Reconciler#fence}): decides, under the
 * container's lock, whether the namespace of a container about to run is fenced (quarantined,
 * loopback only, until its start event's policy replaces the fence), left alone (the very
 * instance already enforced, or a pod member whose namespace another member's policy governs),
 * and records the fence in the live set. Split from {@link Reconciler}, which hands it the
 * corrections it queues: the co-members of a container that moved away, and a restarted
 * container's own policy once its hook settled ({@link HookSettling}).
 */
final class HookFences {
    private static final Logger LOG = LoggerFactory.getLogger(HookFences.class);
    /** How long a fence waits for the container's lock: with the fence's own write, within the hook's 10 s for an answer. */
    static final java.time.Duration LOCK_WAIT = java.time.Duration.ofSeconds(3);

    private final LiveSet live;
    private final ContainerLocks locks;
    private final Corrections corrections;
    private final Enforcer enforcer;
    private final Clock clock;
    private final String nodeId;
    private final Consumer<LiveContainer> coMembers;
    private final Consumer<String> policyUpdate;
    /** Told of every hook call: the container's capabilities are not read until it settled. */
    private final HookSettling settling;
    /** Queues a drift check of a container (its rules read back and repaired). */
    private final Consumer<String> driftCheck;
    /** Whether this instance must write nothing: closed, or standing by for another instance of its node. */
    private final java.util.function.BooleanSupplier idle;
    /** The fences done again under the lock after a hook call could not wait for it; stopped by {@link #close}. */
    private final java.util.concurrent.ExecutorService later = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "netfence-fence-later");
        t.setDaemon(true);
        return t;
    });

    HookFences(LiveSet live, ContainerLocks locks, Corrections corrections, Enforcer enforcer, Clock clock, String nodeId,
            Consumer<LiveContainer> coMembers, Consumer<String> policyUpdate, HookSettling settling,
            Consumer<String> driftCheck, java.util.function.BooleanSupplier idle) {
        this.settling = Objects.requireNonNull(settling, "settling");
        this.driftCheck = Objects.requireNonNull(driftCheck, "driftCheck");
        this.idle = Objects.requireNonNull(idle, "idle");
        this.live = Objects.requireNonNull(live, "live");
        this.locks = Objects.requireNonNull(locks, "locks");
        this.corrections = Objects.requireNonNull(corrections, "corrections");
        this.enforcer = Objects.requireNonNull(enforcer, "enforcer");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
        this.coMembers = Objects.requireNonNull(coMembers, "coMembers");
        this.policyUpdate = Objects.requireNonNull(policyUpdate, "policyUpdate");
    }

    /**
     * Whether a live container's recorded pid is still in {@code netns}, so that namespace is the
     * recorded one: a restarted container's new namespace can be given a freed one's inode (the
     * iptables and nft-process backends keep nothing open in a namespace), rules or not.
     */
    private boolean witnessed(NamespaceId netns) {
        for (LiveContainer c : live.all()) {
            if (netns.equals(c.netns()) && corrections.recordedInstance(c, c.pid())) {
                return true;
            }
        }
        return false;
    }

    /**
     * See {@link Reconciler#fence}. The container's lock is waited for {@link #LOCK_WAIT} at most:
     * the runtime holds the container until the hook answers, and whatever holds the lock may be
     * waiting on the runtime (review 204: the pid lookup of an event without a pid did, until it
     * was moved before the lock). Past that the namespace is fenced without the lock, nothing
     * recorded (the same decision, read without the lock: a pod's member is not fenced over its
     * pod's policy), and the fence is done again under the lock on a thread of its own (then
     * recorded; or, where the policy is in force by then, written by what held the lock, perhaps
     * before this fence landed over it, a drift check queued, which reads the rules back and writes
     * the policy again: review 209); the hook gets its answer in time. Nothing of that is done once
     * this instance is closed or stands by.
     */
    EnforcementResult fence(String containerId, int pid, String runtime) {
        settling.hooked(containerId);
        ReentrantLock lock = locks.of(containerId);
        boolean locked;
        try {
            locked = lock.tryLock(LOCK_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return EnforcementResult.failed(ErrorCode.INTERNAL, "interrupted waiting for container " + containerId);
        }
        if (!locked) {
            LOG.warn("container {} pid {}: its lock was not free within {} ms (another action on it runs): fenced"
                    + " without it, and again under it once it is free", containerId, pid, LOCK_WAIT.toMillis());
            try {
                later.execute(() -> fenceLocked(containerId, pid, runtime));
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                return EnforcementResult.failed(ErrorCode.INTERNAL, "netfence is stopping");
            }
            return decide(containerId, pid, runtime, false);
        }
        try {
            return decide(containerId, pid, runtime, true);
        } finally {
            lock.unlock();
        }
    }

    /** The fence done again once the lock is free (after {@link #fence} could not wait for it). */
    private void fenceLocked(String containerId, int pid, String runtime) {
        ReentrantLock lock = locks.of(containerId);
        try {
            lock.lockInterruptibly();
        } catch (InterruptedException closing) {
            return;
        }
        try {
            if (idle.getAsBoolean()) {
                return; // closed, or another instance enforces the node now: what this one knows may be stale
            }
            EnforcementResult result = decide(containerId, pid, runtime, true);
            if (EnforcementResult.APPLIED.equals(result.status())
                    && live.get(containerId).map(LiveContainer::taskId).isPresent()) {
                driftCheck.accept(containerId); // its policy was in force: the unlocked fence may have landed over it
            }
        } catch (RuntimeException e) {
            LOG.error("container {} pid {}: the fence under its lock failed", containerId, pid, e);
        } finally {
            lock.unlock();
        }
    }

    /** Stops the fences waiting to be done again under their lock. */
    void close() {
        later.shutdownNow();
    }

    /** The hook's answer; {@code record}: under the container's lock, so the live set is written too. */
    private EnforcementResult decide(String containerId, int pid, String runtime, boolean record) {
        LiveContainer known = live.get(containerId).orElse(null);
        if (known != null && known.taskId() != null && (known.inForce() || known.quarantined()
                || enforcer.enforcedForAnother(known.netns(), containerId))
                && corrections.recordedInstance(known, pid)) {
            // in force, quarantined, or governed by another member's policy in force in its namespace (refused
            // NAMESPACE_SHARED, not quarantined by a confirmed owner's refusal: a fence would cut that member; the
            // hook's fence where no owner could be confirmed, already "quarantined"); one whose last apply failed
            // without a quarantine (--on-failure leave) is fenced below, as it would be had its hook come first
            return EnforcementResult.applied().policyDigest(known.policyDigest()).backend(known.backend()).build();
        }
        if (known != null && known.taskId() != null && corrections.inNamespaceOf(known, pid)
                && (known.inForce() && witnessed(known.netns()) || ErrorCode.NAMESPACE_SHARED.code()
                        .equals(known.errorCode()) && governedByAnother(known.netns(), containerId))) {
            // another pid in the namespace it enforces, or refused NAMESPACE_SHARED where another member's policy
            // is in force (its owner's pid checked by token): a pod's member started again in the pod's
            // namespace, whose other members a fence would cut
            if (record) {
                live.put(new LiveContainer(containerId, known.taskId(), known.nodeId(), known.runtime(), pid,
                        known.netns(), known.netnsPath(), known.policyDigest(), known.errorCode(), known.quarantined(),
                        known.backend(), known.resolved(), known.lastVerified(), null, known.reported(),
                        known.outcomeUnacknowledged()));
            }
            return EnforcementResult.applied().policyDigest(known.policyDigest()).backend(known.backend()).build();
        }
        NamespaceId joined = known == null ? corrections.namespaceOf(pid) : null;
        if (governedByAnother(joined, containerId)) {
            // a new member of a namespace another container's policy is in force in, or being applied in (a pod;
            // not where a member's apply failed without a quarantine, --on-failure leave: nothing there): that policy judges
            // whatever this one sends; a fence would cut every member until a resync (its event, refused
            // NAMESPACE_SHARED for another policy, changes nothing there)
            LOG.info("container {} pid {} joins namespace {}, enforced for another member: not fenced", containerId,
                    pid, joined);
            // recorded as a fenced container without a task (nothing written): a resync leaves it while another
            // member's policy governs the namespace and fences it once none does (the namespace may outlive that
            // member: --network ns:PATH, a pod namespace pinned apart from its containers)
            if (record) {
                live.put(new LiveContainer(containerId, null, nodeId, runtime, pid, joined, null, null,
                        ErrorCode.POLICY_NOT_FOUND.code(), true, null, Map.of(), clock.instant(), null));
            }
            return EnforcementResult.applied().build();
        }
        EnforcementResult result = enforcer.fence(containerId, runtime, pid);
        EnforcementTarget t = result.target();
        if (record && result.quarantined() && t != null) {
            NamespaceId ns = new NamespaceId(t.netnsDevice(), t.netnsInode());
            String taskId = known == null ? null : known.taskId();
            if (known != null && !known.netns().equals(ns)) {
                enforcer.released(known.netns());
                enforcer.left(containerId, known.netns());
                coMembers.accept(known);
            }
            corrections.stopped(containerId); // the instance before is gone; a move of this one is new
            // the runtime's path of the new namespace, found where the known one was kept (a restart: the runtime
            // binds the new namespace there before its hooks run), so that a later restart while netfence is down
            // is told from a move (RuntimeRestarts); the runtime the event named when the hook names none
            String path = known == null ? null : runtimePath(known, ns);
            String runtimeNow = runtime != null ? runtime : known == null ? null : known.runtime();
            live.put(new LiveContainer(containerId, taskId, nodeId, runtimeNow, t.pid(), ns, path, null,
                    ErrorCode.POLICY_NOT_FOUND.code(), true, result.backend(), Map.of(), clock.instant(), null));
            if (taskId != null) {
                policyUpdate.accept(containerId);
            }
        }
        return result;
    }

    /** A bind path of {@code ns} in the directory of {@code known}'s runtime path, or null. */
    private static String runtimePath(LiveContainer known, NamespaceId ns) {
        java.nio.file.Path recorded = known.netnsPath() == null ? null : java.nio.file.Path.of(known.netnsPath());
        if (!dev.netfence.netns.NamespacePinner.isRuntimeBind(recorded)) {
            return null;
        }
        return dev.netfence.netns.BindPaths.of(ns, recorded.getParent()).orElse(null);
    }

    /**
     * Whether namespace {@code ns} is governed by another container's policy: claimed by another
     * live owner, and either a member's policy is in force there or no member shows an apply that
     * failed without a quarantine (an owner's first apply under way; not one that failed with
     * {@code --on-failure leave}, which may have written nothing).
     */
    private boolean governedByAnother(NamespaceId ns, String containerId) {
        if (ns == null || !enforcer.enforcedForAnother(ns, containerId)) {
            return false;
        }
        boolean inForce = false;
        boolean failed = false;
        for (LiveContainer c : live.all()) {
            if (c.netns().equals(ns) && !c.containerId().equals(containerId)) {
                inForce |= c.inForce();
                failed |= !c.inForce() && !c.quarantined() && !ErrorCode.NAMESPACE_SHARED.code().equals(c.errorCode());
            }
        }
        return inForce || !failed;
    }
}
