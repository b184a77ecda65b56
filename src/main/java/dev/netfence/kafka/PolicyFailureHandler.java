package dev.netfence.kafka;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;

/**
 * What to do with a container whose task has no usable policy (POLICY_NOT_FOUND,
 * INVALID_POLICY): in production the enforcer's fail-closed path, which quarantines the
 * namespace unless {@code --on-failure leave}; returns the failed result to publish.
 */
@FunctionalInterface
public interface PolicyFailureHandler {
    EnforcementResult failClosed(String containerId, String runtime, Integer pid, ErrorCode code, String message);

    /** Touches nothing and reports the failure: for tests and for enforcers without a quarantine. */
    PolicyFailureHandler REPORT_ONLY = (containerId, runtime, pid, code, message) ->
            EnforcementResult.failed(code, message);
}
