package dev.netfence.kafka;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.Enforcer;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.policy.store.PolicyStore;
import dev.netfence.policy.store.StoredPolicy;
import dev.netfence.reconcile.ContainerLifecycle;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The work for one valid event, run on a worker thread: find the task's policy (parking the
 * event, without a thread, a bounded time for one that is not there yet), hand it to the {@link Enforcer} with the event's
 * deadline, and turn whatever happened into an {@link Outcome}. A missing or invalid policy goes
 * to the fail-closed handler instead; an enforcer that throws anything, an Error included (a
 * bug), yields an INTERNAL_ERROR failed outcome through the fail-closed handler (quarantine), so
 * every event still gets one. Not so a worker interrupted by the workers' shutdown (a container
 * lock waited for, say), nor any failure once they are shut down: that work is abandoned
 * ({@link AbandonedWork}), the event's stage fails, nothing is quarantined and its record is
 * redelivered. Thread-safe.
 */
final class EventHandler {
    private static final Logger LOG = LoggerFactory.getLogger(EventHandler.class);

    private final PolicyStore policies;
    private final Enforcer enforcer;
    private final PolicyFailureHandler failClosed;
    private final Outcomes outcomes;
    /** The timeline of the events' deadlines, the enforcer's (steady in netfence). */
    private final Clock deadlines;
    private final Duration policyWait;
    private final Duration deadline;
    private final ContainerLifecycle lifecycle;
    /** The workers are shut down: the pipeline stopped, and no outcome could be sent any more. */
    private final BooleanSupplier stopped;

    EventHandler(PolicyStore policies, Enforcer enforcer, PolicyFailureHandler failClosed, Outcomes outcomes,
                 Clock deadlines, Duration policyWait, Duration deadline, ContainerLifecycle lifecycle) {
        this(policies, enforcer, failClosed, outcomes, deadlines, policyWait, deadline, lifecycle, () -> false);
    }

    /** {@code stopped}: the workers are shut down (a failure from then on abandons the event's work). */
    EventHandler(PolicyStore policies, Enforcer enforcer, PolicyFailureHandler failClosed, Outcomes outcomes,
                 Clock deadlines, Duration policyWait, Duration deadline, ContainerLifecycle lifecycle,
                 BooleanSupplier stopped) {
        this.stopped = stopped;
        this.lifecycle = lifecycle;
        this.policies = policies;
        this.enforcer = enforcer;
        this.failClosed = failClosed;
        this.outcomes = outcomes;
        this.deadlines = deadlines;
        this.policyWait = policyWait;
        this.deadline = deadline;
    }

    /**
     * The event's outcome: at once (on the calling worker) when its policy is stored; otherwise the
     * event parks, holding no thread, until the policy is written or the policy wait passes, and
     * is then finished on {@code workers}. The deadline counts from now, the wait included. The
     * stage fails with {@link AbandonedWork} when the pipeline's stop abandoned the work.
     */
    CompletableFuture<Outcome> handle(ContainerEvent event, boolean replay, Executor workers) {
        return handle(event, replay, workers, () -> true);
    }

