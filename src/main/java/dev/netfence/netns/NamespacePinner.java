package dev.netfence.netns;

import java.time.Instant;

/**
 * Finds a container's network namespace, refuses the ones netfence must never touch, and pins
 * the one it found. See {@link ProcNamespacePinner} for the real implementation.
 */
public interface NamespacePinner {

    /**
     * Pins the network namespace of {@code pid} (or, when null, of the container the runtime
     * reports for {@code containerId}). Failures are
     * {@link dev.netfence.core.EnforcementException}s: CONTAINER_NOT_FOUND,
     * HOST_NAMESPACE_REFUSED, NAMESPACE_MISMATCH, FIREWALL_UNAVAILABLE.
     */
    PinnedNamespace pin(Integer pid, String containerId, String runtime, Instant deadline);
}
