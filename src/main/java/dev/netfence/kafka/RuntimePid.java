package dev.netfence.kafka;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.Enforcer;
import dev.netfence.event.ContainerEvent;
import dev.netfence.policy.PolicyDigest;
import dev.netfence.policy.store.StoredPolicy;
import java.time.Instant;
import java.util.Optional;

/**
 * The pid a start event is enforced through: the event's, or, for an event that carries none,
 * the one the container's runtime reports, asked by the event's worker before the reconciler
 * takes the container's lock. Asked under that lock (as before review 204), podman, which holds a
 * container while its {@code createRuntime} hooks run, and netfence's own hook, which waits for
 * that lock to fence the container, waited for each other until podman's answer timed out. A
 * lookup that fails becomes the event's result without an apply, there being no process to apply
 * through: {@code skipped} CONTAINER_NOT_FOUND when the runtime says the container is gone,
 * {@code failed} otherwise (TIMEOUT: the container was still being made, or the runtime did not
 * answer, at the event's deadline; it may run, which {@code skipped} would hide).
 *
 * @param pid the pid to enforce through; null when neither the event nor the enforcer knows one
 *     (the apply then finds the process its own way)
 * @param failure why the runtime could not say, or null
 */
record RuntimePid(Integer pid, EnforcementException failure) {

    static RuntimePid of(ContainerEvent event, Enforcer enforcer, Instant due) {
        if (event.pid() != null) {
            return new RuntimePid(event.pid(), null);
        }
        try {
            return new RuntimePid(enforcer.runtimePid(event.containerId(), event.runtime(), due), null);
        } catch (EnforcementException e) {
            return new RuntimePid(null, e);
        }
    }

    /** The event's result when the lookup failed: nothing was applied or quarantined. */
    EnforcementResult result(Optional<StoredPolicy> stored) {
        EnforcementResult.Builder result = failure.code() == ErrorCode.CONTAINER_NOT_FOUND
                ? EnforcementResult.skip(failure.code(), failure.getMessage())
                : EnforcementResult.failure(failure.code(), failure.getMessage());
        if (stored.isPresent() && stored.get() instanceof StoredPolicy.Valid valid) {
            result.policyDigest(PolicyDigest.of(valid.policy())).mode(valid.policy().mode().wire());
        }
        return result.attempts(1).build();
    }
}
