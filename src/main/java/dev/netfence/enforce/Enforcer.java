package dev.netfence.enforce;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import java.nio.file.Path;
/**
 * Applies one sandbox policy to one container's network namespace, end to end: resolve and
 * guard the namespace, render, apply atomically for both families, read back, verify, retry
 * transient failures, quarantine on failure. Never throws for an expected failure: every
 * result, good or bad, comes back as an {@link EnforcementResult} so the caller can publish it.
 * Implementations are thread-safe; callers serialise requests for the same container.
 */
public interface Enforcer {
    EnforcementResult enforce(EnforcementRequest request);

    /**
     * For the reconciler: reads back what is in force in the container's namespace, compares it
     * with the plan of {@code request}'s policy (hostnames resolved afresh) and, when they differ,
     * rewrites it atomically as {@link #enforce} does; {@link EnforcementResult#drift()} says what
     * differed (null: nothing, and nothing was written). By default it simply re-applies.
     */
    default EnforcementResult reconcile(EnforcementRequest request) {
        return enforce(request);
    }

    /**
     * {@link #reconcile(EnforcementRequest)} for a container whose pid the caller has just found
     * in network namespace {@code recorded} (the one it was enforced in); an implementation may
     * use that to answer from what it verified before when nothing can have changed. By default
     * the same as {@link #reconcile(EnforcementRequest)}.
     */
    default EnforcementResult reconcile(EnforcementRequest request, dev.netfence.netns.NamespaceId recorded) {
        return reconcile(request);
    }

    /**
     * Quarantines a container for which there is no usable policy (POLICY_NOT_FOUND,
     * INVALID_POLICY), honouring {@code on-failure}, and returns the failed result to publish. By
     * default nothing is touched.
     */
    default EnforcementResult failClosed(String containerId, String runtime, Integer pid, Path netns, ErrorCode code,
            String message) {
        return EnforcementResult.failed(code, message);
    }

    /**
     * For the reconciler: reads back the quarantine of a container quarantined before (no usable
     * policy, or the OCI hook's fence) and rewrites it, whatever {@code on-failure} says, only when
     * the read-back differs; {@link EnforcementResult#drift()} says what differed (null: nothing,
     * and nothing was written). The result is {@code failed} with {@code code} and
     * {@code quarantined} true when the quarantine holds. By default it quarantines again.
     */
    default EnforcementResult recheckQuarantine(String containerId, String runtime, int pid, Path netns,
            ErrorCode code, String message) {
        return failClosed(containerId, runtime, pid, netns, code, message);
    }

    /**
     * {@link #recheckQuarantine(String, String, int, Path, ErrorCode, String)}; with
     * {@code ownFailure} (no usable policy, not the hook's fence) the container is the namespace's
     * quarantined member, as when its quarantine was first written. By default the same.
     */
    default EnforcementResult recheckQuarantine(String containerId, String runtime, int pid, Path netns,
            ErrorCode code, String message, boolean ownFailure) {
        return recheckQuarantine(containerId, runtime, pid, netns, code, message);
    }

    /**
     * A resync of {@code containerId} (process {@code pid}), which the OCI hook fenced or let join
     * {@code netns} without an event of its own, or a member of a shared {@code netns} restored
     * from the journal at start: the enforcer reads what it needs of it for the other members'
     * outcomes and checks (its risks, whether it can get past their shared host side). By default
     * nothing.
     */
    default void joined(String containerId, int pid, dev.netfence.netns.NamespaceId netns) {
    }

    /**
     * {@code containerId} left namespace {@code netns} for good (stopped, or released as gone): it
     * no longer owns it nor keeps it quarantined. By default nothing is kept.
     */
    default void left(String containerId, dev.netfence.netns.NamespaceId netns) {
    }

    /**
     * After a restart: {@code containerId} of task {@code taskId} (through {@code pid}) owned
     * namespace {@code netns} with the policy of digest {@code policyDigest}, so that another
     * container sharing that namespace with a different policy (of another task) is still refused
     * with NAMESPACE_SHARED. By default nothing is recorded.
     */
    default void restoreNamespaceOwner(String containerId, String taskId, int pid,
            dev.netfence.netns.NamespaceId netns, String policyDigest) {
    }

    /**
     * After a restart: {@code containerId} (through {@code pid}) was quarantined in namespace
     * {@code netns} for its own failure {@code code}, so that no other container's policy is
     * written over that quarantine (NAMESPACE_QUARANTINED) while it lives. By default nothing is
     * recorded.
     */
    default void restoreQuarantined(String containerId, int pid, dev.netfence.netns.NamespaceId netns, String code) {
    }

    /**
     * Whether another live container's policy is in force in namespace {@code netns} and no
     * member there is quarantined for its own failure: then a container fenced by the OCI hook in
     * that namespace (a pod's infra container, which never gets an event) is governed by that
     * policy, and its fence is not written over it. An owner whose own process has left the
     * namespace and whose container a scan of {@code /proc} could not find there in its budget
     * does not count: the namespace may be a new one with its freed inode. By default false.
     */
    default boolean enforcedForAnother(dev.netfence.netns.NamespaceId netns, String containerId) {
        return false;
    }

    /**
     * The container that owned namespace {@code netns} was released: whatever the enforcer
     * remembers of that namespace for later read-backs is dropped. By default nothing is kept.
     */
    default void released(dev.netfence.netns.NamespaceId netns) {
    }

    /**
     * The pid of a container whose start event carries none, as its runtime reports it
     * ({@link dev.netfence.netns.ContainerPidLookup#pidOf}), asked before the container's lock is
     * taken: the runtime may be holding the container while netfence's own OCI hook waits for that
     * lock. Null when this enforcer asks no runtime (the apply then finds the process its own way).
     * EnforcementException when the runtime cannot say (TIMEOUT, CONTAINER_NOT_FOUND, ...).
     */
    default Integer runtimePid(String containerId, String runtime, java.time.Instant deadline) {
        return null;
    }

    /**
     * The OCI hook's fence: quarantines {@code pid}'s namespace (loopback only) whatever
     * {@code on-failure} says, for a container whose event has not been processed yet; the result
     * is {@code failed} / POLICY_NOT_FOUND with {@code quarantined} true when the fence holds.
     */
    default EnforcementResult fence(String containerId, String runtime, int pid) {
        return EnforcementResult.failed(ErrorCode.FIREWALL_UNAVAILABLE, getClass().getSimpleName() + " cannot fence");
    }
}
