package dev.netfence.reconcile;

import dev.netfence.netns.NamespaceId;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One container netfence enforces on this node, as the live set and the enforcements topic hold
 * it: which task's policy governs it, where it is (the pid the namespace was pinned through and
 * that namespace's identity: the reconciler acts on the namespace only while that pid is still in
 * it), which policy was last decided for it and whether it is in force (no error), replaced by
 * the quarantine, or not known to be in force (failed without a quarantine), by which backend,
 * what its hostnames resolved to, what its last outcome said of its risks and guards, and when its
 * rules were last verified. Immutable.
 *
 * @param taskId null for a container fenced by the OCI hook whose event has not arrived yet
 * @param netnsPath the event's {@code netns} (the runtime's path of the namespace), or null
 * @param policyDigest digest of the task's policy at the last decision; null when it had none
 * @param errorCode null when the policy is in force; else why not (POLICY_NOT_FOUND, RULES_REJECTED...)
 * @param quarantined whether the quarantine (loopback only) is what is in force
 * @param backend the backend that wrote the rules (outcome {@code backend}), null if unknown
 * @param startedAt when this instance started by the clock of the events' emitter: its
 *     {@code container.started} event's {@code occurredAt}; null when no event told it (the OCI hook
 *     fenced it: netfence's own clock is not the emitter's, and the gap between a stop and the
 *     restart after it is often under a second; or an entry of an older version). A
 *     {@code container.stopped} without a pid that occurred no later, or any without a pid while
 *     this is null, does not release this instance while its pid is there (see {@link #startedAfter}).
 * @param reported what the last outcome published while its policy or its quarantine was in force
 *     said of it that can change while its rules stay as they are; null otherwise, and in entries
 *     of older versions (see {@link Reported})
 * @param outcomeUnacknowledged whether an outcome the reconciler published for this entry's state
 *     is not known to be on the outcomes topic: set with the state it reports, queued to the journal
 *     before the outcome is handed to the publisher, and cleared once every outcome of the container
 *     sent since is acknowledged ({@link OutcomeMarks}); a netfence that reads such an entry back
 *     publishes its state anew at the first correction that reads the container back
 */
public record LiveContainer(
        String containerId,
        String taskId,
        String nodeId,
        String runtime,
        int pid,
        NamespaceId netns,
        String netnsPath,
        String policyDigest,
        String errorCode,
        boolean quarantined,
        String backend,
        Map<String, List<String>> resolved,
        Instant lastVerified,
        Instant startedAt,
        Reported reported,
        boolean outcomeUnacknowledged) {

    /**
     * The risks (capabilities of the container's threads), the guards (netns, host) and the
     * warnings an {@code applied} outcome named, or the guards of a quarantine's outcome (risks and
     * warnings null: a quarantine's read-back does not read them): a resync that finds the rules as
     * they were can still find these changed (a thread given CAP_NET_ADMIN since, a pod member beside
     * it that can get past the host guard, a hostname that stopped resolving, whose last answers are
     * kept), and then publishes an outcome that says so ({@code Corrections}), so that no outcome
     * keeps claiming a guard that no longer holds, and the loss of a name's answers is seen. Warnings
     * null in an applied entry: an entry of an older version, which did not record them.
     */
    public record Reported(List<String> risks, List<String> guards, List<String> warnings) {
        public Reported {
            risks = risks == null ? null : List.copyOf(risks);
            guards = List.copyOf(guards);
            warnings = warnings == null ? null : List.copyOf(warnings);
        }

        /** With no warnings recorded (a quarantine's, or an entry of an older version). */
        public Reported(List<String> risks, List<String> guards) {
            this(risks, guards, null);
        }

        /** What an outcome of {@code result} says, when it is {@code applied} or a quarantine; else null. */
        static Reported of(dev.netfence.core.EnforcementResult result) {
            if (dev.netfence.core.EnforcementResult.APPLIED.equals(result.status())) {
                return new Reported(result.risks(), result.guards(), result.warnings());
            }
            return result.quarantined() ? new Reported(null, result.guards()) : null;
        }

        /** The same without its warnings, as an entry of an older version recorded it. */
        Reported withoutWarnings() {
            return new Reported(risks, guards);
        }
    }

    public LiveContainer {
        Objects.requireNonNull(containerId, "containerId");
        Objects.requireNonNull(netns, "netns");
        Objects.requireNonNull(lastVerified, "lastVerified");
        if (pid <= 1) {
            throw new IllegalArgumentException("pid must be > 1, was: " + pid);
        }
        resolved = resolved == null ? Map.of() : Map.copyOf(resolved);
    }

    /** An entry whose outcomes are all acknowledged (or that none reported). */
    public LiveContainer(String containerId, String taskId, String nodeId, String runtime, int pid, NamespaceId netns,
            String netnsPath, String policyDigest, String errorCode, boolean quarantined, String backend,
            Map<String, List<String>> resolved, Instant lastVerified, Instant startedAt, Reported reported) {
        this(containerId, taskId, nodeId, runtime, pid, netns, netnsPath, policyDigest, errorCode, quarantined, backend,
                resolved, lastVerified, startedAt, reported, false);
    }

    /** An entry whose start is not known, with nothing reported recorded. */
    public LiveContainer(String containerId, String taskId, String nodeId, String runtime, int pid, NamespaceId netns,
            String netnsPath, String policyDigest, String errorCode, boolean quarantined, String backend,
            Map<String, List<String>> resolved, Instant lastVerified) {
        this(containerId, taskId, nodeId, runtime, pid, netns, netnsPath, policyDigest, errorCode, quarantined, backend,
                resolved, lastVerified, null, null);
    }

    /** An entry with nothing reported recorded. */
    public LiveContainer(String containerId, String taskId, String nodeId, String runtime, int pid, NamespaceId netns,
            String netnsPath, String policyDigest, String errorCode, boolean quarantined, String backend,
            Map<String, List<String>> resolved, Instant lastVerified, Instant startedAt) {
        this(containerId, taskId, nodeId, runtime, pid, netns, netnsPath, policyDigest, errorCode, quarantined, backend,
                resolved, lastVerified, startedAt, null);
    }

    /** Whether the task's policy is what is in force (verified when it was written). */
    public boolean inForce() {
        return errorCode == null;
    }

    /** The same entry followed to {@code otherPid}, another process of the container in its namespace. */
    public LiveContainer through(int otherPid) {
        return new LiveContainer(containerId, taskId, nodeId, runtime, otherPid, netns, netnsPath, policyDigest,
                errorCode, quarantined, backend, resolved, lastVerified, startedAt, reported, outcomeUnacknowledged);
    }

    public LiveContainer verifiedAt(Instant at) {
        return new LiveContainer(containerId, taskId, nodeId, runtime, pid, netns, netnsPath, policyDigest, errorCode,
                quarantined, backend, resolved, at, startedAt, reported, outcomeUnacknowledged);
    }

    /** The same entry with {@code value} as what was reported. */
    LiveContainer reporting(Reported value) {
        return new LiveContainer(containerId, taskId, nodeId, runtime, pid, netns, netnsPath, policyDigest, errorCode,
                quarantined, backend, resolved, lastVerified, startedAt, value, outcomeUnacknowledged);
    }

    /** The same entry with {@code on} as its mark of an outcome not acknowledged ({@link #outcomeUnacknowledged}). */
    LiveContainer unacknowledged(boolean on) {
        return on == outcomeUnacknowledged ? this : new LiveContainer(containerId, taskId, nodeId, runtime, pid, netns,
                netnsPath, policyDigest, errorCode, quarantined, backend, resolved, lastVerified, startedAt, reported, on);
    }

    /**
     * Whether {@code stop} may be of an earlier instance under this id: it names another pid; or it
     * has none and occurred no later than this instance started, or this instance's start is not
     * known by the emitter's clock (then the caller keeps it while its pid is there, and a resync
     * releases it once the pid is gone).
     */
    public boolean startedAfter(dev.netfence.event.ContainerEvent stop) {
        return stop.pid() != null ? pid != stop.pid() : startedAt == null || !stop.occurredAt().isAfter(startedAt);
    }

    /**
     * Whether {@code start} is of an earlier instance under this id than this one: it names another
     * pid, or none, and occurred more than {@link LiveSet#CLOCK_SKEW} before this instance started
     * (a replayed or reordered start; enforced, it would put its policy on this instance, and its
     * older start time would make a stop of that earlier instance release this one).
     */
    public boolean startedBefore(dev.netfence.event.ContainerEvent start) {
        return startedAt != null && (start.pid() == null || start.pid() != pid)
                && start.occurredAt().isBefore(startedAt.minus(LiveSet.CLOCK_SKEW));
    }

    /** Why {@code stop}, for which {@link #startedAfter} holds, leaves this instance (its pid still there) enforced. */
    public String keptAgainst(dev.netfence.event.ContainerEvent stop) {
        return startedAt == null && stop.pid() == null
                ? "this stop (no pid, occurred " + stop.occurredAt() + ") may be of an earlier instance of container "
                        + containerId + ": pid " + pid + ", whose start no event told, is still in its namespace and"
                        + " stays enforced until a resync finds it gone"
                : "this stop (pid " + stop.pid() + ", occurred " + stop.occurredAt() + ") is of an earlier instance of"
                        + " container " + containerId + " than pid " + pid + " (started " + startedAt + "), which stays"
                        + " enforced";
    }

    /** The same entry but for the state the rules are in now (the last value written to the topic). */
    boolean sameState(LiveContainer other) {
        return other != null && containerId.equals(other.containerId) && Objects.equals(taskId, other.taskId)
                && Objects.equals(nodeId, other.nodeId) && Objects.equals(runtime, other.runtime) && pid == other.pid
                && netns.equals(other.netns) && Objects.equals(netnsPath, other.netnsPath)
                && Objects.equals(policyDigest, other.policyDigest)
                && Objects.equals(errorCode, other.errorCode) && quarantined == other.quarantined
                && Objects.equals(backend, other.backend)
                && resolved.equals(other.resolved) && Objects.equals(startedAt, other.startedAt)
                && Objects.equals(reported, other.reported) && outcomeUnacknowledged == other.outcomeUnacknowledged;
    }

    /**
     * Whether an outcome for this entry would say something other than the last one for
     * {@code before} did: its state differs, not counting a first record of what was reported
     * where {@code before} had none, or of the warnings where it had none of those (an entry of an
     * older version: what its outcome said is not known, so there is no difference to report), and
     * not counting the mark of an outcome not acknowledged (no outcome says it).
     */
    boolean reportsOtherThan(LiveContainer before) {
        if (before == null) {
            return true;
        }
        LiveContainer compared = before.reported == null ? reporting(null)
                : before.reported.warnings() == null && reported != null ? reporting(reported.withoutWarnings()) : this;
        return !compared.unacknowledged(before.outcomeUnacknowledged).sameState(before);
    }
}
