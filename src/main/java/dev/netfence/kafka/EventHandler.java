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
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The work for one valid event, run on a worker thread: find the task's policy (waiting a
 * bounded time for one that is not there yet), hand it to the {@link Enforcer} with the event's
 * deadline, and turn whatever happened into an {@link Outcome}. A missing or invalid policy goes
 * to the fail-closed handler instead; an enforcer that throws anything, an Error included (a
 * bug), yields an INTERNAL_ERROR failed outcome through the fail-closed handler (quarantine), so
 * every event still gets one. Thread-safe.
 */
final class EventHandler {
    private static final Logger LOG = LoggerFactory.getLogger(EventHandler.class);

    private final PolicyStore policies;
    private final Enforcer enforcer;
    private final PolicyFailureHandler failClosed;
    private final Outcomes outcomes;
    private final Clock clock;
    private final Duration policyWait;
    private final Duration deadline;

    EventHandler(PolicyStore policies, Enforcer enforcer, PolicyFailureHandler failClosed, Outcomes outcomes,
                 Clock clock, Duration policyWait, Duration deadline) {
        this.policies = policies;
        this.enforcer = enforcer;
        this.failClosed = failClosed;
        this.outcomes = outcomes;
        this.clock = clock;
        this.policyWait = policyWait;
        this.deadline = deadline;
    }

    Outcome handle(ContainerEvent event, boolean replay) throws InterruptedException {
        Instant due = clock.instant().plus(deadline);
        EnforcementResult result;
        try {
            Optional<StoredPolicy> stored = policies.lookup(event.taskId());
            if (stored.isEmpty()) {
                stored = policies.await(event.taskId(), policyWait);
            }
            if (stored.isEmpty()) {
                result = failClosed(event, ErrorCode.POLICY_NOT_FOUND,
                        "no policy for task " + event.taskId() + " after waiting " + policyWait.toMillis() + " ms");
            } else if (stored.get() instanceof StoredPolicy.Invalid invalid) {
                result = failClosed(event, ErrorCode.INVALID_POLICY,
                        "policy of task " + event.taskId() + " is invalid: " + String.join("; ", invalid.reasons()));
            } else {
                StoredPolicy.Valid valid = (StoredPolicy.Valid) stored.get();
                result = enforcer.enforce(new EnforcementRequest(
                        event.containerId(), event.runtime(), event.pid(), netns(event), valid.policy(), due));
            }
        } catch (InterruptedException e) {
            throw e;
        } catch (Throwable e) { // the event boundary: even an Error gets an outcome (and the container its quarantine)
            LOG.error("enforcing event {} of container {} failed unexpectedly", event.eventId(), event.containerId(), e);
            result = failClosed(event, ErrorCode.INTERNAL_ERROR, "unexpected " + e.getClass().getName() + ": "
                    + e.getMessage());
        }
        return outcomes.of(event, result, replay);
    }

    private EnforcementResult failClosed(ContainerEvent event, ErrorCode code, String message) {
        try {
            return failClosed.failClosed(event.containerId(), event.runtime(), event.pid(), netns(event), code, message);
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
