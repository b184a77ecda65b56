package dev.netfence.kafka;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import java.nio.file.Path;

/**
 * What to do with a container whose task has no usable policy (POLICY_NOT_FOUND,
 * INVALID_POLICY): in production the enforcer's fail-closed path, which quarantines the
 * namespace unless {@code --on-failure leave}; returns the failed result to publish.
 */
@FunctionalInterface
public interface PolicyFailureHandler {
    /** @param netns the event's {@code netns} (the container's namespace as the runtime names it), or null */
    EnforcementResult failClosed(String containerId, String runtime, Integer pid, Path netns, ErrorCode code,
            String message);

    /** Touches nothing and reports the failure: for tests and for enforcers without a quarantine. */
    PolicyFailureHandler REPORT_ONLY = (containerId, runtime, pid, netns, code, message) ->
            EnforcementResult.failed(code, message);
}
