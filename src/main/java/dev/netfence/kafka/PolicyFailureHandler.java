package dev.netfence.kafka;

import dev.netfence.enforce.EnforcementResult;
import dev.netfence.enforce.ErrorCode;

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
            new EnforcementResult(EnforcementResult.FAILED, null, null, null, null, 0, null, null, false, 0,
                    EnforcementResult.ErrorInfo.of(code, message));
}
