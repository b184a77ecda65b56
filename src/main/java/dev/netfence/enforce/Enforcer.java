package dev.netfence.enforce;

import dev.netfence.core.EnforcementResult;
/**
 * Applies one sandbox policy to one container's network namespace, end to end: resolve and
 * guard the namespace, render, apply atomically for both families, read back, verify, retry
 * transient failures, quarantine on failure. Never throws for an expected failure: every
 * result, good or bad, comes back as an {@link EnforcementResult} so the caller can publish it.
 * Implementations are thread-safe; callers serialise requests for the same container.
 */
public interface Enforcer {
    EnforcementResult enforce(EnforcementRequest request);
}