    /**
     * As {@link #handle(ContainerEvent, boolean, Executor)}, while {@code ours} says the event's
     * partition is still this instance's: a parked event whose partition went meanwhile completes
     * with null, having done nothing (its new owner does it).
     */
    CompletableFuture<Outcome> handle(ContainerEvent event, boolean replay, Executor workers, BooleanSupplier ours) {
        if (event.stopped()) { // release (live set, host guard): a removed outcome
            Optional<String> kept;
            try {
                kept = lifecycle.stopped(event);
            } catch (Throwable e) { // not released as far as netfence knows: failed, never removed (nothing to quarantine)
                if (AbandonedWork.abandons(e, stopped.getAsBoolean())) {
                    return CompletableFuture.failedFuture(abandoned(event, e));
                }
                LOG.error("releasing container {} failed unexpectedly", event.containerId(), e);
                return CompletableFuture.completedFuture(outcomes.of(event, PolicyFailureHandler.REPORT_ONLY.failClosed(
                        event.containerId(), event.runtime(), event.pid(), null, ErrorCode.INTERNAL_ERROR,
                        "releasing the container failed unexpectedly: " + e.getClass().getName() + ": " + e.getMessage()),
                        replay));
            }
            return CompletableFuture.completedFuture(kept.isEmpty() ? outcomes.removed(event, replay)
                    : outcomes.of(event, EnforcementResult.skip(ErrorCode.CONTAINER_NOT_FOUND, kept.get()).build(),
                            replay));
        }
        Instant due = deadlines.instant().plus(deadline);
        Optional<StoredPolicy> stored;
        try {
            stored = policies.lookup(event.taskId());
        } catch (Throwable e) {
            if (AbandonedWork.abandons(e, stopped.getAsBoolean())) {
                return CompletableFuture.failedFuture(abandoned(event, e));
            }
            return CompletableFuture.completedFuture(unexpected(event, replay, e));
        }
        if (stored.isPresent()) {
            try {
                return CompletableFuture.completedFuture(decide(event, stored, due, replay));
            } catch (AbandonedWork e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        return policies.whenAvailable(event.taskId(), policyWait)
                .thenApplyAsync(found -> ours.getAsBoolean() ? decide(event, found, due, replay) : null, workers);
    }

    /** The outcome of the container's event may be sent ({@link ContainerLifecycle#reportable}). */
    CompletableFuture<Void> reportable(String containerId, String eventId) {
        return lifecycle.reportable(containerId, eventId);
    }

    /** What the event recorded of its container is journaled ({@link ContainerLifecycle#journaled}). */
    CompletableFuture<Void> journaled(String containerId) {
        return lifecycle.journaled(containerId);
    }

    /**
     * Worker: enforce with the policy found, or fail closed without one, through the reconciler's
     * lifecycle; throws {@link AbandonedWork} when the pipeline's stop interrupted it.
     */
    private Outcome decide(ContainerEvent event, Optional<StoredPolicy> stored, Instant due, boolean replay) {
        EnforcementResult result;
        try {
            // a stale start (replayed, reordered) is skipped under the lock: no runtime to ask for it
            RuntimePid pid = lifecycle.staleStart(event) ? new RuntimePid(null, null) : RuntimePid.of(event, enforcer, due);
            if (pid.failure() != null && AbandonedWork.abandons(pid.failure(), stopped.getAsBoolean())) {
                throw pid.failure();
            }
            result = lifecycle.started(event, () -> pid.failure() != null ? pid.result(stored)
                    : enforce(event, pid.pid(), stored, due));
        } catch (Throwable e) { // the event boundary: even an Error gets an outcome (and the container its quarantine)
            if (AbandonedWork.abandons(e, stopped.getAsBoolean())) { // not a failure: the stop took the worker
                throw abandoned(event, e);
            }
            return unexpected(event, replay, e);
        }
        return outcomes.of(event, result, replay);
    }

    /** {@code pid}: the event's, or the one its runtime reported ({@link RuntimePid}); null when neither is known. */
    private EnforcementResult enforce(ContainerEvent event, Integer pid, Optional<StoredPolicy> stored, Instant due) {
        if (stored.isEmpty()) {
            return failClosed(event, pid, ErrorCode.POLICY_NOT_FOUND,
                    "no policy for task " + event.taskId() + " after waiting " + policyWait.toMillis() + " ms");
        }
        if (stored.get() instanceof StoredPolicy.Invalid invalid) {
            return failClosed(event, pid, ErrorCode.INVALID_POLICY,
                    "policy of task " + event.taskId() + " is invalid: " + String.join("; ", invalid.reasons()));
        }
        StoredPolicy.Valid valid = (StoredPolicy.Valid) stored.get();
        return enforcer.enforce(new EnforcementRequest(event.containerId(), event.runtime(), pid, netns(event),
                valid.policy(), due, event.taskId()));
    }

    /**
     * The stop abandoned the event's work: no quarantine, no outcome, the record left uncommitted.
     * The worker's interrupt, which catching an {@link InterruptedException} cleared, is set again.
     */
    private AbandonedWork abandoned(ContainerEvent event, Throwable e) {
        if (AbandonedWork.interruption(e)) {
            Thread.currentThread().interrupt();
        }
        LOG.warn("event {} of container {} abandoned: the pipeline stops ({}); nothing quarantined, no outcome, its "
                + "record stays uncommitted and is redelivered", event.eventId(), event.containerId(), e.toString());
        return new AbandonedWork("event " + event.eventId() + " of container " + event.containerId()
                + " abandoned: the pipeline stops", e);
    }

    private Outcome unexpected(ContainerEvent event, boolean replay, Throwable e) {
        LOG.error("enforcing event {} of container {} failed unexpectedly", event.eventId(), event.containerId(), e);
        return outcomes.of(event, failClosed(event, ErrorCode.INTERNAL_ERROR, "unexpected " + e.getClass().getName()
                + ": " + e.getMessage()), replay);
    }

    private EnforcementResult failClosed(ContainerEvent event, ErrorCode code, String message) {
        return failClosed(event, event.pid(), code, message);
    }

    private EnforcementResult failClosed(ContainerEvent event, Integer pid, ErrorCode code, String message) {
        try {
            return failClosed.failClosed(event.containerId(), event.runtime(), pid, netns(event), code, message);
        } catch (Throwable e) {
            LOG.error("fail-closed handling of container {} failed", event.containerId(), e);
            return PolicyFailureHandler.REPORT_ONLY.failClosed(event.containerId(), event.runtime(), event.pid(), null,
                    code, message + " (fail-closed handling failed: " + e + ")");
        }
    }

    private static Path netns(ContainerEvent event) {
        return event.netns() == null ? null : Path.of(event.netns());
    }
}
