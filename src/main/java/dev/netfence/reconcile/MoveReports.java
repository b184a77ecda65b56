package dev.netfence.reconcile;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.core.ErrorCode;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.event.Trigger;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@link Corrections} does with a live container whose workload moved its recorded pid out
 * of its namespace while the pid stays a process of the container ({@link MovedPids}), or made
 * the enforcer refuse its namespace while the pid stays in it: keep it, mark it not in force once,
 * and say so once. Apart from Corrections because these are decisions with their own wording and
 * metric, taken from several of its paths (a check, a replayed start, an unreachable enforcer).
 * Callers hold the container's lock.
 */
final class MoveReports {
    /** Corrections' category, as before this class was split from it (operators' log settings name it). */
    private static final Logger LOG = LoggerFactory.getLogger(Corrections.class);

    private final LiveSet live;
    private final MovedPids moves;
    private final Outcomes outcomes;
    private final MeterRegistry registry;
    private final Consumer<Outcome> publisher;
    /** Whether a container's state is to be said anew: its last outcome did not get out ({@link OutcomeMarks#sayAgain}). */
    private final java.util.function.Predicate<LiveContainer> sayAgain;

    MoveReports(LiveSet live, MovedPids moves, Outcomes outcomes, MeterRegistry registry, Consumer<Outcome> publisher,
            java.util.function.Predicate<LiveContainer> sayAgain) {
        this.live = Objects.requireNonNull(live, "live");
        this.moves = Objects.requireNonNull(moves, "moves");
        this.outcomes = Objects.requireNonNull(outcomes, "outcomes");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.publisher = Objects.requireNonNull(publisher, "publisher");
        this.sayAgain = Objects.requireNonNull(sayAgain, "sayAgain");
    }

    /**
     * The enforcer refused a container ({@code NAMESPACE_MISMATCH}: say its namespace has only
     * {@code lo} left, its {@code eth0} moved away by a workload with CAP_NET_ADMIN) whose recorded
     * pid is still in its recorded namespace and still a process of the container: the workload's
     * doing, not a departure. A release removed its host guard (a closed chain included) and left
     * the moved interface open for good. Kept instead, host guard and all, recorded as not in force,
     * reported {@code failed} when that changes, and retried at every resync. A hook fence keeps
     * its own entry (its read-back only verifies it).
     */
    void refusedInPlace(LiveContainer c, Trigger trigger, EnforcementResult result, java.time.Instant now) {
        if (c.taskId() == null) {
            LOG.debug("container {} (fenced by the hook): {}; kept", c.containerId(), result.error().message());
            return;
        }
        LiveContainer next = new LiveContainer(c.containerId(), c.taskId(), c.nodeId(), c.runtime(), c.pid(),
                c.netns(), c.netnsPath(), c.policyDigest(), result.error().code(), c.quarantined(), c.backend(),
                c.resolved(), now, c.startedAt(), c.reported(), c.outcomeUnacknowledged()); // guards: kept, as the state is
        if (!next.sameState(c) || sayAgain.test(c)) {
            LOG.warn("container {} of task {}: {} ({}); kept, host guard and all, and retried at each resync",
                    c.containerId(), c.taskId(), result.error().message(), result.error().code());
            live.put(next.unacknowledged(true)); // journaled so before the outcome is sent (OutcomeMarks)
            publisher.accept(outcomes.reconciled(c.containerId(), c.taskId(), c.nodeId(), result, trigger));
        } else {
            live.put(next);
        }
    }

    /**
     * A container whose recorded pid moved out of its namespace (or could not be pinned there)
     * while the pid is still a process of the container is kept, not released: its rules stay in
     * its namespace and its host guard stays on its veth (a release would remove the guard, which
     * a workload could then have on purpose by moving its pid). Nothing can be read back,
     * repaired or changed through a pid that is elsewhere, policy updates included, so the first
     * time it is seen the entry is marked not in force (NAMESPACE_MISMATCH), a {@code failed}
     * outcome says so when {@code publish} (a container with a task), and the resyncs pass it by
     * until the pid is back (then the policy is applied again and the recovery reported), the
     * container stops, or the pid goes. Warned and counted in {@code netfence.reconcile.pid.moved}
     * once per move (and once more after a restart of netfence, which reports nothing new for an
     * entry already marked). Only a pid really out of its namespace counts as moved: a pid still in
     * it that the enforcer refuses is kept and retried ({@link #refusedInPlace}), or
     * released when its cgroup does not name the container.
     */
    void moved(LiveContainer c, Trigger trigger, boolean publish) {
        if (!moves.away(c.containerId())) {
            return;
        }
        // recorded before (e.g. before a restart of netfence): counted and logged, not reported again
        boolean known = ErrorCode.NAMESPACE_MISMATCH.code().equals(c.errorCode()) && live.get(c.containerId())
                .map(c::sameState).orElse(false);
        registry.counter("netfence.reconcile.pid.moved").increment();
        String message = "process " + c.pid() + " left network namespace inode " + c.netns().inode() + " but is"
                + " still a process of the container: its rules and host guard are kept, but cannot be read back,"
                + " repaired or changed (policy updates included) until the pid is back there or the container goes";
        LOG.warn("container {} of task {}: {}", c.containerId(), c.taskId(), message);
        if (c.taskId() == null) {
            return; // a hook fence: no task to report for, and its fence is re-asserted once the pid is back
        }
        if (known && !(publish && sayAgain.test(c))) {
            return; // reported before: not again, unless that outcome did not get out (OutcomeMarks)
        }
        live.put(new LiveContainer(c.containerId(), c.taskId(), c.nodeId(), c.runtime(), c.pid(), c.netns(),
                c.netnsPath(), c.policyDigest(), ErrorCode.NAMESPACE_MISMATCH.code(), c.quarantined(), c.backend(),
                c.resolved(), c.lastVerified(), c.startedAt(), c.reported(), publish || c.outcomeUnacknowledged()));
        if (publish) {
            publisher.accept(outcomes.reconciled(c.containerId(), c.taskId(), c.nodeId(),
                    EnforcementResult.failure(ErrorCode.NAMESPACE_MISMATCH, message).policyDigest(c.policyDigest())
                            .quarantined(c.quarantined()).backend(c.backend())
                            .target(new EnforcementTarget(c.pid(), c.netns().device(), c.netns().inode())).build(),
                    trigger));
        }
    }
}
